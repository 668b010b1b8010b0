"""Rate (numpy) cortex models, by YAML name: ``cortex: {backend: rate, model: reservoir | eprop}``.

``core`` holds the reservoir model (``RateCortex``), ``eprop`` its plastic subclass, ``reservoir``
the weight initialisers, ``params`` their parameters; learning is the shared ``cortex.learning``.
"""
from __future__ import annotations

from cortex.params import Params
from cortex.rate.core import RateCortex
from cortex.rate.eprop import EpropCortex
from cortex.rate.params import EpropParams, RateParams, ReservoirParams

#: model name -> (params class, cortex class)
RATE_MODELS: dict[str, tuple[type[Params], type]] = {
    "reservoir": (ReservoirParams, RateCortex),
    "eprop": (EpropParams, EpropCortex),
}

__all__ = ["RATE_MODELS", "RateCortex", "EpropCortex", "RateParams", "ReservoirParams", "EpropParams"]
