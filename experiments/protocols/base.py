"""What the protocols of every experiment family share: the phase loop's bookkeeping.

A protocol is built by the runner for one run (``PROTOCOLS[family](spec, recorder, progress)``)
and then runs the spec's phases in order, one :meth:`ExperimentProtocol.run_phase` call each. What
its phases share (the cortex, a closed loop's world and subcortex, the longest training string, ...)
are typed fields of the protocol; the metrics that compare phases are its :meth:`cross_phase`.
"""
from __future__ import annotations

from typing import Callable, ClassVar, NamedTuple

import numpy as np

from cortex.base import capture_state, restore_state


class PhaseResult(NamedTuple):
    """One phase's per-replica metrics ((K,) arrays; tables of more dimensions for
    :meth:`ExperimentProtocol.cross_phase`), their chance levels and its steps (longest replica)."""

    metrics: dict[str, np.ndarray]
    chance: dict[str, np.ndarray]
    steps: int


class SilentBar:
    """A progress bar that shows nothing (the ``progress`` of a protocol built without one)."""

    def __init__(self, total: int = 0, desc: str = "", unit: str = ""):
        self.n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        self.n += n


#: ``progress(total, desc, unit)`` -> a context manager with ``update(n)`` and ``n`` (tqdm's)
Progress = Callable[..., SilentBar]


def recorded_step_ms(step_ms: float | None) -> float:
    """The ``step_ms`` attribute a phase's traces carry: a rate cortex (no clock; its time is steps)
    records 1.0, so that one step reads as one unit of time."""
    return 1.0 if step_ms is None else step_ms


class ExperimentProtocol:
    """Runs the phases of one experiment family; subclasses implement :meth:`_run` and
    :attr:`target`, and override :meth:`cross_phase` where phases are compared."""

    family: ClassVar[str]
    #: what a saved state holds (``cortex.base.capture_state``); None: this family saves none
    state_attrs: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, spec, recorder, progress: Progress = SilentBar):
        self.spec = spec
        self.recorder = recorder
        self.seeds: list[int] = list(spec.seeds)
        self.progress = progress
        self.phase_index = 0      # index in spec.phases of the next phase
        self.start_step = 0       # run-global step index of the next phase's first step

    @property
    def target(self) -> str:
        """The codegen target the run used ("numpy" for the rate cortex); recorded in meta.json."""
        raise NotImplementedError

    def run_phase(self, phase) -> PhaseResult:
        """Run the next phase of the spec (in order), record its length, return its result."""
        result = self._run(phase)
        self.recorder.attrs(phase.name, n_steps=int(result.steps))
        self.phase_index += 1
        self.start_step += result.steps
        return result

    def state(self) -> dict:
        """The state after the last phase run, as a tree of plain values (experiments/state.py);
        raises TypeError where the family or its cortex cannot save one."""
        if self.state_attrs is None:
            raise TypeError(f"the {self.family} protocol does not save states")
        return capture_state(self)

    def load_state(self, tree: dict) -> None:
        """Continue after the phase whose :meth:`state` ``tree`` is; raises StateMismatch."""
        if self.state_attrs is None:
            raise TypeError(f"the {self.family} protocol does not save states")
        restore_state(self, tree)

    def cross_phase(self, metrics: dict) -> None:
        """Add the metrics that compare phases to ``metrics`` (phase name -> block), in place;
        a family with none keeps this."""

    def _run(self, phase) -> PhaseResult:
        raise NotImplementedError

    def _begin(self, phase, step_ms: float | None) -> None:
        """Open the phase's group in the recorder."""
        self.recorder.phase(phase.name, kind=self.family, start_step=self.start_step, plastic=phase.plastic,
                            variant=phase.variant, step_ms=recorded_step_ms(step_ms))
