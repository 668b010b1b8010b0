"""Reading traces and state back from a built spiking network (numpy only; Brian2 objects in).

Spike monitors become per-step counts and the sampled neurons' events, the membrane-potential
probe becomes (K, T, n_v) rows, the E->E synapses' lazily decayed eligibility a per-replica
mean, and the neuron and weight state is checked for NaN/Inf. ``TRACE_INFO`` names the units
and meaning of every trace the spiking cortex hands out (open loop in ``SequenceOutput.extra``,
closed loop through ``traces()``).
"""
from __future__ import annotations

import numpy as np

#: units and description of every trace of the spiking cortex
TRACE_INFO = {
    "rate_hz": ("Hz", "excitatory population rate per step"),
    "v_mv": ("mV", "membrane potential of the probed neurons (local index 0..n_v-1) at each step's start"),
    "spikes_replica": ("1", "replica of each spike of the sampled neurons"),
    "spikes_index": ("1", "replica-local index of the spiking neuron (< sample_units)"),
    "spikes_time_ms": ("ms", "spike time, network time since reset"),
    "eligibility/mean": ("1", "mean eligibility of the replica's E->E synapses at the end of the step "
                              "(the reward-modulated STDP trace that dopamine turns into weight change)"),
}

_STATE = ("v", "I_slow", "adapt", "theta", "rate_est")


def clear_events(monitor) -> None:
    """Forget the spikes a SpikeMonitor holds (Brian2 has no public call for it)."""
    monitor.resize(0)
    monitor.variables["N"].get_value()[...] = 0


def take_spikes(monitor) -> tuple[np.ndarray, np.ndarray]:
    """(global index int64, time ms) of every spike the monitor holds; empties it."""
    i, t_ms = np.asarray(monitor.i[:], np.int64), np.asarray(monitor.t_[:]) * 1e3
    clear_events(monitor)
    return i, t_ms


def sampled_events(i: np.ndarray, t_ms: np.ndarray, layout, n_sample: int) -> dict[str, np.ndarray]:
    """The spikes of each replica's first ``n_sample`` excitatory neurons as event arrays."""
    sampled = layout.local[i] < n_sample
    return {"spikes_replica": layout.replica[i[sampled]].astype(np.int16),
            "spikes_index": layout.local[i[sampled]].astype(np.int32),
            "spikes_time_ms": t_ms[sampled].astype(np.float64)}


def take_v(monitor, T: int, K: int) -> np.ndarray | None:
    """(K, T, n_v) membrane potential (mV) of the last T step starts; empties the monitor."""
    if monitor is None:
        return None
    v = np.asarray(monitor.v_[:]).T * 1e3  # (samples, K * n_v)
    monitor.resize(0)
    v = v[-T:] if len(v) >= T else np.pad(v, ((T - len(v), 0), (0, 0)), constant_values=np.nan)
    return v.reshape(T, K, -1).transpose(1, 0, 2).astype(np.float32)


def pop_rate_hz(counts: np.ndarray, n_exc: int, step_ms: float) -> np.ndarray:
    """Excitatory population rate per step (Hz) from (..., n_exc) per-step counts."""
    return (counts.sum(-1) / (n_exc * step_ms * 1e-3)).astype(np.float32)


def nonfinite_state(b) -> tuple[list[str], tuple[int, ...]]:
    """(names of the built network's neuron and weight variables holding a NaN or Inf, the
    replicas they do so in); ([], ()) when everything is finite."""
    names, replicas = [], set()
    for name in _STATE:
        bad = ~np.isfinite(b.cx.variables[name].get_value())
        if bad.any():
            names.append(f"cx.{name}")
            replicas.update(b.layout.replica[bad].tolist())
    bad = ~np.isfinite(b.syn_ee.variables["w"].get_value())
    if bad.any():
        names.append("syn_ee.w")
        replicas.update(b.layout.replica[np.asarray(b.syn_ee.i[:])[bad]].tolist())
    return names, tuple(sorted(replicas))


class EligibilityMean:
    """Mean eligibility of each replica's E->E synapses, decayed to a given time: one pass over
    the synapses' raw arrays per call (~30 us per step for 32,000 synapses), no per-dt cost.
    The eligibility decays lazily (``t_elig``: when each synapse's value was last brought up to
    date), so the mean applies each synapse's own decay since then."""

    def __init__(self, built, K: int):
        var = built.syn_ee.variables
        self.elig, self.t_elig = var["elig"].get_value(), var["t_elig"].get_value()
        self.tau = float(var["tau_elig"].get_value().item())
        self.replica = built.layout.replica[np.asarray(var["_synaptic_pre"].get_value(), np.int64)]
        counts = np.bincount(self.replica, minlength=K)
        self.count, self.K = np.maximum(counts, 1), K
        # build() connects replica after replica: contiguous, non-empty blocks sum with one reduceat
        contiguous = np.all(np.diff(self.replica) >= 0) and np.all(counts > 0)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if contiguous else None

    def mean(self, t_s: float) -> np.ndarray:
        """(K,) mean eligibility at network time ``t_s`` (s); 0 for a replica without synapses."""
        e = self.elig * np.exp((self.t_elig - t_s) / self.tau)
        total = np.add.reduceat(e, self.starts) if self.starts is not None else np.bincount(self.replica, e, self.K)
        return total / self.count
