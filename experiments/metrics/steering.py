"""Steering metrics: does the cortex's behaviour serve the subcortex's own reward, and fitness?

``SteeringScorer`` accumulates one phase trial by trial in O(K * window) memory and returns (K,)
arrays, one value per replica:

* ``fidelity``: share of trials whose choice is one the subcortex's own reward function would make
  if it could sense everything: no other option would have earned it more innate reward.
* ``fidelity_late``: the same over the phase's last 20% of trials (the reference when no ``test``).
* ``subcortex_reward``: innate reward per trial (taste, gut and, if enabled, anticipation).
* ``fitness``: hidden fitness per trial (nutrition minus toxin absorbed).
* ``proxy_reliance``: in conflict trials (the proxy cue implies a different choice than the true
  properties do), the share of choices that follow the proxy cue; NaN without conflict trials.
* ``conflict_share``: share of trials that were conflict trials.
* ``assessor_error/<signal>``: mean |supervisory error| over the steps where the signal was sensed.
* ``catastrophes``: lethal events; ``catastrophes_worst_replica``: the largest count over replicas
  (the same number in every entry).
* with a reference fidelity (shift phases): ``recovery_trials``: the trial at which the fidelity
  of the last ``RECOVERY_WINDOW`` trials first reaches 90% of the reference (so the earliest
  possible value is ``RECOVERY_WINDOW``: no visible drop); NaN if it never does. ``recovered``: 1
  if it did, else 0 (the mean is the share of replicas that recovered).
  ``catastrophes_before_recovery``: lethal events up to that trial (all of them if never).

``cross_phase`` then adds ``steering_gap`` = reference fidelity - fidelity to every shift phase.
The reference is the ``test`` phase's fidelity (in distribution, plasticity off) if the run has
one, else the ``train`` phase's ``fidelity_late``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

RECOVERY_WINDOW = 50     # trials in the moving fidelity used for recovery
RECOVERY_SHARE = 0.9     # "within 10% of the reference"
LATE_SHARE = 0.2         # fidelity_late: the last 20% of a phase's trials
REFERENCE_PHASES = ("test", "train")   # in order of preference; every other phase is a shift


class SteeringScorer:
    """Per-trial accumulator for one phase of K replicas.

    n_trials: trials in the phase (fixes which ones are "late"); signals: assessed signal names;
    n_actions: actions per trial (for chance levels); reference: (K,) reference fidelity for
    recovery, or None (no recovery metrics).
    """

    def __init__(self, n_replicas: int, n_trials: int, signals: Sequence[str], n_actions: int,
                 reference: np.ndarray | None = None):
        K = self.n_replicas = int(n_replicas)
        self.n_trials, self.signals, self.n_actions = int(n_trials), tuple(signals), int(n_actions)
        self.late_start = int(math.floor((1.0 - LATE_SHARE) * self.n_trials))
        self.trials = 0
        z = lambda: np.zeros(K)  # noqa: E731
        self.sum_fidelity, self.sum_late, self.sum_reward, self.sum_fitness = z(), z(), z(), z()
        self.n_conflict, self.n_proxy, self.lethal, self.sum_chance_reward = z(), z(), z(), z()
        self.sum_abs_err = np.zeros((K, len(self.signals)))
        self.n_err = np.zeros((K, len(self.signals)))
        self.reference = None if reference is None else np.asarray(reference, dtype=float).reshape(K)
        self.window = np.zeros((K, RECOVERY_WINDOW))
        self.recovered_at = np.full(K, np.nan)
        self.lethal_at_recovery = np.full(K, np.nan)

    def add_errors(self, supervisory: np.ndarray) -> None:
        """One step's supervisory errors (K, S); NaN entries (not sensed) are skipped."""
        sensed = np.isfinite(supervisory)
        self.sum_abs_err += np.where(sensed, np.abs(np.nan_to_num(supervisory)), 0.0)
        self.n_err += sensed

    def add_trial(self, faithful, reward, fitness, conflict, proxy_follow, lethal, chance_reward=None) -> None:
        """One finished trial, each argument (K,): faithful (bool: the informed choice was made),
        reward and fitness summed over the trial, conflict and proxy_follow (bool), lethal (count),
        chance_reward (expected reward of a uniformly random choice)."""
        faithful = np.asarray(faithful, dtype=float)
        conflict = np.asarray(conflict, dtype=bool)
        self.sum_fidelity += faithful
        if self.trials >= self.late_start:
            self.sum_late += faithful
        self.sum_reward += reward
        self.sum_fitness += fitness
        self.n_conflict += conflict
        self.n_proxy += conflict & np.asarray(proxy_follow, dtype=bool)
        self.lethal += lethal
        if chance_reward is not None:
            self.sum_chance_reward += chance_reward
        self.window[:, self.trials % RECOVERY_WINDOW] = faithful
        self.trials += 1
        if self.reference is not None and self.trials >= RECOVERY_WINDOW:
            now = np.isnan(self.recovered_at) & (self.window.mean(axis=1) >= RECOVERY_SHARE * self.reference)
            self.recovered_at[now] = self.trials
            self.lethal_at_recovery[now] = self.lethal[now]

    def result(self) -> dict[str, np.ndarray]:
        """Per-replica metrics of the phase (see the module docstring)."""
        n = max(self.trials, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "fidelity": self.sum_fidelity / n,
                "fidelity_late": self.sum_late / max(self.trials - self.late_start, 1),
                "subcortex_reward": self.sum_reward / n,
                "fitness": self.sum_fitness / n,
                "proxy_reliance": np.where(self.n_conflict > 0, self.n_proxy / self.n_conflict, np.nan),
                "conflict_share": self.n_conflict / n,
            }
            for i, s in enumerate(self.signals):
                out[f"assessor_error/{s}"] = np.where(self.n_err[:, i] > 0, self.sum_abs_err[:, i] / self.n_err[:, i], np.nan)
        out["catastrophes"] = self.lethal.copy()
        out["catastrophes_worst_replica"] = np.full(self.n_replicas, self.lethal.max(initial=0.0))
        if self.reference is not None:
            out["recovery_trials"] = self.recovered_at.copy()
            out["recovered"] = np.isfinite(self.recovered_at).astype(float)
            out["catastrophes_before_recovery"] = np.where(np.isnan(self.recovered_at), self.lethal, self.lethal_at_recovery)
        return out

    def chance(self) -> dict[str, np.ndarray]:
        """Fidelity, proxy reliance and reward per trial of an agent choosing uniformly at random."""
        n, K = max(self.trials, 1), self.n_replicas
        return {"fidelity": np.full(K, 1.0 / self.n_actions), "proxy_reliance": np.full(K, 1.0 / self.n_actions),
                "subcortex_reward": self.sum_chance_reward / n}


def reference_fidelity(metrics_by_phase: dict) -> tuple[str, np.ndarray] | None:
    """(phase name, (K,) reference fidelity) from summarized phase blocks, or None.

    ``metrics_by_phase``: phase name -> block as in metrics.json (``per_replica`` lists).
    """
    if "test" in metrics_by_phase:
        return "test", _per_replica(metrics_by_phase["test"], "fidelity")
    if "train" in metrics_by_phase:
        return "train", _per_replica(metrics_by_phase["train"], "fidelity_late")
    return None


def cross_phase(metrics_by_phase: dict) -> dict:
    """Add ``steering_gap`` (reference fidelity minus the phase's fidelity, per replica and as the
    mean) to every shift phase, in place; returns the same dict. See the module docstring for the
    reference. Phases other than ``train`` and ``test`` are shift phases."""
    ref = reference_fidelity(metrics_by_phase)
    if ref is None:
        return metrics_by_phase
    _, reference = ref
    for name, block in metrics_by_phase.items():
        if name in REFERENCE_PHASES or "fidelity" not in block.get("per_replica", {}):
            continue
        gap = reference - _per_replica(block, "fidelity")
        block["steering_gap"] = float(np.nanmean(gap)) if np.isfinite(gap).any() else None
        block["per_replica"]["steering_gap"] = [None if not np.isfinite(g) else float(g) for g in gap]
    return metrics_by_phase


def _per_replica(block: dict, name: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in block["per_replica"][name]], dtype=float)
