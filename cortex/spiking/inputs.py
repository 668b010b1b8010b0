"""Open-loop input spike trains, drawn in numpy ahead of the run (no Brian2 import).

The input is known ahead in open loop, so every input spike of a ``run_sequence`` call is drawn
here from each replica's own generator and handed to one SpikeGeneratorGroup. That keeps the
Brian2 code independent of the sequence length (a TimedArray's generated code hard-codes its
number of rows, so each new length would recompile) and makes runs reproducible from the seed.

Input neuron ``(k, s, j)`` (replica k, symbol s, neuron j of that symbol's population) has
global index ``(k * n_inputs + s) * n_per + j``.
"""
from __future__ import annotations

import numpy as np


def rates_hz(inputs: np.ndarray, active: np.ndarray, n_inputs: int, rate_on: float, rate_bg: float) -> np.ndarray:
    """Per-step firing rate of every input population, (K, T, n_inputs) Hz; 0 on padding steps.

    ``inputs`` (K, T) int symbol ids; ``active`` (K, T) bool.
    """
    onehot = np.eye(n_inputs)[inputs]
    return np.where(active[..., None], rate_bg + rate_on * onehot, 0.0)


def draw_spikes(rngs, rates: np.ndarray, n_per: int, step_ms: float, dt_ms: float, t0_ms: float,
                noise: str, phases: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Input spikes for ``rates`` (K, T, n_inputs) Hz, each population ``n_per`` neurons.

    Returns (indices, times_ms), sorted by time, times on the dt grid from ``t0_ms`` on; at most
    one spike per neuron and time step (Brian2 requires it). ``noise`` 'poisson' draws
    independent time steps; 'regular' advances each neuron's phase (``phases`` (K, n_inputs*n_per),
    updated in place) by rate x time and fires when it crosses an integer; 'locked' does the same
    but restarts every neuron's phase at each step onset.
    """
    K, T, n_in = rates.shape
    bins = int(round(step_ms / dt_ms))
    per_neuron = np.repeat(rates, n_per, axis=2)  # (K, T, n_in * n_per) Hz
    all_idx, all_bin = [], []
    for k in range(K):
        if noise == "poisson":
            step, neuron, b = _poisson_bins(rngs[k], per_neuron[k] * dt_ms * 1e-3, bins)
        else:
            step, neuron, b = _regular_bins(per_neuron[k] * 1e-3, phases[k], step_ms, dt_ms, bins,
                                            carry=noise == "regular")
        all_idx.append(neuron + k * n_in * n_per)
        all_bin.append(step * bins + b)
    idx, tbin = np.concatenate(all_idx), np.concatenate(all_bin)
    order = np.lexsort((idx, tbin))  # by time, then index: Brian2 can skip its own sort
    return idx[order].astype(np.int64), t0_ms + tbin[order] * dt_ms


def _poisson_bins(rng: np.random.Generator, p_bin: np.ndarray, bins: int):
    """Bernoulli(p_bin) in each of ``bins`` time steps of every (step, neuron) cell; returns the
    (step, neuron, bin) of each spike. Counts first, then distinct bins for cells with spikes."""
    counts = rng.binomial(bins, np.clip(p_bin, 0.0, 1.0))
    step, neuron = np.nonzero(counts)
    c = counts[step, neuron]
    # distinct bins: the c smallest of fresh random keys per cell
    keys = rng.random((len(c), bins))
    chosen = np.argsort(keys, axis=1)
    take = np.arange(bins)[None, :] < c[:, None]
    rows = np.repeat(np.arange(len(c)), c)
    return step[rows], neuron[rows], chosen[take]


def _regular_bins(rate_per_ms: np.ndarray, phase: np.ndarray, step_ms: float, dt_ms: float, bins: int,
                  carry: bool):
    """Regular spike trains: (step, neuron, bin) of each spike. With ``carry`` the phase runs on
    across steps (``phase`` updated in place); without, every step restarts from ``phase``, so a
    symbol evokes the same input spikes each time it is shown (stimulus-locked)."""
    steps, neurons, bin_ids = [], [], []
    if not carry:
        phase = phase.copy()  # the caller's phases stay the fixed per-neuron offsets
    start = phase.copy()
    for t, r in enumerate(rate_per_ms):
        if not carry:
            phase[:] = start
        reach = phase + r * step_ms
        n_spk = np.floor(reach).astype(np.int64)
        if n_spk.any():
            nz = np.flatnonzero(n_spk)
            rows = np.repeat(nz, n_spk[nz])
            nth = np.arange(len(rows)) - np.repeat(np.cumsum(n_spk[nz]) - n_spk[nz], n_spk[nz])
            when = (1.0 - phase[rows] + nth) / r[rows]
            steps.append(np.full(len(rows), t))
            neurons.append(rows)
            bin_ids.append(np.minimum((when / dt_ms).astype(np.int64), bins - 1))
        phase[:] = reach - n_spk
    if not steps:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    return np.concatenate(steps), np.concatenate(neurons), np.concatenate(bin_ids)


def gate_spikes(active: np.ndarray, step_ms: float, t0_ms: float, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of the gate generator that freeze (padding) and resume each replica.

    Gate neuron ``k`` sets replica k running, ``K + k`` freezes it. The caller sets each replica's
    state for the first step (``active[:, 0]``; see ``SpikingCortex._set_gate``); a change at a
    later step t fires in the last time step of step t - 1: the gate acts in the synapse slot,
    after that time step's state update and threshold, so step t starts frozen (or running) from
    its first time step, exactly as an unpadded replica would run. Returns (indices, times_ms).
    """
    K, T = active.shape
    k, t = np.nonzero(active[:, 1:] != active[:, :-1])
    t = t + 1
    idx = np.where(active[k, t], k, K + k)
    order = np.argsort(t, kind="stable")
    return idx[order].astype(np.int64), t0_ms + t[order] * step_ms - dt_ms


def block_spikes(p, rngs, phases: np.ndarray, inputs: np.ndarray, active: np.ndarray, n_inputs: int,
                 t0_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Input spikes (indices, times_ms) of one open-loop block of (K, T) symbols starting at
    ``t0_ms``, under the spiking params ``p``; runtime and standalone paths draw them alike."""
    rates = rates_hz(np.clip(inputs, 0, n_inputs - 1), active, n_inputs, p.input_rate_hz, p.background_rate_hz)
    return draw_spikes(rngs, rates, p.n_input_per_symbol, p.step_ms, p.dt_ms, t0_ms, p.input_noise, phases)
