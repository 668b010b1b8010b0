"""One protocol per experiment family: it runs the family's phases, keeps what they share as
typed fields and computes the metrics that compare phases.

``PROTOCOLS`` maps a world's family (``experiments.worlds.WORLDS[kind].family``) to its protocol
class; the runner builds one per run as ``PROTOCOLS[family](spec, recorder, progress)``.

- ``sequence``: open-loop grammar streams (:mod:`experiments.protocols.sequence`);
- ``closed_loop``: cortex <-> foraging world <-> subcortex, with the steering gap and recovery
  across phases (:mod:`experiments.protocols.closed_loop`);
- ``distal_reward``: the Izhikevich 2007 network and its delayed reward rule
  (:mod:`experiments.protocols.distal_reward`).

What they share (the phase counter, the recorder's phase groups) is in :mod:`experiments.protocols.base`.
"""
from __future__ import annotations

from experiments.protocols.base import ExperimentProtocol, PhaseResult
from experiments.protocols.closed_loop import ClosedLoopProtocol
from experiments.protocols.distal_reward import DistalRewardProtocol
from experiments.protocols.sequence import SequenceProtocol

PROTOCOLS: dict[str, type[ExperimentProtocol]] = {
    "sequence": SequenceProtocol,
    "closed_loop": ClosedLoopProtocol,
    "distal_reward": DistalRewardProtocol,
}

__all__ = ["PROTOCOLS", "ExperimentProtocol", "PhaseResult", "ClosedLoopProtocol", "DistalRewardProtocol",
           "SequenceProtocol"]
