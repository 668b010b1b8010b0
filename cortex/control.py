"""The control cortex: no network of its own, its features are the input vector itself.

YAML: ``cortex: {backend: control, model: linear}``. A control for both study families: in
steering, what the three-factor heads learn from the raw observation with no learned
representation in between; in sequence learning, the shared online predictor on the current
symbol alone (a bigram model), the floor that any cortex with memory must beat. Also a fast
stand-in where a test or benchmark is about the closed loop rather than the cortex. All learning
is the shared one of ``cortex.learning``; this module only makes the features [x_t, 1].
"""
from __future__ import annotations

from typing import ClassVar, Literal, Sequence

import numpy as np
from pydantic import Field

from cortex.base import CortexBase, ExchangeFn, SequenceOutput
from cortex.encoding import one_hot
from cortex.learning import ClosedLoopLearner, LearnsOnline, OnlinePredictor
from cortex.params import CortexParams, HeadsParams
from cortex.readout import ReadoutParams, make_readout


class ControlParams(CortexParams):
    """The linear control: readout and heads on the input vector (plus a bias feature)."""

    backend: Literal["control"] = Field("control", description="'control': cortices without a network, for comparison")
    model: Literal["linear"] = Field("linear", description="'linear': the features are the input vector itself")
    n_units: int = Field(0, ge=0, le=0, description="a control has no units of its own (so recording.sample_units must be 0)")
    readout: ReadoutParams = Field(ReadoutParams(), description="predictive readout of the next input")
    block_steps: int = Field(64, ge=1, le=4096, description="steps per readout learning block")
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision of the readout")
    heads: HeadsParams = Field(HeadsParams(), description="thought assessors, critic and actor (closed-loop tasks only)")

    step_plasticity: ClassVar[bool] = True  # the shared online predictor weighs its rows


class ControlCortex(LearnsOnline, CortexBase):
    """Implements ``cortex.base.Cortex`` on features [x_t, 1]; call ``reset(seeds)`` first.

    ``sample_units`` is accepted for the common construction path; there are no units to sample,
    so ``activity`` has no columns.
    """

    state_attrs = ("_step", "_plastic", "predictor", "heads")  # saved state (cortex.base.capture_state)

    def __init__(self, params: ControlParams, n_inputs: int, n_replicas: int, sample_units: int = 0,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self.signals, self.n_actions = tuple(signals), int(n_actions)
        self.n_features = self.n_inputs + 1
        self.dtype = np.dtype(params.dtype)
        self._plastic = True
        self.heads = self.predictor = None
        self._step = 0

    def reset(self, seeds: Sequence[int]) -> None:
        """Zero readout, heads from ``seeds`` (one per replica: their actors' initial weights)."""
        seeds = [int(s) for s in seeds]
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        k, p = self.n_replicas, self.params
        readout = make_readout(p.readout, k, self.n_features, self.n_inputs, self.dtype, seeds)
        self.predictor = OnlinePredictor(readout, k, self.n_inputs, self.n_features, self.dtype)
        self.heads = None
        if self.signals or self.n_actions:
            from cortex.heads import ThreeFactorHeads

            self.heads = ThreeFactorHeads(k, self.n_inputs, self.signals, self.n_actions, p.heads, seeds)
        self._step = 0

    def _features(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, self.dtype), np.ones(x.shape[:-1] + (1,), self.dtype)], axis=-1)

    def run_sequence(self, inputs: np.ndarray, active: np.ndarray | None = None,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Open loop on (K, T) int symbols: the readout predicts the next symbol from this one
        (``plasticity``: per-step learning weights, see ``Cortex.run_sequence``)."""
        self._ready()
        inputs, active = self.sequence_inputs(inputs, active)
        plasticity = self.sequence_plasticity(plasticity, inputs.shape)
        feats = self._features(one_hot(inputs, self.n_inputs, self.dtype))
        probs = self.predictor.run(inputs, active, self._plastic, self._step, self.params.block_steps,
                                   lambda s, e: feats[:, s:e], plasticity)
        self._step += inputs.shape[1]
        return SequenceOutput(probs=probs, activity=np.zeros(inputs.shape + (0,), self.dtype))

    def run(self, steps: int, exchange: ExchangeFn, first_inputs: np.ndarray) -> None:
        """``steps`` closed-loop steps; learning is gated by ``set_plasticity`` and per replica by
        ``ex.modulators.plastic`` and ``ex.done`` (see ``cortex.learning.ClosedLoopLearner``)."""
        self._ready()
        loop = ClosedLoopLearner(self.predictor, self.heads, self._plastic, self.n_replicas, self.n_features,
                                 self.params.block_steps, self._step)
        x = np.asarray(first_inputs, float)
        none = np.zeros((self.n_replicas, 0), self.dtype)
        for t in range(steps):
            feats = self._features(x)
            ex = exchange(t, loop.output(feats, x, none))
            loop.answer(ex, feats, x)
            x = np.asarray(ex.inputs, float)
        loop.finish()
        self._step = loop.step


#: model name -> (params class, cortex class)
CONTROL_MODELS = {"linear": (ControlParams, ControlCortex)}
