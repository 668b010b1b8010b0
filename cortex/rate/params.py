"""Parameters of the rate (numpy) cortex models. Field names are the YAML keys under ``cortex:``."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from cortex.params import CortexParams, HeadsParams
from cortex.readout import ReadoutParams


class RateParams(CortexParams):
    """Leaky rate units with a spread of time constants, a random recurrent matrix and a readout.

    Unit i: v_i <- (1 - a_i) v_i + a_i (sum_j W_ij r_j + sum_k U_ik x_k + b_i),  r_i = f(v_i),
    where a_i = dt / tau_i is the unit's leak rate. Units come in ``n_timescales`` equal groups whose
    leak rates are spaced geometrically from ``leak_max`` (fast) down to ``leak_min`` (slow); only
    the fastest ``input_fraction`` of the units receive the input directly.
    """

    backend: Literal["rate"] = Field("rate", description="'rate': numpy rate-unit cortex")
    n_units: int = Field(1000, ge=4, le=65536, description="number of recurrent rate units")
    spectral_radius: float = Field(1.0, gt=0, le=100, description="gain of the random recurrent matrix W, set through the circular law (its spectral radius for large n_units)")
    density: float = Field(0.1, gt=0, le=1, description="fraction of possible recurrent connections present (no self-connections)")
    in_degree: int | None = Field(None, ge=1, le=65535, description="if set (instead of density), every unit receives exactly this many recurrent connections, and W is drawn and stored sparse (32-bit CSR), never as a dense N x N matrix: memory and time O(n_units * in_degree), the way to 65,536 units")
    input_scale: float = Field(3.0, ge=0, le=100, description="standard deviation of the input weights")
    input_fraction: float = Field(0.5, gt=0, le=1, description="fraction of units, fastest first, that receive the external input directly; the slower rest hear it only through recurrent connections (a timescale hierarchy, as from sensory to association cortex)")
    bias_scale: float = Field(0.5, ge=0, le=10, description="standard deviation of the per-unit bias")
    leak_max: float = Field(1.0, gt=0, le=1, description="leak rate dt/tau of the fastest units (1 = no memory of their own)")
    leak_min: float = Field(0.1, gt=0, le=1, description="leak rate dt/tau of the slowest units")
    n_timescales: int = Field(4, ge=1, le=64, description="number of unit groups, leak rates spaced geometrically from leak_max to leak_min")
    activation: Literal["tanh", "linear"] = Field("tanh", description="unit nonlinearity; 'linear' exists for memory-capacity checks and diverges when spectral_radius > 1")
    block_steps: int = Field(64, ge=1, le=4096, description="steps per learning block: readout (and e-prop) updates run as matrix-matrix products every block_steps steps")
    readout: ReadoutParams = Field(ReadoutParams(), description="predictive readout of the next input")
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision of all state and weights")
    heads: HeadsParams = Field(HeadsParams(), description="thought assessors, critic and actor (closed-loop tasks only)")

    step_plasticity: ClassVar[bool] = True  # readout rows weighted; e-prop's update too

    @model_validator(mode="after")
    def _leaks_ordered(self):
        if self.leak_min > self.leak_max:
            raise ValueError(f"leak_min ({self.leak_min}) must not exceed leak_max ({self.leak_max})")
        if self.n_timescales > self.n_units:
            raise ValueError(f"n_timescales ({self.n_timescales}) must not exceed n_units ({self.n_units})")
        if self.in_degree is not None:
            if self.in_degree >= self.n_units:
                raise ValueError(f"in_degree ({self.in_degree}) must be below n_units ({self.n_units}): no self-connections")
            if "density" in self.model_fields_set:
                raise ValueError("set density or in_degree, not both")
        return self


    def memory_refusal(self, n_replicas: int) -> str | None:
        """Why ``n_replicas`` replicas of this cortex would not fit in memory, or None
        (``cortex.rate.memory``; checked by ``experiments.config`` at validation)."""
        from cortex.rate.memory import refusal

        return refusal(self, n_replicas)


class ReservoirParams(RateParams):
    """Fixed random recurrent and input weights; only the readout and heads learn."""

    model: Literal["reservoir"] = Field("reservoir", description="'reservoir': fixed random recurrent weights")


class EpropParams(RateParams):
    """As the reservoir, but recurrent and input weights also learn online by e-prop."""

    model: Literal["eprop"] = Field("eprop", description="'eprop': recurrent and input weights learn by e-prop")
    lr_recurrent: float = Field(1e-4, ge=0, le=10, description="e-prop learning rate of the recurrent weights, per step")
    lr_input: float = Field(1e-4, ge=0, le=10, description="e-prop learning rate of the input weights, per step")
    feedback_scale: float = Field(1.0, gt=0, le=100, description="standard deviation of the fixed random feedback weights that broadcast the prediction error")

    @model_validator(mode="after")
    def _dense_w(self):
        if self.in_degree is not None:  # its update is an N x N outer product per block
            raise ValueError("in_degree is not supported by e-prop, whose update of W is dense (N x N); use density")
        return self
