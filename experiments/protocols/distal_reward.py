"""The distal-reward protocol (Izhikevich 2007): timed phases of one network and one reward rule.

The network and the innate reward rule live in a :class:`~experiments.distal_reward.DistalRewardSession`
that carries over from phase to phase; a phase's world variant, if any, sets the reward rule's
parameters from that phase on (e.g. ``reward: 0`` for extinction). The network runs on a 1 ms
clock. Phases are not compared with each other: there are no cross-phase metrics.
"""
from __future__ import annotations

import numpy as np

from experiments.distal_reward import DistalRewardSession
from experiments.protocols.base import ExperimentProtocol, PhaseResult, Progress, SilentBar

STEP_MS = 1.0  # the reward rule's clock


class DistalRewardProtocol(ExperimentProtocol):
    """Phases of ``duration_s`` seconds; chance levels: none."""

    family = "distal_reward"

    def __init__(self, spec, recorder, progress: Progress = SilentBar):
        super().__init__(spec, recorder, progress)
        self.session = DistalRewardSession(spec.cortex, spec.world.params, self.seeds,
                                           sample_units=spec.recording.sample_units)

    @property
    def target(self) -> str:
        return self.session.network.target

    def _run(self, phase) -> PhaseResult:
        self._begin(phase, STEP_MS)
        with self.progress(int(np.ceil(phase.duration_s)), phase.name, unit="s") as bar:
            metrics = self.session.run_phase(phase, self.recorder, lambda done, total: bar.update(int(done) - bar.n),
                                             world_params=self.spec.world.variant(phase.variant))
        return PhaseResult(metrics, {}, int(round(phase.duration_s * 1000 / STEP_MS)))
