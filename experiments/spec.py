"""The validated, frozen description of an experiment: what a run needs, and nothing it does.

:class:`ExperimentSpec` is built by experiments.config (YAML -> spec, every problem collected);
the runner and the protocols read it. Field names are the YAML keys. The world, cortex and
subcortex blocks are the ``Params`` models of the components their YAML names, looked up in the
components' registries (experiments.worlds.WORLDS, cortex.model_registry, subcortex.params).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from pydantic import BaseModel, Field

from cortex.params import Params


class Header(Params):
    """Run-wide keys."""

    name: str = Field("", max_length=120, pattern=r"^[A-Za-z0-9_.\-]*$", description="experiment name (default: the file name)")
    description: str = Field("", description="one line saying what the experiment asks")
    seed: int = Field(0, ge=0, lt=2**31, description="base seed; replica k uses seed + k")
    replicas: int = Field(1, ge=1, le=4096, description="independent seeds run as one batched network")


class PhaseSpec(Params):
    """One phase of an experiment: which world variant, how long, and whether learning is on."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="phase name: train, test, test_long, cue_conflict ...")
    variant: str = Field("base", description="world variant (a key of world.variants, or 'base')")
    strings: int | None = Field(None, ge=1, le=10_000_000, description="grammar worlds: strings per replica")
    trials: int | None = Field(None, ge=1, le=10_000_000, description="foraging world: trials per replica")
    duration_s: float | None = Field(None, gt=0, le=1e6, description="distal-reward world: simulated seconds")
    plastic: bool = Field(True, description="learning on (true) or frozen (false) during this phase")
    shared_strings: bool = Field(False, description="grammar worlds: every replica reads the first replica's strings in this phase (its seed's stream), so that replicas can be compared step by step (CKA, probe transfer between seeds)")


class RecordingSpec(Params):
    """What goes into traces.h5."""

    sample_units: int = Field(16, ge=0, le=4096, description="units whose activity is recorded every step")
    predictions_steps: int = Field(2000, ge=0, le=10_000_000, description="steps per phase whose full predicted and exact next-symbol distributions are recorded")
    chunk_steps: int = Field(4096, ge=16, le=1_000_000, description="steps per HDF5 chunk and per write")
    save_state: bool = Field(True, description="save the experiment's full state at every phase end (states/PHASE.h5), for `--from` and `--resume`")
    state_max_mb: float = Field(64.0, gt=0, le=1_000_000, description="a phase end's state larger than this (MB) is not saved (meta.json says so)")


@dataclass(frozen=True)
class WorldSpec:
    """A validated world block: base parameters plus named variants (each fully resolved)."""

    kind: str
    params: BaseModel
    variants: Mapping[str, BaseModel] = field(default_factory=dict)
    variant_overrides: Mapping[str, dict] = field(default_factory=dict)

    def variant(self, name: str) -> BaseModel:
        return self.params if name == "base" else self.variants[name]


@dataclass(frozen=True)
class ExperimentSpec:
    """Everything a run needs, validated. Build with ``experiments.config.load`` (or ``loads``)."""

    header: Header
    world: WorldSpec
    cortex: BaseModel
    subcortex: BaseModel | None
    phases: tuple[PhaseSpec, ...]
    recording: RecordingSpec
    source: str = "<memory>"

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def seed(self) -> int:
        return self.header.seed

    @property
    def replicas(self) -> int:
        return self.header.replicas

    @property
    def seeds(self) -> list[int]:
        """One seed per replica: replica k of seed s equals a one-replica run with seed s + k."""
        return [self.header.seed + k for k in range(self.header.replicas)]

    def resolved(self) -> dict:
        """The fully resolved config as plain data; loading it again gives the same spec."""
        out: dict[str, Any] = self.header.model_dump(mode="json")
        world = {"kind": self.world.kind, **self.world.params.model_dump(mode="json")}
        if self.world.variant_overrides:
            world["variants"] = {k: dict(v) for k, v in self.world.variant_overrides.items()}
        out["world"] = world
        out["cortex"] = self.cortex.model_dump(mode="json")
        if self.subcortex is not None:
            out["subcortex"] = self.subcortex.model_dump(mode="json")
        out["phases"] = [p.model_dump(mode="json", exclude_none=True) for p in self.phases]
        out["recording"] = self.recording.model_dump(mode="json")
        return out
