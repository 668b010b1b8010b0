"""Spike trains -> readout features (numpy only).

A readout sees, per replica and environment step, the spike count of every excitatory neuron in
that step (an exponential filter as short as the step) and, optionally, the same counts through
slower exponential filters, plus a constant 1 (bias). Open and closed loop build them the same way.
"""
from __future__ import annotations

import numpy as np


def bin_counts(i: np.ndarray, t_ms: np.ndarray, replica: np.ndarray, local: np.ndarray, K: int, T: int,
               n_exc: int, t0_ms: float, step_ms: float, dt_ms: float) -> np.ndarray:
    """Per-step spike counts of the excitatory neurons, (K, T, n_exc) float32.

    ``i``, ``t_ms``: global neuron index and time (ms) of each spike; ``replica``/``local`` map
    global indices to (replica, local index). Steps are [t0 + s*step, t0 + (s+1)*step).
    Counted one replica at a time: the integer counts of (T, n_exc) are the only temporary.
    """
    # times lie on the dt grid: count in whole time steps so rounding never moves a spike
    bins = int(round(step_ms / dt_ms))
    step = (np.rint((t_ms - t0_ms) / dt_ms).astype(np.int64)) // bins
    k, l = replica[i], local[i]
    keep = (l < n_exc) & (step >= 0) & (step < T)
    k, flat = k[keep], step[keep] * n_exc + l[keep]
    counts = np.empty((K, T, n_exc), np.float32)
    for r in range(K):
        counts[r] = np.bincount(flat[k == r], minlength=T * n_exc).reshape(T, n_exc)
    return counts


class FilterBank:
    """Exponential filters of per-step counts, one per time constant in ``taus_ms`` (per replica).

    Filter j: ``y[s] = d_j * y[s-1] + (1 - d_j) * c[s]`` with d_j = exp(-step_ms / tau_j), so a
    steady count c gives y = c. Steps where a replica is inactive leave its state unchanged.
    Several time constants let a linear readout weigh recent against older activity.
    """

    state_attrs = ("state",)  # saved state (cortex.base.capture_state)

    def __init__(self, K: int, n: int, taus_ms, step_ms: float):
        self.decay = np.exp(-step_ms / np.asarray(taus_ms, np.float32))[:, None, None]  # (J, 1, 1)
        self.state = np.zeros((len(self.decay), K, n), np.float32)

    def run(self, counts: np.ndarray, active: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Filter (K, T, n) counts; returns (K, T, J * n) (filter j in block j), advancing the state.
        Written into ``out`` (any float dtype, e.g. a slice of the feature array) when given."""
        K, T, n = counts.shape
        J = len(self.decay)
        if out is None:
            out = np.empty((K, T, J * n), np.float32)
        d, y = self.decay, self.state
        for s in range(T):
            y = np.where(active[None, :, s, None], d * y + (1.0 - d) * counts[None, :, s], y)
            out[:, s] = y.transpose(1, 0, 2).reshape(K, J * n)
        self.state = y
        return out


def features(counts: np.ndarray, filtered: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """Readout features (..., F): counts, the filtered counts if any, and a constant 1; written
    into ``out`` (any float dtype, shape (..., F)) when given, else into a new array."""
    n = counts.shape[-1]
    width = n + (filtered.shape[-1] if filtered is not None else 0) + 1
    if out is None:
        out = np.empty(counts.shape[:-1] + (width,), counts.dtype)
    out[..., :n] = counts
    if filtered is not None:
        out[..., n:-1] = filtered
    out[..., -1] = 1.0
    return out


def block_features(counts: np.ndarray, active: np.ndarray, bank: FilterBank | None, dtype) -> np.ndarray:
    """The readout features (K, T, F) of one block of (K, T, n) counts: the values of
    :func:`features` of the counts and ``bank.run(counts, active)``, in one new array of ``dtype``
    that the filters write into directly (no (K, T, J * n) array of their own)."""
    K, T, n = counts.shape
    width = n * (1 + (len(bank.decay) if bank is not None else 0)) + 1
    out = np.empty((K, T, width), dtype)
    if bank is not None:
        bank.run(counts, active, out=out[..., n:-1])
    out[..., :n] = counts
    out[..., -1] = 1.0
    return out
