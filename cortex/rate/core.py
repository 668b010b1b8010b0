"""The rate cortex: leaky tanh units with a spread of time constants and an online predictive readout.

This class is the ``reservoir`` model: W, U and b stay as drawn; the readout (and, in closed loop,
the three-factor heads) learn. ``cortex.rate.eprop`` subclasses it to make W and U plastic.

Clock and learning. After input x_t the state gives features f_t = [r_t, x_t, 1] and a prediction
of x_{t+1}; when x_{t+1} arrives (the next active step of that replica) the pair (f_t, x_{t+1})
is learned. Steps are processed in blocks of ``block_steps``: the recurrence runs step by step,
then the block's pairs are learned with matrix-matrix products. Open loop, RLS predictions equal
those of step-by-step RLS (see ``cortex.readout``). Closed loop, the next input is only known after
``exchange`` returns, so predictions within a block use the weights from the block start.

NaN/Inf: the state is checked once per block (one reduction); if it is not finite the block is
replayed from a snapshot with a check at every step, so NumericalError names the first bad step.
Steps are counted from ``reset``; padding steps count too.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import scipy.sparse

from cortex.base import CortexOutput, ExchangeFn, NumericalError, SequenceOutput, nonfinite_replicas
from cortex.encoding import one_hot
from cortex.rate import reservoir as rsv
from cortex.rate.params import RateParams
from cortex.readout import make_readout

STATE = "state v (unit potentials)"   # what a NumericalError of the dynamics names


#: at or below this connection density W is stored sparse (CSR): fewer bytes to stream each step
SPARSE_DENSITY = 0.3


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


class RateCortex:
    """Reservoir rate cortex; implements ``cortex.base.Cortex``. Call ``reset(seeds)`` first.

    params: RateParams; n_inputs: input vector size (alphabet size for symbol streams);
    n_replicas: K; sample_units: how many units ``activity`` reports (evenly spaced, so every
    time-constant group is sampled); signals / n_actions: enable the three-factor heads.
    """

    target = "numpy"
    probes = ("activity",)

    def __init__(self, params: RateParams, n_inputs: int, n_replicas: int, sample_units: int,
                 signals: tuple[str, ...] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs = int(n_inputs)
        self.n_replicas = int(n_replicas)
        self.signals = tuple(signals)
        self.n_actions = int(n_actions)
        self.dtype = np.dtype(params.dtype)
        n = params.n_units
        self.n_features = n + self.n_inputs + 1
        s = min(max(int(sample_units), 0), n)
        self.sample = np.arange(s) * n // max(s, 1)
        self.group_leak, leak, self.group_slices = rsv.leak_rates(params)
        self._leak = leak.astype(self.dtype)
        self._decay = (1.0 - leak).astype(self.dtype)
        self._plastic = True
        self.heads = None
        self.readout = None

    # ----------------------------------------------------------------------------------- build
    def reset(self, seeds: Sequence[int]) -> None:
        """Rebuild weights, readout, heads and state; replica k from ``seeds[k]`` alone."""
        seeds = [int(s) for s in seeds]
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        p, k, n, dt = self.params, self.n_replicas, self.params.n_units, self.dtype
        self._W = rsv.stack(lambda s: rsv.recurrent_weights(p, s), seeds, dt)
        self._U = rsv.stack(lambda s: rsv.input_weights(p, self.n_inputs, s), seeds, dt)
        self._b = rsv.stack(lambda s: rsv.biases(p, s), seeds, dt)
        self._csr = None
        self._fold_leak()
        self._v = np.zeros((k, n), dt)
        self._r = np.zeros((k, n), dt)  # f(0) = 0 for both activations
        self._x = np.zeros((k, self.n_inputs), dt)
        self._buf = np.empty((k, p.block_steps, self.n_features), dt)
        self._buf[..., -1] = 1.0  # constant bias feature
        self._pending = np.zeros((k, self.n_features), dt)
        self._pending_ok = np.zeros(k, bool)
        self._last_probs = np.full((k, self.n_inputs), 1.0 / self.n_inputs, dt)
        self._step = 0
        self.readout = make_readout(p.readout, k, self.n_features, self.n_inputs, dt)
        self.heads = None
        if self.signals or self.n_actions:
            from cortex.heads import ThreeFactorHeads  # optional part: only closed-loop tasks need it
            self.heads = ThreeFactorHeads(k, self.n_features, self.signals, self.n_actions, p.heads, seeds)

    def _fold_leak(self) -> None:
        """Precompute a_i W_ij, a_i U_ik (as rows per input) and a_i b_i, used at every step.

        A sparse W becomes one block-diagonal CSR matrix over all replicas: a single call per step
        whatever K, and K N^2 density entries to stream instead of K N^2 (which for K >= 3 replicas
        of 1,000 units no longer fit in cache). Rows are summed in the same order batched or alone.
        """
        self._Wa = self._leak[:, None] * self._W
        self._Ua = np.ascontiguousarray((self._leak[:, None] * self._U).transpose(0, 2, 1))
        self._ba = self._leak * self._b
        if self.params.density > SPARSE_DENSITY:
            self._csr = None
        elif self._csr is None:
            k, i, j = self._nonzero = np.nonzero(self._W)  # the pattern is fixed from here on
            n = self.params.n_units
            indptr = np.concatenate([[0], np.cumsum(np.bincount(k * n + i, minlength=len(self._W) * n))])
            self._csr = scipy.sparse.csr_array((self._Wa[k, i, j], k * n + j, indptr), shape=(len(indptr) - 1,) * 2)
        else:
            self._csr.data[:] = self._Wa[self._nonzero]

    def set_plasticity(self, on: bool) -> None:
        """Switch all learning on or off; a pair whose target arrives while off is never learned."""
        self._plastic = bool(on)
        if not on:
            self._pending_ok[:] = False

    def _ready(self) -> None:
        if self.readout is None:
            raise RuntimeError("call reset(seeds) before running the cortex")

    # ------------------------------------------------------------------------------- dynamics
    def _activate(self, v: np.ndarray, out: np.ndarray) -> None:
        if self.params.activation == "tanh":
            np.tanh(v, out=out)
        else:
            np.copyto(out, v)

    def _snapshot(self) -> tuple:
        return self._v.copy(), self._r.copy(), self._x.copy()

    def _restore(self, snap: tuple) -> None:
        self._v, self._r, self._x = (a.copy() for a in snap)

    def _trace_step(self, j: int, r_prev: np.ndarray, row: np.ndarray, active: np.ndarray | None) -> None:
        """Hook called after each step (e-prop keeps eligibility traces here)."""

    def _loop(self, drive: np.ndarray, active: np.ndarray, j0: int, step0: int, check: bool) -> None:
        """Advance b steps; write r_t into buffer rows j0.. . drive (K, b, N) = a (U x_t + b)."""
        n, buf, decay, wa = self.params.n_units, self._buf, self._decay, self._Wa
        v, r = self._v, self._r
        m = np.empty((self.n_replicas, n, 1), self.dtype) if self._csr is None else None
        all_on = active.all(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are caught below
            for j in range(drive.shape[1]):
                if self._csr is None:
                    rec = np.matmul(wa, r[:, :, None], out=m)[..., 0]
                else:
                    rec = (self._csr @ r.reshape(-1)).reshape(r.shape)
                if all_on[j]:
                    v *= decay
                    v += rec
                    v += drive[:, j]
                    a = None
                else:
                    a = active[:, j]
                    v = np.where(a[:, None], decay * v + rec + drive[:, j], v)
                out = buf[:, j0 + j, :n]
                self._activate(v, out)
                self._trace_step(j0 + j, r, buf[:, j0 + j], a)
                r = out
                if check and not np.isfinite(v).all():
                    raise NumericalError(step0 + j, STATE, nonfinite_replicas(v))
        self._v, self._r = v, r.copy()

    def _advance(self, drive: np.ndarray, x_held: np.ndarray, active: np.ndarray, j0: int, step0: int) -> np.ndarray:
        """Run a block (step0 = global step of its first row); returns its features (K, b, F)."""
        n, b = self.params.n_units, drive.shape[1]
        rows = self._buf[:, j0:j0 + b]
        rows[..., n:n + self.n_inputs] = x_held
        snap = self._snapshot()
        self._loop(drive, active, j0, step0, check=False)
        if not np.isfinite(self._v).all():
            self._restore(snap)
            self._loop(drive, active, j0, step0, check=True)
            raise NumericalError(step0, STATE, nonfinite_replicas(self._v))  # unreachable unless the replay differs
        self._x = rows[:, -1, n:n + self.n_inputs].copy()
        return rows

    # ------------------------------------------------------------------------------- learning
    def _plastic_update(self, feats, raw, targets, known, j0: int) -> None:
        """Hook for plastic recurrent weights (e-prop); a fixed reservoir learns nothing here."""

    def _learn_block(self, feats, targets, known, step0: int, j0: int) -> np.ndarray:
        """Learn rows (feature t, next input) of one block; returns the a-priori predictions."""
        try:
            raw = self.readout.learn(feats, targets, known)
        except NumericalError as err:  # row j is learned when its target arrives: step j + 1
            raise NumericalError(step0 + err.step + 1, err.where, err.replicas) from None
        self._plastic_update(feats, raw, targets, known, j0)
        return raw

    def _learn_pending(self, inputs: np.ndarray, active: np.ndarray) -> None:
        """Learn the last row of the previous call, whose target is this call's first input."""
        ok = self._pending_ok & active.any(axis=1)
        if not ok.any():
            return
        first = np.argmax(active, axis=1)
        target = one_hot(inputs[np.arange(self.n_replicas), first], self.n_inputs, self.dtype)
        try:
            self.readout.learn(self._pending[:, None], target[:, None], ok[:, None])
        except NumericalError as err:
            raise NumericalError(self._step + int(first[ok].min()), err.where, err.replicas) from None
        self._pending_ok &= ~ok

    def _check_probs(self, probs: np.ndarray, step0: int) -> None:
        if not np.isfinite(probs.sum()):
            first = int(np.argmax(~np.isfinite(probs).all(axis=(0, 2))))
            raise NumericalError(step0 + first, "readout prediction", nonfinite_replicas(probs[:, first]))

    # ------------------------------------------------------------------------------- open loop
    def run_sequence(self, inputs: np.ndarray, active: np.ndarray | None = None) -> SequenceOutput:
        """Feed symbols (K, T) int; ``active`` (K, T) bool, False = padding (changes nothing).

        Returns probs (K, T, n_inputs): predicted distribution of the next symbol after each step
        (padding steps repeat the last prediction), and activity (K, T, sample_units).
        """
        self._ready()
        inputs = np.asarray(inputs)
        active = np.ones(inputs.shape, bool) if active is None else np.asarray(active, bool)
        if inputs.ndim != 2 or inputs.shape[0] != self.n_replicas or active.shape != inputs.shape:
            raise ValueError(f"inputs and active must both be ({self.n_replicas}, T); got {inputs.shape}, {active.shape}")
        k, t_len = inputs.shape
        n_in, blk = self.n_inputs, self.params.block_steps
        kk = np.arange(k)[:, None]
        learn = self._plastic
        x_held = one_hot(inputs, n_in, self.dtype)  # also validates the symbol range
        last = last_active(active)
        if not active.all():  # a padding step keeps the last active input
            fill = np.where((last >= 0)[..., None], x_held[kk, np.maximum(last, 0)], self._x[:, None])
            x_held = np.where(active[..., None], x_held, fill)
        if learn:
            self._learn_pending(inputs, active)
        nxt = next_active(active)
        probs = np.empty((k, t_len, n_in), self.dtype)
        activity = np.empty((k, t_len, len(self.sample)), self.dtype)
        for s in range(0, t_len, blk):
            e = min(t_len, s + blk)
            on = active[:, s:e]
            drive = self._Ua[kk, inputs[:, s:e]] + self._ba[:, None]
            feats = self._advance(drive, x_held[:, s:e], on, 0, self._step + s)
            activity[:, s:e] = feats[:, :, self.sample]
            known = on & (nxt[:, s:e] < t_len) if learn else np.zeros_like(on)
            if known.any():
                targets = one_hot(inputs[kk, np.minimum(nxt[:, s:e], t_len - 1)], n_in, self.dtype)
                raw = self._learn_block(feats, targets, known, self._step + s, 0)
                hold = on & ~known  # last active row of a replica: predicted with the newest weights
                if hold.any():
                    raw = np.where(hold[..., None], self.readout.predict(feats), raw)
            else:
                raw = self.readout.predict(feats)
            probs[:, s:e] = self.readout.distribution(raw)
            self._check_probs(probs[:, s:e], self._step + s)
            if learn:
                self._hold_pending(feats, on & (nxt[:, s:e] >= t_len))
        if not active.all():
            fill = np.where((last >= 0)[..., None], probs[kk, np.maximum(last, 0)], self._last_probs[:, None])
            probs = np.where(active[..., None], probs, fill)
        self._last_probs = probs[:, -1].copy()
        self._step += t_len
        return SequenceOutput(probs=probs, activity=activity)

    def _hold_pending(self, feats: np.ndarray, rows: np.ndarray) -> None:
        """Keep the features of each replica's last active step; its target comes next call."""
        has = rows.any(axis=1)
        if has.any():
            j = np.argmax(rows, axis=1)
            self._pending[has] = feats[np.flatnonzero(has), j[has]]
            self._pending_ok |= has

    # ----------------------------------------------------------------------------- closed loop
    def run(self, steps: int, exchange: ExchangeFn, first_inputs: np.ndarray) -> None:
        """Closed loop for ``steps`` steps. Input vectors are (K, n_inputs) floats (cortex.encoding).

        Each step: update the state with the input, emit a CortexOutput, call ``exchange``, let the
        heads learn, and continue with ``ex.inputs``. A replica whose ``ex.done`` is set stays frozen
        for the rest of this call; ``ex.modulators.plastic`` gates learning per replica.
        """
        self._ready()
        k, n_in, blk = self.n_replicas, self.n_inputs, self.params.block_steps
        x = np.asarray(first_inputs, self.dtype).reshape(k, n_in)
        frozen = np.zeros(k, bool)
        self._pending_ok[:] = False
        targets = np.zeros((k, blk, n_in), self.dtype)
        known = np.zeros((k, blk), bool)
        j = 0
        for t in range(steps):
            on = ~frozen
            x = np.where(on[:, None], x, self._x)
            drive = np.matmul(x[:, None, :], self._Ua) + self._ba[:, None]
            feats = self._advance(drive, x[:, None], on[:, None], j, self._step)[:, 0]
            raw = self.readout.predict(feats)
            self._check_probs(raw[:, None], self._step)
            out = CortexOutput(next_input=self.readout.distribution(raw), activity=feats[:, self.sample].copy())
            if self.heads is not None:
                out.assessments, out.value, out.action_prefs = self.heads.forward(feats.copy())
            ex = exchange(t, out)
            done = np.asarray(ex.done, bool)
            gate = np.asarray(ex.modulators.plastic, bool) & on & self._plastic
            if self.heads is not None:
                self.heads.learn(feats.copy(), dataclasses.replace(ex.modulators, plastic=gate), ex.action)
            targets[:, j] = ex.inputs
            known[:, j] = gate & ~done  # a finished episode's next input is not a consequence
            self._step += 1
            j += 1
            if j == blk or t == steps - 1:
                if known[:, :j].any():
                    self._learn_block(self._buf[:, :j], targets[:, :j], known[:, :j], self._step - j, 0)
                j = 0
            frozen |= done
            x = np.asarray(ex.inputs, self.dtype)
