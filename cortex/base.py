"""The contract between a cortex model and the rest of the system: ``Cortex``, its outputs, modulators.

A cortex is one generic learning algorithm. Every model (``rate``: numpy reservoir / e-prop;
``spiking``: Brian2 LIF / Izhikevich 2007; ``control``: the linear control) carries a leading
*replica* axis of size K: replica k is an independent network built from its own seed, so K seeds
run as one batched network. A model produces features and state; the learning every model shares
(the online predictor, the closed-loop learner) lives in ``cortex.learning``. Nothing here imports
numpy-heavy backends or Brian2.

Two ways to drive a cortex:

* ``run_sequence(inputs, active, plasticity=None)``: open loop. The input is known ahead (grammar
  streams). After each input symbol the cortex predicts the next one; while plastic it learns
  online from its own prediction error (the next input is the teacher), each step's learning
  weighted by an optional per-step plasticity factor (the subcortex's voice gate). No per-step
  callback.
* ``run(steps, exchange)``: closed loop. The cortex owns the clock and calls ``exchange`` once per
  environment step with its output; ``exchange`` returns the next input and the modulators
  (dopamine, supervisory errors) that the subcortex computed.

Everything a caller reads is declared on :class:`Cortex` (clock, units, traces, the simulate-ahead
hook); :class:`CortexBase` holds the defaults. What a codegen target cannot run is declared once,
in ``cortex.spiking.params.TARGET_LIMITS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass
class CortexOutput:
    """What the cortex emits at one environment step, per replica (leading axis K).

    next_input:   (K, n_inputs)  predicted distribution of the next input (rows sum to 1), or None
    assessments:  (K, n_signals) predictions of each innate signal ("thought assessors")
    value:        (K,)           critic's value estimate
    action_prefs: (K, n_actions) actor's preferences (logits); the runner/world samples the action
    activity:     (K, n_sample)  activity of the recorded sample of units (rate) or filtered spikes
    """

    next_input: np.ndarray | None = None
    assessments: np.ndarray | None = None
    value: np.ndarray | None = None
    action_prefs: np.ndarray | None = None
    activity: np.ndarray | None = None


@dataclass
class Modulators:
    """Signals the subcortex sends up, per replica.

    dopamine:    (K,)           reward prediction error (TD error), dimensionless
    supervisory: (K, n_signals) per-signal supervisory error: sensed value minus the assessor's
                                prediction, NaN where the subcortex sensed nothing this step
    plastic:     (K,) bool      plasticity gate per replica (False freezes all learning)
    """

    dopamine: np.ndarray
    supervisory: np.ndarray
    plastic: np.ndarray


@dataclass
class Exchange:
    """What ``exchange`` returns to the cortex for the next step.

    inputs:    (K, n_inputs) float input vector for the next step (see cortex.encoding)
    modulators: Modulators for the step just taken
    action:    (K,) int action the world executed (actor learns on this one), -1 for none
    done:      (K,) bool replica has finished its phase (its state then stays frozen)
    """

    inputs: np.ndarray
    modulators: Modulators
    action: np.ndarray
    done: np.ndarray


@dataclass
class SequenceOutput:
    """Open-loop result for a chunk of T steps.

    probs:    (K, T, n_inputs) predicted distribution of the input at t+1 given inputs up to t
    activity: (K, T, n_sample) activity of the recorded sample of units
    extra:    backend-specific traces, each (K, T, ...) or event arrays; recorded as-is
    """

    probs: np.ndarray
    activity: np.ndarray
    extra: dict = field(default_factory=dict)


ExchangeFn = Callable[[int, CortexOutput], Exchange]


@runtime_checkable
class Cortex(Protocol):
    """Interface every model implements; everything a caller reads is declared here. Shapes carry
    the replica axis K first. :class:`CortexBase` gives the defaults of the optional parts."""

    n_replicas: int
    n_inputs: int
    #: codegen target or "numpy"; recorded in meta.json
    target: str
    #: physical length of one step (ms); None where time is counted in steps only (rate, control)
    step_ms: float | None
    #: units of ``CortexOutput.activity`` / ``SequenceOutput.activity``
    activity_units: str
    #: (units, description) of every trace handed out by :meth:`traces` / ``SequenceOutput.extra``
    trace_info: dict[str, tuple[str, str]]
    #: True where the target simulates the whole open-loop input at once (see :meth:`simulate_ahead`)
    wants_input_ahead: bool
    #: True where ``run_sequence`` takes a per-step ``plasticity`` factor (its params class says so)
    step_plasticity: bool

    def reset(self, seeds: Sequence[int]) -> None:
        """(Re)build all state from one seed per replica."""

    def set_plasticity(self, on: bool) -> None:
        """Switch all learning (recurrent, readouts, assessors, actor/critic) on or off."""

    def run_sequence(self, inputs: np.ndarray, active: np.ndarray,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Open loop: feed (K, T) int symbols; ``active`` (K, T) False marks padding steps at which
        a replica's state and weights must not change. Continues from the previous call's state.

        ``plasticity`` (K, T) in [0, 1], only where ``step_plasticity``: the weight of the learning
        done at step t, i.e. of the pair (features of the replica's previous active step, input
        t), which is learned when input t arrives. 0: no weight change at that step, while the
        state evolves as usual (unlike padding); 1: the normal update (bit for bit as without the
        factor); in between a weighted update (RLS: a sample weight; delta rule and e-prop: the
        step scaled; n-gram: a fractional count). None: 1 everywhere. Plasticity switched off
        (``set_plasticity(False)``) overrides it."""

    def run(self, steps: int, exchange: ExchangeFn, first_inputs: np.ndarray) -> None:
        """Closed loop for ``steps`` environment steps, calling ``exchange`` once per step."""

    def traces(self) -> dict[str, np.ndarray]:
        """Closed-loop traces kept since the last call (keys in ``trace_info``); the caller takes them."""

    def simulate_ahead(self, phases: Sequence[tuple[bool, Sequence[tuple[np.ndarray, np.ndarray]]]]) -> dict:
        """Where ``wants_input_ahead``: simulate every phase's ``(plastic, [(inputs, active), ...])``
        blocks at once, before the first ``run_sequence``, which then gets the same blocks in order.
        Returns timings (s)."""

    def state(self) -> dict:
        """The full state (weights, readout, heads, traces, membrane state, generators) as a tree
        of plain values (:func:`capture_state`); what :meth:`load_state` continues from."""

    def load_state(self, state: dict) -> None:
        """Continue from a :meth:`state` of a model of the same config and seeds (after ``reset``);
        raises :class:`StateMismatch` where it does not fit."""


class CortexBase:
    """Defaults of the optional parts of :class:`Cortex`, for models to inherit: numpy target, no
    physical clock, dimensionless activity, no traces of their own, nothing simulated ahead."""

    target: str = "numpy"
    step_ms: float | None = None
    activity_units: str = "1"
    trace_info: dict[str, tuple[str, str]] = {}
    wants_input_ahead: bool = False

    def traces(self) -> dict[str, np.ndarray]:
        """No traces beyond ``CortexOutput``: an empty dict."""
        return {}

    def simulate_ahead(self, phases) -> dict:
        """Only targets that simulate ahead (``wants_input_ahead``) implement this."""
        raise NotImplementedError(f"{type(self).__name__} runs step by step; it does not simulate ahead")

    @property
    def step_plasticity(self) -> bool:
        """Whether ``run_sequence`` takes a per-step plasticity factor: its params class declares it."""
        return bool(type(self.params).step_plasticity)

    def sequence_plasticity(self, plasticity, shape: tuple[int, int]) -> np.ndarray | None:
        """``run_sequence``'s ``plasticity`` as a float (K, T) array in [0, 1] (None stays None).
        Raises ValueError where the model does not take one or it is out of shape or range."""
        if plasticity is None:
            return None
        if not self.step_plasticity:
            raise ValueError(f"{type(self).__name__} does not take a per-step plasticity factor")
        plasticity = np.asarray(plasticity, float)
        if plasticity.shape != tuple(shape):
            raise ValueError(f"plasticity must be {tuple(shape)} like the inputs; got {plasticity.shape}")
        if not ((plasticity >= 0) & (plasticity <= 1)).all():
            raise ValueError("plasticity factors must lie in [0, 1]")
        return plasticity

    def sequence_inputs(self, inputs, active=None) -> tuple[np.ndarray, np.ndarray]:
        """``run_sequence``'s arguments as arrays: (K, T) symbols and the (K, T) bool mask of real
        steps (all real when ``active`` is None). Raises ValueError naming the expected shape."""
        inputs = np.asarray(inputs)
        active = np.ones(inputs.shape, bool) if active is None else np.asarray(active, bool)
        if inputs.ndim != 2 or inputs.shape[0] != self.n_replicas or active.shape != inputs.shape:
            raise ValueError(f"inputs and active must both be ({self.n_replicas}, T); got {inputs.shape}, {active.shape}")
        return inputs, active

    #: names of the attributes that make up the model's state (see :func:`capture_state`); a
    #: model without any cannot be saved (``state`` raises TypeError)
    state_attrs: tuple[str, ...] | None = None

    def state(self) -> dict:
        """The model's full state as a tree of arrays, scalars and generator states (copies)."""
        if self.state_attrs is None:
            raise TypeError(f"{type(self).__name__} does not declare its state (state_attrs)")
        return capture_state(self)

    def load_state(self, state: dict) -> None:
        """Continue from ``state`` (from :meth:`state` of a model built from the same config and
        seeds, after ``reset``). Raises :class:`StateMismatch` where it does not fit."""
        if self.state_attrs is None:
            raise TypeError(f"{type(self).__name__} does not declare its state (state_attrs)")
        restore_state(self, state)


class NumericalWarning(RuntimeWarning):
    """The cortex met a numerical problem and recovered from it (e.g. the RLS readout restoring its
    P matrix); the runner lists every one in the run's meta.json (``warnings``)."""


class NumericalError(FloatingPointError):
    """A NaN or Inf appeared in the cortex; carries the step where it appeared, the quantity that
    went non-finite (``where``) and the replicas it did so in (indices from 0; empty if unknown)."""

    def __init__(self, step: int, where: str, replicas=()):
        self.step = step
        self.where = where
        self.replicas = tuple(int(k) for k in replicas)
        who = ""
        if self.replicas:
            who = f" of replica{'s' if len(self.replicas) > 1 else ''} {', '.join(map(str, self.replicas))}"
        super().__init__(f"non-finite value in {where}{who} at step {step}")


def nonfinite_replicas(values: np.ndarray) -> tuple[int, ...]:
    """Indices along the first axis (replicas) of ``values`` holding a NaN or Inf."""
    values = np.asarray(values)
    return tuple(np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1)).tolist())


# ----------------------------------------------------------------------------------- saved state
#
# A model's state is the tree of what it would need to continue exactly where it stopped:
# weights, readouts, heads, traces, membrane state, step counters and random generators. Every
# object lists the names of its state attributes in ``state_attrs``; :func:`capture_state` walks
# them (recursing into parts that list their own) and :func:`restore_state` writes a tree back
# into an object of the same shapes, built from the same config and seeds. The tree holds only
# plain values: numpy arrays, dicts, lists, Python scalars, None and :class:`RngState` (a
# Generator's ``bit_generator.state``, itself a plain dict), so a state file needs no pickle.


class StateMismatch(ValueError):
    """A saved state does not fit the object it is loaded into; ``path`` names the entry
    (dotted, from the object's root), the message says how."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path or '(root)'}: {message}")


class RngState(dict):
    """The ``bit_generator.state`` of a numpy Generator (a plain dict) inside a state tree."""

    def generator(self) -> np.random.Generator:
        """A new Generator in this state."""
        bit = getattr(np.random, self["bit_generator"])()
        bit.state = dict(self)
        return np.random.Generator(bit)


def capture_state(value):
    """The state tree of ``value`` (an object listing ``state_attrs``, an array, a Generator, a
    dict or list of those, or a scalar); arrays are copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.random.Generator):
        return RngState(value.bit_generator.state)
    if isinstance(value, dict):
        return {str(k): capture_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [capture_state(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    names = getattr(type(value), "state_attrs", None)
    if names is None:
        raise TypeError(f"{type(value).__name__} has no state_attrs: its state cannot be saved")
    return {name: capture_state(getattr(value, name)) for name in names}


def restore_state(current, saved, path: str = ""):
    """Write the tree ``saved`` into ``current`` (what :func:`capture_state` walked); returns the
    value to keep (objects and Generators are updated in place and returned). An object is told
    by ``_state_loaded()`` (if it has one) that its state changed, to refresh what it derives.
    Raises :class:`StateMismatch` where shapes, dtypes, keys or kinds differ."""
    if current is None:  # filled only later in a fresh run (last value, world buffers): take it
        if isinstance(saved, dict) and not isinstance(saved, RngState):
            raise StateMismatch(path, "the state has a part that this config does not build")
        return _plain(saved)
    if isinstance(current, np.ndarray):
        if not isinstance(saved, np.ndarray):
            raise StateMismatch(path, f"an array {current.shape} here, {type(saved).__name__} in the state")
        if saved.shape != current.shape or saved.dtype != current.dtype:
            raise StateMismatch(path, f"shape {saved.shape} {saved.dtype} in the state, "
                                      f"{current.shape} {current.dtype} in this config")
        return saved.copy()
    if isinstance(current, np.random.Generator):
        if not isinstance(saved, dict) or saved.get("bit_generator") != current.bit_generator.state["bit_generator"]:
            raise StateMismatch(path, "not the state of the same kind of random generator")
        current.bit_generator.state = dict(saved)
        return current
    if isinstance(current, dict):
        if not isinstance(saved, dict) or set(saved) != {str(k) for k in current}:
            have = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise StateMismatch(path, f"entries {have} in the state, {sorted(map(str, current))} in this config")
        return {k: restore_state(v, saved[str(k)], _join(path, k)) for k, v in current.items()}
    if isinstance(current, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(current):
            n = len(saved) if isinstance(saved, (list, tuple)) else type(saved).__name__
            raise StateMismatch(path, f"{n} entries in the state, {len(current)} in this config")
        return type(current)(restore_state(c, s, _join(path, i)) for i, (c, s) in enumerate(zip(current, saved)))
    if isinstance(current, (bool, int, float, str, np.generic)):
        if isinstance(saved, (dict, list, np.ndarray)) or saved is None:
            raise StateMismatch(path, f"a number or name here, {type(saved).__name__} in the state")
        return type(current)(saved)
    names = getattr(type(current), "state_attrs", None)
    if names is None:
        raise TypeError(f"{type(current).__name__} has no state_attrs: its state cannot be loaded")
    if not isinstance(saved, dict) or set(saved) != set(names):
        have = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise StateMismatch(path, f"entries {have} in the state, {sorted(names)} in this config")
    for name in names:
        setattr(current, name, restore_state(getattr(current, name, None), saved[name], _join(path, name)))
    hook = getattr(current, "_state_loaded", None)
    if hook is not None:
        hook()
    return current


def _plain(saved):
    if isinstance(saved, RngState):
        return saved.generator()
    if isinstance(saved, list):
        return [_plain(v) for v in saved]
    return saved.copy() if isinstance(saved, np.ndarray) else saved


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)
