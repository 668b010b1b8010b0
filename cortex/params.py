"""Validated, frozen parameter descriptions shared by every cortex backend.

A params object describes a cortex; it holds no state (backends build state from it). Field
names are the YAML keys. Unknown keys are errors.
"""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Params(BaseModel):
    """Base for every parameter block: frozen, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CortexParams(Params):
    """Keys every cortex has. Backends subclass this with their own model parameters."""

    backend: str = Field(description="'rate' (numpy) or 'spiking' (Brian2)")
    model: str = Field(description="model name within the backend, e.g. 'reservoir'")
    n_units: int = Field(ge=4, le=65536, description="number of recurrent units (excitatory + inhibitory for spiking)")

    #: whether the model's ``run_sequence`` takes a per-step plasticity factor (``Cortex``:
    #: ``step_plasticity``); declared on the params so that validation needs no implementation
    step_plasticity: ClassVar[bool] = False


class HeadsParams(Params):
    """Three-factor readouts on top of the cortex (thought assessors, critic, actor).

    Used by closed-loop (steering) experiments; ignored by open-loop sequence tasks.
    """

    lr_assessor: float = Field(0.05, gt=0, le=10, description="learning rate of the thought assessors")
    lr_critic: float = Field(0.05, gt=0, le=10, description="learning rate of the critic (value)")
    lr_actor: float = Field(0.05, gt=0, le=10, description="learning rate of the actor")
    tau_elig_steps: float = Field(2.0, gt=0, le=1e4, description="eligibility trace time constant, in environment steps")
    temperature: float = Field(0.2, gt=0, le=100, description="softmax temperature of action selection")
