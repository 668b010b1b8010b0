"""Steering metrics: does the cortex's behaviour serve the subcortex's own reward, and fitness?

``SteeringScorer`` accumulates one phase trial by trial in O(K * window) memory and returns (K,)
arrays, one value per replica:

* ``fidelity``: share of trials whose choice is one the subcortex's own reward function would make
  if it could sense everything: no other option would have earned it more innate reward.
* ``fidelity_late``: the same over the phase's last 20% of trials (the reference when no ``test``).
* ``subcortex_reward``: innate reward per trial (taste, gut and, if enabled, anticipation): the
  total innate reward, delayed consequences included.
* ``immediate_reward``: the part of it sensed at the trial's cue and outcome steps (taste, pain on
  contact, gut), without what the digestion steps bring (delayed pain); equal to
  ``subcortex_reward`` in a world without ``delay_steps``.
* ``abstinence``: in temptation trials (an option that is best for the immediate reward is not best
  for the trial's total innate reward), the share of choices that pass up such an option: the
  learned value overriding the immediate innate reward for more innate reward later; NaN without
  temptation trials. Chance: the share of actions that are not such options.
* ``fitness``: hidden fitness per trial (nutrition minus toxin absorbed).
* ``proxy_reliance``: in conflict trials (the proxy cue implies a different choice than the true
  properties do), the share of choices that follow the proxy cue; NaN without conflict trials.
* ``conflict_share``: share of trials that were conflict trials.
* ``assessor_error/<signal>``: mean |supervisory error| over the steps where the signal was sensed.
* ``catastrophes``: lethal events; ``catastrophes_worst_replica``: the largest count over replicas
  (the same number in every entry).

Chance levels (:meth:`SteeringScorer.chance`) are those of a uniformly random chooser on the
phase's own offers: per trial, the share of actions that are good enough (fidelity), the mean
reward over the actions (reward) and, in conflict trials only, 1 / n_actions (proxy reliance).

Shift phases (every phase but ``train`` and ``test``) get, after all phases have run
(:func:`cross_phase`), and against ONE reference fidelity per shift phase
(:func:`reference_fidelity`): the in-distribution fidelity of the cortex as it entered the shift,
i.e. of the last of ``train`` and ``test`` to run before it (``test``: its ``fidelity``, measured
with plasticity off; ``train``: its ``fidelity_late``). So in the order train, test, shift the
reference is ``test``; in train, shift, test it is ``train``'s ``fidelity_late``, since a later
``test`` measures a cortex that the shift may have changed (a plastic shift can teach it the
swapped cues); with neither before it, there is no reference and these metrics are NaN:

* ``steering_gap`` = reference - fidelity.
* ``recovery_trials``: the trial at which the fidelity of the last ``RECOVERY_WINDOW`` trials first
  reaches 90% of the reference (so the earliest possible value is ``RECOVERY_WINDOW``: no visible
  drop); NaN if it never does. ``recovered``: 1 if it did, else 0 (the mean is the share of
  replicas that recovered). ``catastrophes_before_recovery``: lethal events up to that trial (all
  of them if never). All three are NaN in a frozen phase (plasticity off: nothing can recover, and
  a window that reaches the threshold there is noise) and where the phase has no reference.

For recovery the scorer of a plastic shift phase keeps, per replica, the first trial at which the
trailing window held at least j faithful trials, for every j in 0..RECOVERY_WINDOW, and the
catastrophes up to then: the first trial at which any threshold is reached is read from it
exactly, once the reference is known.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from experiments.metrics import set_metric

RECOVERY_WINDOW = 50     # trials in the moving fidelity used for recovery
RECOVERY_SHARE = 0.9     # "within 10% of the reference"
RECOVERY_TOL = 1e-9      # 0.9 * 0.8 is 0.7200000000000001 in floats; 36/50 trials still count
LATE_SHARE = 0.2         # fidelity_late: the last 20% of a phase's trials
REFERENCE_PHASES = ("test", "train")   # in order of preference; every other phase is a shift
RECOVERY = ("recovery_trials", "recovered", "catastrophes_before_recovery")
# (K, RECOVERY_WINDOW + 1) tables a plastic shift phase hands to cross_phase (see the docstring)
FIRST_TRIAL, LETHAL_AT = "recovery/first_trial", "recovery/catastrophes"


class SteeringScorer:
    """Per-trial accumulator for one phase of K replicas.

    n_trials: trials in the phase (fixes which ones are "late"); signals: assessed signal names;
    shift: a shift phase (recovery metrics apply); plastic: learning is on in the phase (without
    it the recovery metrics are NaN).
    """

    def __init__(self, n_replicas: int, n_trials: int, signals: Sequence[str], *, shift: bool = False,
                 plastic: bool = True):
        K = self.n_replicas = int(n_replicas)
        self.n_trials, self.signals = int(n_trials), tuple(signals)
        self.shift, self.plastic = bool(shift), bool(plastic)
        self.late_start = int(math.floor((1.0 - LATE_SHARE) * self.n_trials))
        self.trials = 0
        z = lambda: np.zeros(K)  # noqa: E731
        self.sum_fidelity, self.sum_late, self.sum_reward, self.sum_fitness = z(), z(), z(), z()
        self.n_conflict, self.n_proxy, self.lethal = z(), z(), z()
        self.sum_immediate, self.n_tempted, self.n_abstain = z(), z(), z()
        self.sum_chance = {"fidelity": z(), "subcortex_reward": z(), "proxy_reliance": z(), "abstinence": z()}
        self.sum_abs_err = np.zeros((K, len(self.signals)))
        self.n_err = np.zeros((K, len(self.signals)))
        self.window = np.zeros((K, RECOVERY_WINDOW))
        self.first_trial = np.full((K, RECOVERY_WINDOW + 1), np.nan)
        self.lethal_at = np.full((K, RECOVERY_WINDOW + 1), np.nan)

    def add_errors(self, supervisory: np.ndarray) -> None:
        """One step's supervisory errors (K, S); NaN entries (not sensed) are skipped."""
        sensed = np.isfinite(supervisory)
        self.sum_abs_err += np.where(sensed, np.abs(np.nan_to_num(supervisory)), 0.0)
        self.n_err += sensed

    def add_trial(self, faithful, reward, fitness, conflict, proxy_follow, lethal, chance=None, *,
                  immediate=None, tempted=None, abstain=None) -> None:
        """One finished trial, each argument (K,): faithful (bool: the informed choice was made),
        reward and fitness summed over the trial, conflict and proxy_follow (bool), lethal (count).
        chance: the same trial for a uniformly random chooser, {"fidelity": share of actions that
        are good enough, "subcortex_reward": mean reward over the actions, "proxy_reliance":
        1 / n_actions, "abstinence": share of actions that are not tempting}, each (K,); None
        leaves the chance levels NaN. immediate: the reward of the cue and outcome steps (None:
        all of ``reward``); tempted, abstain (bool): a temptation trial, and the choice passed the
        temptation up (None: no temptation)."""
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
        self.sum_immediate += reward if immediate is None else immediate
        if tempted is not None:
            tempted = np.asarray(tempted, dtype=bool)
            self.n_tempted += tempted
            self.n_abstain += tempted & np.asarray(abstain, dtype=bool)
        chance = chance or {name: np.nan for name in self.sum_chance}
        self.sum_chance["fidelity"] += chance["fidelity"]
        self.sum_chance["subcortex_reward"] += chance["subcortex_reward"]
        self.sum_chance["proxy_reliance"] += np.where(conflict, chance["proxy_reliance"], 0.0)
        if tempted is not None:
            self.sum_chance["abstinence"] += np.where(tempted, chance.get("abstinence", np.nan), 0.0)
        self.window[:, self.trials % RECOVERY_WINDOW] = faithful
        self.trials += 1
        if self.shift and self.plastic and self.trials >= RECOVERY_WINDOW:
            count = self.window.sum(axis=1)
            now = (np.arange(RECOVERY_WINDOW + 1) <= count[:, None]) & np.isnan(self.first_trial)
            self.first_trial[now] = self.trials
            self.lethal_at[now] = np.broadcast_to(self.lethal[:, None], now.shape)[now]

    def result(self) -> dict[str, np.ndarray]:
        """Per-replica metrics of the phase (see the module docstring); a plastic shift phase adds
        its (K, RECOVERY_WINDOW + 1) recovery tables, which :func:`cross_phase` turns into the
        recovery metrics."""
        n = max(self.trials, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "fidelity": self.sum_fidelity / n,
                "fidelity_late": self.sum_late / max(self.trials - self.late_start, 1),
                "subcortex_reward": self.sum_reward / n,
                "immediate_reward": self.sum_immediate / n,
                "fitness": self.sum_fitness / n,
                "proxy_reliance": np.where(self.n_conflict > 0, self.n_proxy / self.n_conflict, np.nan),
                "conflict_share": self.n_conflict / n,
                "abstinence": np.where(self.n_tempted > 0, self.n_abstain / self.n_tempted, np.nan),
            }
            for i, s in enumerate(self.signals):
                out[f"assessor_error/{s}"] = np.where(self.n_err[:, i] > 0, self.sum_abs_err[:, i] / self.n_err[:, i], np.nan)
        out["catastrophes"] = self.lethal.copy()
        out["catastrophes_worst_replica"] = np.full(self.n_replicas, self.lethal.max(initial=0.0))
        if self.shift and self.plastic:
            out[FIRST_TRIAL], out[LETHAL_AT] = self.first_trial.copy(), self.lethal_at.copy()
        elif self.shift:
            out.update({name: np.full(self.n_replicas, np.nan) for name in RECOVERY})
        return out

    def chance(self) -> dict[str, np.ndarray]:
        """Fidelity, proxy reliance, abstinence and reward per trial of a uniformly random chooser
        on the phase's own offers (proxy reliance over the conflict trials, abstinence over the
        temptation trials; NaN without any)."""
        n = max(self.trials, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            proxy = np.where(self.n_conflict > 0, self.sum_chance["proxy_reliance"] / self.n_conflict, np.nan)
            abstain = np.where(self.n_tempted > 0, self.sum_chance["abstinence"] / self.n_tempted, np.nan)
        return {"fidelity": self.sum_chance["fidelity"] / n, "proxy_reliance": proxy, "abstinence": abstain,
                "subcortex_reward": self.sum_chance["subcortex_reward"] / n}


def recovery(first_trial: np.ndarray, lethal_at: np.ndarray, catastrophes: np.ndarray,
             reference: np.ndarray) -> dict[str, np.ndarray]:
    """Recovery metrics (K,) from a plastic shift phase's tables (see the module docstring),
    its catastrophes (K,) and the reference fidelity (K,); NaN where the reference is."""
    reference = np.asarray(reference, dtype=float)
    levels = np.arange(RECOVERY_WINDOW + 1) / RECOVERY_WINDOW     # window fidelity of j faithful trials
    known = np.isfinite(reference)
    reached = levels[None, :] >= RECOVERY_SHARE * np.where(known, reference, 0.0)[:, None] - RECOVERY_TOL
    need = np.argmax(reached, axis=1)                              # the fewest faithful trials that do
    rows = np.arange(len(reference))
    at = np.where(known, first_trial[rows, need], np.nan)
    done = np.isfinite(at)
    return {"recovery_trials": at,
            "recovered": np.where(known, done.astype(float), np.nan),
            "catastrophes_before_recovery": np.where(known, np.where(done, lethal_at[rows, need], catastrophes), np.nan)}


def reference_fidelity(metrics_by_phase: dict, shift: str) -> tuple[str, np.ndarray] | None:
    """(phase name, (K,) reference fidelity) of shift phase ``shift``, or None: the last of
    ``train`` and ``test`` to run before it (the cortex as it entered the shift), with the
    ``test`` phase's ``fidelity`` or the ``train`` phase's ``fidelity_late``.

    ``metrics_by_phase``: phase name -> block as in metrics.json (``per_replica`` lists), in the
    order the phases ran.
    """
    ref = None
    for name, block in metrics_by_phase.items():
        if name == shift:
            return ref
        if name in REFERENCE_PHASES:
            ref = name, _per_replica(block, "fidelity" if name == "test" else "fidelity_late")
    raise KeyError(shift)


def cross_phase(metrics_by_phase: dict) -> dict:
    """Add ``steering_gap`` to every shift phase and the recovery metrics to its plastic ones, in
    place, each phase's both against its one :func:`reference_fidelity`; returns the same dict.
    The recovery metrics are read from a block's ``tables`` (kept there by
    :func:`experiments.metrics.summarize`)."""
    for name, block in metrics_by_phase.items():
        if name in REFERENCE_PHASES or "fidelity" not in block.get("per_replica", {}):
            continue
        ref = reference_fidelity(metrics_by_phase, name)
        reference = np.full(len(block["per_replica"]["fidelity"]), np.nan) if ref is None else ref[1]
        set_metric(block, "steering_gap", reference - _per_replica(block, "fidelity"))
        tables = block.get("tables", {})
        if FIRST_TRIAL in tables:
            got = recovery(tables[FIRST_TRIAL], tables[LETHAL_AT], _per_replica(block, "catastrophes"), reference)
            for metric, values in got.items():
                set_metric(block, metric, values)
    return metrics_by_phase


def _per_replica(block: dict, name: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in block["per_replica"][name]], dtype=float)
