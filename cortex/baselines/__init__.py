"""Baselines measured on the same streams as the cortex: ``cortex: {backend: baseline, model: ngram | lstm}``.

They plug in where a cortex plugs in (``run_sequence`` on the same blocks of the same strings), so
every metric comes from the same scorer. ``params`` holds their parameters and the registry entry
(no numpy-heavy work, no torch); ``ngram`` the smoothed n-gram predictor; ``lstm`` the LSTM trained
by backpropagation through time (PyTorch, the optional ``[baselines]`` extra, imported only when
an LSTM is built). Open loop only: ``run`` raises NotImplementedError.
"""
from cortex.baselines.params import BASELINE_MODELS, LstmParams, NgramParams

__all__ = ["BASELINE_MODELS", "NgramParams", "LstmParams"]
