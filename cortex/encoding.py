"""Observation -> cortex input vector, shared by every model.

Open-loop tasks feed integer symbols (``one_hot``). Closed-loop worlds give a dict of categorical
features per replica; ``FeatureEncoder`` turns it into one concatenated, scaled one-hot vector. The
spiking backend turns the same vector into input rates, so every model sees the same code.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np


def one_hot(symbols: np.ndarray, n: int, dtype=np.float64) -> np.ndarray:
    """One-hot code of integer symbols.

    symbols: int array of any shape (..., ), values in [0, n); n: alphabet size.
    Returns an array of shape (..., n) with a single 1 per row (dimensionless).
    """
    symbols = np.asarray(symbols)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= n):
        raise ValueError(f"symbols must lie in [0, {n}), got range [{symbols.min()}, {symbols.max()}]")
    out = np.zeros(symbols.shape + (n,), dtype=dtype)
    np.put_along_axis(out, symbols[..., None].astype(np.intp), 1, axis=-1)
    return out


class FeatureEncoder:
    """Concatenated, scaled one-hot code of several categorical features.

    feature_sizes: number of categories of each feature, in the order they appear in the vector.
    gains: optional input gain per feature (default 1.0): the value of the active element.

    Category -1 means "nothing observed": that feature's block is all zeros.
    """

    def __init__(self, feature_sizes: Mapping[str, int], gains: Mapping[str, float] | None = None):
        gains = dict(gains or {})
        unknown = set(gains) - set(feature_sizes)
        if unknown:
            raise ValueError(f"gains given for unknown features: {sorted(unknown)}")
        self.slices: dict[str, slice] = {}
        start = 0
        for name, size in feature_sizes.items():
            if size < 1:
                raise ValueError(f"feature {name!r} needs at least one category, got {size}")
            self.slices[name] = slice(start, start + size)
            start += size
        self.gains = {name: float(gains.get(name, 1.0)) for name in feature_sizes}
        self.n_inputs = start

    def __call__(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """Encode one step: dict of (K,) int categories -> (K, n_inputs) float input vector."""
        missing = set(self.slices) - set(observation)
        if missing:
            raise KeyError(f"observation lacks features {sorted(missing)}")
        k = len(np.atleast_1d(next(iter(observation.values()))))
        out = np.zeros((k, self.n_inputs))
        rows = np.arange(k)
        for name, sl in self.slices.items():
            cat = np.atleast_1d(np.asarray(observation[name], dtype=np.intp))
            size = sl.stop - sl.start
            if cat.max(initial=-1) >= size or cat.min(initial=0) < -1:
                raise ValueError(f"feature {name!r}: categories must lie in [-1, {size})")
            seen = cat >= 0
            out[rows[seen], sl.start + cat[seen]] = self.gains[name]
        return out
