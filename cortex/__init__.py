"""The learning subsystem: one interface, several models, one registry.

Layout: ``base`` (the ``Cortex`` protocol, outputs, modulators), ``learning`` (the online
predictor and closed-loop learner every model shares), ``readout`` and ``heads`` (what they
train), ``encoding``, ``params``; the models: ``rate/`` (numpy: ``reservoir``, ``eprop``),
``spiking/`` (Brian2: ``lif``, ``izhikevich2007``), ``control`` (``linear``: features = input) and
``baselines/`` (``ngram``, ``lstm``: predictors measured beside the cortex).

``model_registry()`` maps the YAML names ``(cortex.backend, cortex.model)`` (``rate``,
``spiking``, ``control``, ``baseline``) to the model's params class and its implementation; every model,
Izhikevich 2007 included, is built by :func:`make_cortex` and then ``reset(seeds)``. Params
modules never import Brian2, so validating a spiking config does not pay for (or need) Brian2;
the implementation is imported only by :func:`make_cortex`.
"""
from __future__ import annotations

import importlib

from cortex.base import Cortex, CortexOutput, Exchange, Modulators, NumericalError, SequenceOutput

__all__ = ["Cortex", "CortexOutput", "Exchange", "Modulators", "NumericalError", "SequenceOutput",
           "model_registry", "make_cortex"]

# (backend, module holding a dict NAME -> (Params class, implementation or "module:attr"))
_REGISTRY_SOURCES = (
    ("rate", "cortex.rate", "RATE_MODELS"),
    ("spiking", "cortex.spiking.params", "SPIKING_MODELS"),
    ("spiking", "cortex.spiking.izhikevich_params", "IZHIKEVICH_MODELS"),
    ("control", "cortex.control", "CONTROL_MODELS"),
    ("baseline", "cortex.baselines.params", "BASELINE_MODELS"),
)


def model_registry() -> dict[tuple[str, str], tuple[type, object]]:
    """``{(backend, model): (ParamsClass, implementation)}`` for every model shipped."""
    registry = {}
    for backend, module_name, attr in _REGISTRY_SOURCES:
        module = importlib.import_module(module_name)
        for name, entry in getattr(module, attr).items():
            registry[(backend, name)] = entry
    return registry


def resolve(impl):
    """An implementation given as ``"module:attr"`` is imported only now (Brian2 stays lazy)."""
    if isinstance(impl, str):
        module_name, attr = impl.split(":")
        return getattr(importlib.import_module(module_name), attr)
    return impl


def make_cortex(params, n_inputs: int, n_replicas: int, sample_units: int,
                signals: tuple[str, ...] = (), n_actions: int = 0) -> Cortex:
    """Build the cortex that ``params`` (a validated params object) describes."""
    _, impl = model_registry()[(params.backend, params.model)]
    return resolve(impl)(params, n_inputs=n_inputs, n_replicas=n_replicas, sample_units=sample_units,
                         signals=signals, n_actions=n_actions)
