"""The smallest closed-loop cortex: no recurrent network, the features are the input vector itself.

A control for steering experiments (what the three-factor heads learn from the raw observation,
with no learned representation in between) and a fast stand-in where a test or benchmark is about
the closed loop rather than the cortex. Implements the closed-loop half of ``cortex.base.Cortex``.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from cortex.base import CortexOutput, ExchangeFn
from cortex.heads import ThreeFactorHeads
from cortex.params import HeadsParams


class LinearCortex:
    """Heads reading the (K, n_inputs) input vector directly; call ``reset(seeds)`` first."""

    target = "numpy"
    probes = ()

    def __init__(self, n_inputs: int, n_replicas: int, signals: Sequence[str], n_actions: int,
                 heads: HeadsParams | None = None):
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self._args = (self.n_replicas, self.n_inputs, tuple(signals), int(n_actions), heads or HeadsParams())
        self._plastic = True
        self.heads = None

    def reset(self, seeds: Sequence[int]) -> None:
        self.heads = ThreeFactorHeads(*self._args, seeds=seeds)

    def set_plasticity(self, on: bool) -> None:
        self._plastic = bool(on)

    def run(self, steps: int, exchange: ExchangeFn, first_inputs: np.ndarray) -> None:
        """``steps`` closed-loop steps; learning is gated by ``set_plasticity`` and per replica by
        ``ex.modulators.plastic``, as in the rate cortex."""
        if self.heads is None:
            raise RuntimeError("call reset(seeds) before running the cortex")
        x = np.asarray(first_inputs, float)
        for t in range(steps):
            assessments, value, logits = self.heads.forward(x)
            ex = exchange(t, CortexOutput(assessments=assessments, value=value, action_prefs=logits))
            gate = np.asarray(ex.modulators.plastic, bool) & self._plastic
            self.heads.learn(x, dataclasses.replace(ex.modulators, plastic=gate), ex.action)
            x = np.asarray(ex.inputs, float)
