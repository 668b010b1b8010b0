"""The learning every cortex model shares: a model produces features and state, learning lives here.

``OnlinePredictor``: the predictive readout's online bookkeeping. After input x_t a model's
features f_t predict x_{t+1}; when x_{t+1} arrives (the next active step of that replica) the pair
(f_t, x_{t+1}) is learned. Open loop, a chunk of T steps is learned in blocks of ``block_steps``
rows (matrix-matrix products, see ``cortex.readout``); each replica's last active row waits as the
*pending* row until the next call brings its target; padding steps (``active`` False) are learned
never, and report the prediction of the replica's last active step. An optional per-step
plasticity factor (K, T) weighs each pair by the factor of the step its target arrives at (the
readout's sample weights; 0: the pair changes nothing, yet is predicted with the current weights);
a block whose learned pairs all have factor 1 takes the unweighted path, so a factor of 1
everywhere is bit for bit the run without one.

``ClosedLoopLearner``: one closed-loop run's per-step learning. The plasticity gate of a step is
the subcortex's per-replica flag AND the replica still running AND the cortex plastic; it gates the
three-factor heads and whether the readout learns that the next input is this step's consequence.
Readout rows are queued and learned a block at a time, so predictions within a block use the
weights of the block start.

Both report a NumericalError with the step (counted from ``reset``) at which the readout's
prediction or weights went non-finite.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from cortex.base import CortexOutput, Exchange, NumericalError, nonfinite_replicas
from cortex.encoding import one_hot

#: hook called after each learned block: (features, a-priori predictions, targets, known, first row)
OnLearn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], None]


def next_active(active: np.ndarray) -> np.ndarray:
    """(K, T) index of the first active step strictly after t, or T where there is none."""
    k, t = active.shape
    idx = np.where(active, np.arange(t), t)
    after = np.full((k, t), t)
    after[:, :-1] = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return after


def last_active(active: np.ndarray) -> np.ndarray:
    """(K, T) index of the last active step at or before t, or -1 where there is none."""
    return np.maximum.accumulate(np.where(active, np.arange(active.shape[1]), -1), axis=1)


def pair_weights(known: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """The readout's row weights for pairs ``known`` (bool) whose targets' plasticity is ``factor``:
    ``known`` itself where every known pair's factor is 1 (the unweighted path, bit for bit),
    else the float weights (0 off the known pairs)."""
    if (factor[known] == 1.0).all():
        return known
    return np.where(known, factor, 0.0)


def check_finite(values: np.ndarray, step0: int, where: str = "readout prediction") -> None:
    """Raise NumericalError at the first step (axis 1 of (K, B, n)) holding a NaN or Inf."""
    if not np.isfinite(values.sum()):
        first = int(np.argmax(~np.isfinite(values).all(axis=(0, 2))))
        raise NumericalError(step0 + first, where, nonfinite_replicas(values[:, first]))


class OnlinePredictor:
    """A readout (``cortex.readout``) learning online to predict the next input (module docstring).

    ``on_learn`` (optional) sees every learned block, e.g. for a model whose own weights learn from
    the same prediction errors (e-prop).
    """

    #: saved state (cortex.base.capture_state), its readout included
    state_attrs = ("readout", "pending", "pending_ok", "last_probs")

    def __init__(self, readout, n_replicas: int, n_inputs: int, n_features: int, dtype,
                 on_learn: OnLearn | None = None):
        self.readout, self.on_learn = readout, on_learn
        self.n_inputs, self.dtype = int(n_inputs), np.dtype(dtype)
        self.pending = np.zeros((n_replicas, n_features), self.dtype)  # last row, awaiting its target
        self.pending_ok = np.zeros(n_replicas, bool)
        self.last_probs = np.full((n_replicas, self.n_inputs), 1.0 / self.n_inputs, self.dtype)

    def forget_pending(self) -> None:
        """Drop the pending rows: their target will not be a consequence the readout should learn."""
        self.pending_ok[:] = False

    def predict(self, features: np.ndarray, step: int) -> np.ndarray:
        """(K, n_inputs) distribution of the next input from (K, F) features, checked finite."""
        raw = self.readout.predict(features)
        check_finite(raw[:, None], step)
        return self.readout.distribution(raw)

    def learn_block(self, feats: np.ndarray, targets: np.ndarray, known: np.ndarray, step0: int,
                    j0: int = 0) -> np.ndarray:
        """Learn the rows (feature t, next input) of one block starting at step ``step0``; returns
        the a-priori predictions. ``j0``: the block's first row in the model's buffers (on_learn).
        ``known``: (K, B) bool, or float weights in [0, 1] (the readout's and on_learn's)."""
        try:
            raw = self.readout.learn(feats, targets, known)
        except NumericalError as err:  # row j is learned when its target arrives: step j + 1
            raise NumericalError(step0 + err.step + 1, err.where, err.replicas) from None
        if self.on_learn is not None:
            self.on_learn(feats, raw, targets, known, j0)
        return raw

    def run(self, inputs: np.ndarray, active: np.ndarray, learn: bool, step0: int, block_steps: int,
            features: Callable[[int, int], np.ndarray], plasticity: np.ndarray | None = None) -> np.ndarray:
        """Predict (and, if ``learn``, learn) a chunk of (K, T) int symbols, block by block.

        ``features(s, e)`` advances the model over steps s..e-1 and returns their (K, e - s, F)
        features; ``step0`` is the chunk's first step; ``plasticity`` (K, T) in [0, 1] or None:
        the weight of the pair whose target arrives at each step (module docstring). Returns
        (K, T, n_inputs) distributions.
        """
        k, t_len = inputs.shape
        kk = np.arange(k)[:, None]
        if learn:
            self._learn_pending(inputs, active, step0, plasticity)
        nxt = next_active(active)
        probs = np.empty((k, t_len, self.n_inputs), self.dtype)
        for s in range(0, t_len, block_steps):
            e = min(t_len, s + block_steps)
            on = active[:, s:e]
            feats = features(s, e)
            known = on & (nxt[:, s:e] < t_len) if learn else np.zeros_like(on)
            at = np.minimum(nxt[:, s:e], t_len - 1)  # where each row's target arrives
            weights = known if plasticity is None else pair_weights(known, plasticity[kk, at])
            if weights.any():
                targets = one_hot(inputs[kk, at], self.n_inputs, self.dtype)
                raw = self.learn_block(feats, targets, weights, step0 + s, 0)
                hold = on & ~known  # last active row of a replica: predicted with the newest weights
                held = np.flatnonzero(hold.any(axis=1))
                if held.size:  # at most one row per replica: predict that row, not the whole block
                    j = np.argmax(hold, axis=1)
                    raw[held, j[held]] = self.readout.predict(feats[np.arange(k), j])[held]
            else:
                raw = self.readout.predict(feats)
            probs[:, s:e] = self.readout.distribution(raw)
            check_finite(probs[:, s:e], step0 + s)
            if learn:
                self._hold_pending(feats, on & (nxt[:, s:e] >= t_len))
        if not active.all():  # a padding step repeats the last active prediction
            last = last_active(active)
            fill = np.where((last >= 0)[..., None], probs[kk, np.maximum(last, 0)], self.last_probs[:, None])
            probs = np.where(active[..., None], probs, fill)
        self.last_probs = probs[:, -1].copy()
        return probs

    def _learn_pending(self, inputs: np.ndarray, active: np.ndarray, step0: int,
                       plasticity: np.ndarray | None = None) -> None:
        """Learn the last row of the previous call, whose target is this call's first input."""
        ok = self.pending_ok & active.any(axis=1)
        if not ok.any():
            return
        first = np.argmax(active, axis=1)
        rows = np.arange(len(inputs))
        target = one_hot(inputs[rows, first], self.n_inputs, self.dtype)
        weights = ok[:, None] if plasticity is None else pair_weights(ok[:, None], plasticity[rows, first][:, None])
        try:
            if weights.any():
                self.readout.learn(self.pending[:, None], target[:, None], weights)
        except NumericalError as err:
            raise NumericalError(step0 + int(first[ok].min()), err.where, err.replicas) from None
        self.pending_ok &= ~ok

    def _hold_pending(self, feats: np.ndarray, rows: np.ndarray) -> None:
        """Keep the features of each replica's last active step; its target comes next call."""
        has = rows.any(axis=1)
        if has.any():
            j = np.argmax(rows, axis=1)
            self.pending[has] = feats[np.flatnonzero(has), j[has]]
            self.pending_ok |= has


class LearnsOnline:
    """``set_plasticity`` of a model whose readout learns through ``self.predictor``
    (an :class:`OnlinePredictor`; None before ``reset``)."""

    predictor: OnlinePredictor | None = None
    _plastic: bool = True

    def set_plasticity(self, on: bool) -> None:
        """Switch all learning on or off; a pair whose target arrives while off is never learned."""
        self._plastic = bool(on)
        if not on and self.predictor is not None:
            self.predictor.forget_pending()

    def _ready(self) -> None:
        if self.predictor is None:
            raise RuntimeError("call reset(seeds) before running the cortex")


class ClosedLoopLearner:
    """Learning of one closed-loop run (module docstring); ``predictor`` and ``heads`` may be None.

    Per step the model calls :meth:`output` with its features, hands the result to ``exchange``,
    then calls :meth:`answer` with the Exchange; :meth:`finish` after the last step. ``row`` is the
    readout block row the coming step fills (a model may keep per-row state of its own there).
    """

    def __init__(self, predictor: OnlinePredictor | None, heads, plastic: bool, n_replicas: int,
                 n_features: int, block_steps: int, step0: int):
        self.predictor, self.heads, self.plastic = predictor, heads, bool(plastic)
        self.step, self.row = int(step0), 0
        self.done = np.zeros(n_replicas, bool)
        if predictor is not None:
            dt = predictor.dtype
            self.x = np.zeros((n_replicas, block_steps, n_features), dt)
            self.y = np.zeros((n_replicas, block_steps, predictor.n_inputs), dt)
            self.known = np.zeros((n_replicas, block_steps), bool)
            predictor.forget_pending()  # an open-loop row's target is not this run's first input

    @property
    def running(self) -> np.ndarray:
        """(K,) replicas whose episode has not ended in this run."""
        return ~self.done

    def output(self, features: np.ndarray, head_features: np.ndarray, activity: np.ndarray | None) -> CortexOutput:
        """This step's CortexOutput: the readout's prediction of the next input and the heads' reads."""
        out = CortexOutput(activity=activity)
        if self.predictor is not None:
            out.next_input = self.predictor.predict(features, self.step)
        if self.heads is not None:
            out.assessments, out.value, out.action_prefs = self.heads.forward(head_features)
        return out

    def answer(self, ex: Exchange, features: np.ndarray, head_features: np.ndarray) -> np.ndarray:
        """Learn from exchange's answer; returns the (K,) plasticity gate of the step."""
        on = ~self.done
        done = np.asarray(ex.done, bool)
        gate = np.asarray(ex.modulators.plastic, bool) & on & self.plastic
        if self.heads is not None:
            self.heads.learn(head_features, dataclasses.replace(ex.modulators, plastic=gate), ex.action)
        self.step += 1
        if self.predictor is not None:
            j = self.row
            self.x[:, j], self.y[:, j] = features, ex.inputs
            self.known[:, j] = gate & ~done  # a finished episode's next input is not a consequence
            self.row += 1
            if self.row == self.x.shape[1]:
                self.finish()
        self.done |= done
        return gate

    def finish(self) -> None:
        """Learn the queued readout rows (if any is known) and start a new block."""
        j, self.row = self.row, 0
        if self.predictor is not None and j and self.known[:, :j].any():
            self.predictor.learn_block(self.x[:, :j], self.y[:, :j], self.known[:, :j], self.step - j, 0)
