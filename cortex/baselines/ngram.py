"""The n-gram baseline: next-symbol counts after each context of the last order - 1 symbols.

Counted online from the stream while plastic: the pair (context at t, symbol t+1) is counted when
symbol t+1 arrives, after the prediction at t was made from the counts before it, so the training
phase scores the predictor as it learns, as it does the cortex. Strings are laid end to end
without reset: the boundary symbol is part of the context, exactly as the cortex sees it. Before
the stream has order - 1 symbols, the missing ones are a padding code of their own.

Smoothing (``NgramParams.smoothing``): interpolated Witten-Bell, from the uniform up through every
context length j = 0 .. order - 1 (a context seen c times, followed by u different symbols, mixes
its counts with the shorter context's estimate: (count + u p_shorter) / (c + u)); or add-k on the
full context. The counts are the model's whole state.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.base import CortexBase, SequenceOutput
from cortex.baselines.params import NgramParams


class NgramCortex(CortexBase):
    """Implements ``cortex.base.Cortex`` open loop (``run_sequence``); call ``reset(seeds)`` first.

    Replicas count independently (each sees its own strings); the seeds are not used, the model is
    deterministic given its stream.
    """

    state_attrs = ("_step", "_plastic", "counts", "codes", "pending")

    def __init__(self, params: NgramParams, n_inputs: int, n_replicas: int, sample_units: int = 0,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self._plastic = True
        self.counts: list[np.ndarray] | None = None
        self._step = 0

    def reset(self, seeds: Sequence[int]) -> None:
        """Empty counts; ``seeds`` (one per replica) are checked but not used."""
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        K, n, base = self.n_replicas, self.n_inputs, self.n_inputs + 1
        # counts[j][k, c, s]: times symbol s followed context code c of the last j symbols
        self.counts = [np.zeros((K, base**j, n)) for j in range(self.params.order)]
        # codes[k, j]: the last j symbols in base n + 1, the padding code n where the stream is shorter
        self.codes = np.array([[base**j - 1 for j in range(self.params.order)]] * K, dtype=np.int64)
        self.pending = np.zeros(K, bool)  # a prediction waits for its target (the next input)
        self._step = 0

    def set_plasticity(self, on: bool) -> None:
        """Counting on or off; a pair whose target arrives while off is never counted."""
        self._plastic = bool(on)
        if not on and self.counts is not None:
            self.pending[:] = False

    def run_sequence(self, inputs: np.ndarray, active: np.ndarray | None = None,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Open loop on (K, T) int symbols: after each symbol, the distribution of the next one.
        ``plasticity`` (K, T) in [0, 1]: the count each pair adds, by the step its symbol arrives at
        (1 without it; 0: not counted)."""
        if self.counts is None:
            raise RuntimeError("call reset(seeds) before running the cortex")
        inputs, active = self.sequence_inputs(np.asarray(inputs, np.int64), active)
        plasticity = self.sequence_plasticity(plasticity, inputs.shape)
        K, T = inputs.shape
        probs = np.full((K, T, self.n_inputs), 1.0 / self.n_inputs)
        rows = np.arange(K)
        levels = range(self.params.order)
        modulus = [(self.n_inputs + 1) ** j for j in levels]
        for t in range(T):
            on, x = active[:, t], inputs[:, t]
            learn = on & self.pending if self._plastic else np.zeros(K, bool)
            add = 1.0 if plasticity is None else plasticity[learn, t]
            for j in levels:
                self.counts[j][rows[learn], self.codes[learn, j], x[learn]] += add
            new = np.array([(self.codes[:, j] * (self.n_inputs + 1) + x) % modulus[j] for j in levels]).T
            self.codes = np.where(on[:, None], new, self.codes)
            probs[on, t] = self._predict(np.flatnonzero(on))
            self.pending |= on & self._plastic
        self._step += T
        return SequenceOutput(probs=probs, activity=np.zeros((K, T, 0)))

    def _predict(self, who: np.ndarray) -> np.ndarray:
        """(len(who), n) distributions of the next symbol for replicas ``who`` from their contexts."""
        n = self.n_inputs
        rows = [self.counts[j][who, self.codes[who, j]] for j in range(self.params.order)]
        if self.params.smoothing == "add_k":
            top = rows[-1]
            return (top + self.params.k) / (top.sum(-1, keepdims=True) + self.params.k * n)
        p = np.full((len(who), n), 1.0 / n)
        for row in rows:  # shortest context first
            seen, types = row.sum(-1, keepdims=True), (row > 0).sum(-1, keepdims=True)
            p = np.where(seen > 0, (row + types * p) / np.maximum(seen + types, 1), p)
        return p

    def run(self, steps, exchange, first_inputs) -> None:
        """Not supported: the n-gram is a sequence baseline with no closed loop."""
        raise NotImplementedError("baseline model ngram predicts symbol streams only (run_sequence); it has no closed loop")
