"""Worlds: they take an action (or nothing, for grammar streams) and return observations, hidden
properties and, for grammars, the exact next-symbol distribution. They know nothing of either
brain part.

``WORLDS`` maps the YAML ``world.kind`` to a :class:`WorldKind`: the class, the family of
experiment it belongs to (the key of the protocol that drives it in ``experiments.protocols``)
and the phase key that sets a phase's length.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorldKind:
    cls: type
    family: str          # "sequence" | "closed_loop" | "distal_reward"
    phase_length: str    # "strings" | "trials" | "duration_s"

    @property
    def Params(self):  # noqa: N802 - mirrors the classes' nested Params
        return self.cls.Params


def _registry() -> dict[str, WorldKind]:
    from experiments.worlds.grammars import GRAMMARS

    worlds = {name: WorldKind(cls, "sequence", "strings") for name, cls in GRAMMARS.items()}
    from experiments.worlds.foraging import Foraging

    worlds["foraging"] = WorldKind(Foraging, "closed_loop", "trials")
    from experiments.worlds.distal_reward import DistalReward

    worlds["distal_reward"] = WorldKind(DistalReward, "distal_reward", "duration_s")
    return worlds


WORLDS = _registry()
