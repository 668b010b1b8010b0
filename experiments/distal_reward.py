"""Distal-reward experiment (Izhikevich 2007): the world + subcortex side, and the session that
runs its phases (driven, phase after phase, by ``experiments.protocols.distal_reward``).

The cortex (a spiking network) reports, every 1 ms, when the two neurons of one tagged synapse
last fired. The innate rule here knows nothing else of the cortex: when the postsynaptic neuron
fires within ``window_ms`` after the presynaptic one, it schedules a reward after a random
delay of ``delay_min_s`` to ``delay_max_s`` and, when the reward falls due, releases ``reward``
units of dopamine. Brian2 is imported only when a phase runs (through the model registry).
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any, Callable, Sequence

import numpy as np

from cortex import make_cortex
from cortex.spiking.izhikevich_params import IzhikevichParams
from experiments.worlds.distal_reward import DistalRewardParams


class DistalRewardRule:
    """Innate reward rule: pre-then-post coincidence on one synapse -> delayed dopamine pulse.

    Called once per 1 ms step as ``rule(t_ms, pre_last_ms, post_last_ms)`` with (K,) arrays of the
    last spike times (ms); returns the dopamine released at ``t_ms``, (K,), or None when nothing is.
    Pure numpy: one generator per replica, so replica k's reward delays depend on its seed only.
    """

    def __init__(self, params: DistalRewardParams, seeds: Sequence[int]):
        self.params = params
        self.n_replicas = len(seeds)
        # spawn key (1,): the world's stream, apart from the cortex's (0,) streams of the same seed
        self._rngs = [np.random.default_rng(np.random.SeedSequence(s, spawn_key=(1,))) for s in seeds]
        self._seen_post = np.full(self.n_replicas, -np.inf)
        self._due: list[tuple[int, int]] = []  # heap of (due time in ms, replica)
        #: (replica, delivery time in ms) of every reward delivered so far
        self.delivered: list[tuple[int, int]] = []

    def __call__(self, t_ms: int, pre_last_ms: np.ndarray, post_last_ms: np.ndarray) -> np.ndarray | None:
        """Detect new coincidences, schedule their rewards, release the ones due now."""
        p = self.params
        fired = post_last_ms > self._seen_post
        if fired.any():
            self._seen_post = post_last_ms.copy()
            lag = post_last_ms - pre_last_ms
            # the paper's test: 0 < t_post - t_pre < window (a same-step pre spike does not count)
            for k in np.flatnonzero(fired & (lag > 0) & (lag < p.window_ms)):
                delay_ms = self._rngs[k].uniform(p.delay_min_s, p.delay_max_s) * 1000
                heapq.heappush(self._due, (int(post_last_ms[k] + round(delay_ms)), int(k)))
        if not self._due or self._due[0][0] > t_ms:
            return None
        release = np.zeros(self.n_replicas)
        while self._due and self._due[0][0] <= t_ms:
            _, k = heapq.heappop(self._due)
            release[k] += p.reward
            self.delivered.append((k, t_ms))
        return release

    def n_rewards(self) -> np.ndarray:
        """Rewards delivered so far per replica, (K,)."""
        return np.bincount([k for k, _ in self.delivered], minlength=self.n_replicas)


def _as_world_params(world: Any) -> DistalRewardParams:
    """Accept DistalRewardParams or a world mapping/model that still carries ``kind``/``variants``."""
    if isinstance(world, DistalRewardParams):
        return world
    raw = dict(world) if isinstance(world, Mapping) else world.model_dump()
    return DistalRewardParams.model_validate({k: v for k, v in raw.items() if k not in ("kind", "variants")})


class DistalRewardSession:
    """One experiment run: the network and the reward rule persist from phase to phase."""

    def __init__(self, cortex_params: IzhikevichParams, world_params: Any, seeds: Sequence[int],
                 sample_units: int = 100):
        self.cortex_params = cortex_params
        self.seeds = list(seeds)
        self.sample_units = sample_units
        self.rule = DistalRewardRule(_as_world_params(world_params), self.seeds)
        self.network = None  # built by the first phase, so that Brian2 is imported only then

    def run_phase(self, phase: Any, recorder: Any, progress: Callable[[float, float], None] | None = None,
                  world_params: Any = None) -> dict[str, np.ndarray]:
        """Run ``phase`` (``.name``, ``.duration_s``, ``.plastic``), record it, return its metrics (K,).

        ``world_params`` (optional) replaces the reward rule's parameters from this phase on, e.g.
        a world variant with ``reward: 0`` for extinction; rewards already scheduled still arrive.
        """
        if world_params is not None:
            self.rule.params = _as_world_params(world_params)
        if self.network is None:  # built like every cortex; imports Brian2 only now
            self.network = make_cortex(self.cortex_params, n_inputs=0, n_replicas=len(self.seeds),
                                       sample_units=self.sample_units)
            self.network.reset(self.seeds)
        n_before = len(self.rule.delivered)
        trace = self.network.run_phase(phase.duration_s, phase.plastic, self.rule, progress=progress)
        rewards = np.array(self.rule.delivered[n_before:], dtype=float).reshape(-1, 2)
        _record(recorder, phase.name, trace, rewards, self.network)
        return _metrics(trace, rewards, self.cortex_params, self.network.n_replicas)


def _record(recorder: Any, name: str, trace: Any, rewards: np.ndarray, network: Any) -> None:
    """Write the phase's traces: dense (K, T) arrays and 1-D event arrays (units, descriptions and
    sampling intervals: experiments/traces.py)."""
    recorder.append(name, "dopamine", trace.dopamine)
    recorder.append(name, "eligibility/rewarded", trace.rewarded_elig)
    recorder.append(name, "rewarded_weight", trace.rewarded_weight)
    recorder.append(name, "other_weights_median", trace.others_median)
    recorder.append(name, "other_weights_p90", trace.others_p90)
    recorder.append_events(name, "spikes_index", trace.spikes_i)
    recorder.append_events(name, "spikes_time_ms", trace.spikes_t_ms)
    recorder.append_events(name, "spikes_replica", trace.spikes_replica)
    recorder.append_events(name, "reward_times_s", rewards[:, 1] / 1000)
    recorder.append_events(name, "reward_replica", rewards[:, 0].astype(np.int32))
    recorder.attrs(name, w_max=network.params.w_max, tagged_pre=network.tagged_pre, tagged_post=network.tagged_post,
                   sample_units=network.sample_units, codegen_target=network.target)


def _metrics(trace: Any, rewards: np.ndarray, params: IzhikevichParams, k_rep: int) -> dict[str, np.ndarray]:
    """Per-replica metrics of one phase; weights as fractions of ``w_max``, times from the phase start."""
    w_max = params.w_max
    frac = trace.rewarded_weight / w_max
    t_rel = trace.weights_t_s - trace.start_s
    reached = frac >= 0.9
    ever = reached.any(axis=1)
    first = np.argmax(reached, axis=1)
    # after first reaching 90%, DA keeps moving the weight: how much of the rest it stays up
    held = np.array([reached[k, first[k]:].mean() if ever[k] else np.nan for k in range(k_rep)])
    return {
        "rewarded_weight_final_frac": frac[:, -1],
        "others_median_final_frac": trace.others_median[:, -1] / w_max,
        "others_p90_final_frac": trace.others_p90[:, -1] / w_max,
        "time_to_90pct_s": np.where(ever, t_rel[first], np.nan),
        "time_at_90pct_frac": held,
        "n_rewards": np.bincount(rewards[:, 0].astype(int), minlength=k_rep).astype(float),
        "mean_rate_hz": trace.n_spikes / (params.n_units * trace.duration_s),
    }

