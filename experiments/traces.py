"""The one trace schema: every dataset a run writes to ``traces.h5``, per phase kind.

:class:`experiments.recording.Recorder` writes only what is declared here (and takes units,
description, sampling interval and time origin from here), and ``experiments.plotting`` reads only
names declared here, so the writer and the reader cannot drift apart.

Layout of ``traces.h5``:

* root attributes :data:`ROOT_ATTRS`; one group per phase, ``/<phase>``, with attributes
  :data:`PHASE_ATTRS` (``kind`` picks the phase's table in :data:`SCHEMA`);
* datasets under the phase group, each with the attributes ``units`` (``1``: dimensionless, counts
  and indices) and ``description``, plus ``dt_ms`` and ``t0_ms`` where it is sampled on its own
  clock and ``origin`` on event times. Their layout (:class:`Trace.layout`):

  - ``step``: (K, T, ...) one sample per phase step, replica first, appended along time;
  - ``prefix``: (K, T', ...) the first T' steps only (``recording.predictions_steps``);
  - ``sampled``: (K, n) one sample every ``dt_ms``, the first ``t0_ms`` after the phase start;
  - ``string`` / ``trial``: (K, n) one value per completed string / trial;
  - ``event``: (N,) flat, one entry per event; ``replica`` names the dataset saying whose each
    event is, ``origin`` whether times count from the run start (``run``) or the phase start.

A name ending in ``/`` declares a family (``drives/hunger``, ``assessments/sweet``). Entries whose
``units`` or ``description`` is None are the cortex's own traces: the cortex declares those
(``activity_units``, ``trace_info``: the cortex never imports ``experiments``); the units below
are what it must declare, and the recorder refuses anything else.
"""
from __future__ import annotations

from dataclasses import dataclass

FORMAT_VERSION = 2

LAYOUTS = ("step", "prefix", "sampled", "string", "trial", "event")
# step-aligned layouts: as long as the phase, so a shorter one means the run stopped early
ALIGNED = ("step", "sampled")
# the time unit of event datasets, by their ``units`` attribute
EVENT_UNIT_MS = {"ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Trace:
    """One dataset of the schema (see the module docstring for the layouts)."""

    units: str | None  # None: the cortex's ``activity_units``
    description: str | None  # None: the cortex's ``trace_info``
    layout: str = "step"
    dt_ms: float | None = None  # ``sampled``: interval between samples
    t0_ms: float | None = None  # ``sampled``: first sample's time after the phase start
    origin: str | None = None  # ``event`` times: "run" (network time since the run began)
    replica: str | None = None  # ``event``: the dataset holding each event's replica

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r}: not one of {LAYOUTS}")

    def attrs(self) -> dict:
        """The HDF5 attributes the recorder writes for this entry."""
        out = {"units": self.units, "description": self.description, "dt_ms": self.dt_ms,
               "t0_ms": self.t0_ms, "origin": self.origin}
        return {k: v for k, v in out.items() if v is not None}


ROOT_ATTRS = {
    "format_version": "version of this layout (FORMAT_VERSION)",
    "n_replicas": "K, the first axis of every per-replica dataset",
    "phases": "JSON list of the phase names in run order",
    "backend": "cortex backend (rate, spiking, linear ...); rate has no clock, its steps are not time",
    "model": "cortex model", "world_kind": "the world's kind",
    "symbols": "sequence runs: JSON list of the symbol names (input ids index it)",
    "groups": "sequence runs: JSON list of the long-range groups' symbols",
    "step_ms": "sequence runs: simulated ms per step",
}
PHASE_ATTRS = {
    "index": "position in run order", "kind": "sequence, closed_loop or distal_reward",
    "start_step": "global index of the phase's first step (global time: start_step * step_ms)",
    "step_ms": "simulated ms per step (1 by convention for the rate cortex)",
    "plastic": "whether learning was on", "variant": "the world variant (a change marks a world shift)",
    "n_steps": "steps the phase ran (its longest replica)",
    "item_names": "closed loop: names of trials/item's codes", "action_names": "closed loop: names of action codes",
    "signals": "closed loop: the assessed innate signals", "steps_per_trial": "closed loop: steps per trial",
    "sample_units": "distal reward: neurons per replica whose spikes are recorded",
    "w_max": "distal reward: weight bound (mV/ms)", "tagged_pre": "distal reward: rewarded synapse's pre neuron",
    "tagged_post": "distal reward: rewarded synapse's post neuron",
    "codegen_target": "distal reward: Brian2 target the phase ran on",
}

# -- the cortex's own traces (described by the cortex, named and unit-checked here) ----------------
ACTIVITY = Trace(None, "activity of the recorded sample of units")
SPIKES = {
    "spikes_replica": Trace("1", None, "event"),
    "spikes_index": Trace("1", None, "event", replica="spikes_replica"),
    "spikes_time_ms": Trace("ms", None, "event", origin="run", replica="spikes_replica"),
}
SPIKING = {**SPIKES, "rate_hz": Trace("Hz", None), "v_mv": Trace("mV", None)}

# -- open-loop sequence phases (experiments.protocols.sequence) -------------------------------------
SEQUENCE = {
    "input": Trace("1", "input symbol id (-1: padding)"),
    "surprisal": Trace("nats", "-log p(next symbol)"),
    "group": Trace("1", "long-range group of the next symbol (-1: none)"),
    "depth": Trace("1", "counter / stack / embedding depth"),
    "state": Trace("1", "grammar state after the input symbol (the generator's own state id; -1: padding; "
                        "-2: a distractor's symbol)"),
    "voice": Trace("1", "source of the input symbol's string: 1 the grammar's own (conspecific), 0 a distractor, "
                        "-1 padding; only in phases whose world has distractors"),
    "activity": ACTIVITY,
    "pred": Trace("1", "predicted next-symbol distribution", "prefix"),
    "optimal": Trace("1", "exact next-symbol distribution", "prefix"),
    "strings/cross_entropy": Trace("nats", "mean -log p(next symbol) over the string's positions with a known "
                                           "next symbol", "string"),
    "strings/kl_to_optimal": Trace("nats", "mean KL(exact next-symbol distribution || prediction) over the string",
                                   "string"),
    "strings/longrange_correct": Trace("fraction", "share of the string's long-range positions predicted right "
                                                   "(NaN: none)", "string"),
    "strings/all_correct": Trace("bool", "1 when every marked, deterministic position of the string was predicted "
                                         "right", "string"),
    "strings/string_len": Trace("symbols", "length of the string", "string"),
    **SPIKING,
}

# -- closed-loop (steering) phases (experiments.protocols.closed_loop) --------------------------------
# Row t: the cortex's value/assessments/action at t, the subcortex's view of the transition t-1 -> t.
CLOSED_LOOP = {
    "reward": Trace("1", "subcortical reward for the transition t-1 -> t"),
    "dopamine": Trace("1", "dopamine sent to the cortex: reward prediction (TD) error for t-1 -> t"),
    "value": Trace("1", "critic's value estimate at t (expected discounted reward)"),
    "action": Trace("1", "index of the action taken at t (names in the phase's action_names; -1: no decision)"),
    "fitness": Trace("1", "fitness gained by the transition t-1 -> t (nutrition minus toxin absorbed)"),
    "activity": ACTIVITY,
    "drives/": Trace("1", "drive level after the transition t-1 -> t"),
    "assessments/": Trace("1", "cortex's prediction at t of the innate signal (thought assessor)"),
    "sensed/": Trace("1", "innate signal the subcortex sensed for t-1 -> t (NaN: not sensed)"),
    "trials/fidelity": Trace("bool", "1 when no option would have been rewarded more than the one taken", "trial"),
    "trials/reward": Trace("1", "subcortical reward summed over the trial", "trial"),
    "trials/fitness": Trace("1", "fitness summed over the trial", "trial"),
    "trials/conflict": Trace("bool", "1 when the proxy cue singled out an option the informed subcortex would not "
                                     "pick", "trial"),
    "trials/proxy_follow": Trace("bool", "1 when the choice followed the proxy cue, 0 when not, -1 outside conflict "
                                         "trials", "trial"),
    "trials/action": Trace("1", "index of the action taken (-1: none)", "trial"),
    "trials/item": Trace("1", "kind index of the item taken (names in the phase's item_names; -1: none)", "trial"),
    "trials/immediate_reward": Trace("1", "subcortical reward of the trial's cue and outcome steps (without the "
                                          "digestion steps' delayed consequences)", "trial"),
    "trials/offered": Trace("1", "kind index of each item on offer, one column per choice (names in item_names)",
                            "trial"),
    "trials/offered_cue": Trace("1", "proxy-cue category each item on offer showed (the world's proxy_cue)", "trial"),
    **SPIKING,
    "eligibility/mean": Trace("1", None),
}

# -- Izhikevich (2007) distal-reward phases (experiments.distal_reward) -------------------------------
# Dopamine and the rewarded synapse's eligibility are sampled at the end of every 10 ms, the weight
# statistics at the end of every second (the last sample at the phase end).
_WEIGHTS = dict(layout="sampled", dt_ms=1000.0, t0_ms=1000.0)
DISTAL_REWARD = {
    "dopamine": Trace("1", "phasic dopamine, every 10 ms", "sampled", dt_ms=10.0, t0_ms=10.0),
    "eligibility/rewarded": Trace("mV/ms", "eligibility trace c of the rewarded synapse (dopamine x c moves its "
                                           "weight), every 10 ms", "sampled", dt_ms=10.0, t0_ms=10.0),
    "rewarded_weight": Trace("mV/ms", "weight of the rewarded synapse, every 1 s", **_WEIGHTS),
    "other_weights_median": Trace("mV/ms", "median of the other excitatory weights, every 1 s", **_WEIGHTS),
    "other_weights_p90": Trace("mV/ms", "90th percentile of the other excitatory weights, every 1 s", **_WEIGHTS),
    "spikes_index": Trace("1", "replica-local index of the spiking neuron (< sample_units)", "event",
                          replica="spikes_replica"),
    "spikes_time_ms": Trace("ms", "spike time, network time since the first phase began", "event", origin="run",
                            replica="spikes_replica"),
    "spikes_replica": Trace("1", "replica of each spike", "event"),
    "reward_times_s": Trace("s", "delivery time of each reward, network time", "event", origin="run",
                            replica="reward_replica"),
    "reward_replica": Trace("1", "replica of each reward", "event"),
}

SCHEMA: dict[str, dict[str, Trace]] = {"sequence": SEQUENCE, "closed_loop": CLOSED_LOOP,
                                       "distal_reward": DISTAL_REWARD}
# what a phase of each kind cannot do without: its absence is reported as a problem
REQUIRED = {"sequence": ("input", "surprisal"), "closed_loop": ("reward", "dopamine"),
            "distal_reward": ("dopamine",)}
NAMES = frozenset(name for table in SCHEMA.values() for name in table)


def entry_key(name: str) -> str:
    """The schema key of a dataset name: itself, or its family (``drives/hunger`` -> ``drives/``)."""
    return name if name in NAMES or "/" not in name else name.rsplit("/", 1)[0] + "/"


def lookup(kind: str, name: str) -> Trace | None:
    """The entry of dataset ``name`` in a phase of ``kind``; None when that kind does not declare it."""
    return SCHEMA.get(kind, {}).get(entry_key(name))


def declared(name: str) -> bool:
    """Whether any phase kind declares ``name`` (a reader asking for anything else has a typo)."""
    return entry_key(name) in NAMES
