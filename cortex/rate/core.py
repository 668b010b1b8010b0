"""The rate cortex: leaky tanh units with a spread of time constants, whose features feed the
shared online learning of ``cortex.learning``.

This class is the ``reservoir`` model: W, U and b stay as drawn; the readout (and, in closed loop,
the three-factor heads) learn. ``cortex.rate.eprop`` subclasses it to make W and U plastic through
the ``on_learn`` hook of the shared predictor. ``cortex.rate.reservoir`` draws the weights.

Features f_t = [r_t, x_t, 1]. Steps are processed in blocks of ``block_steps``: the recurrence runs
step by step, then ``cortex.learning.OnlinePredictor`` learns the block's pairs with matrix-matrix
products. Open loop, RLS predictions equal those of step-by-step RLS (see ``cortex.readout``).
Closed loop (``cortex.learning.ClosedLoopLearner``), the next input is only known after
``exchange`` returns, so predictions within a block use the weights from the block start.

NaN/Inf: the state is checked once per block (one reduction); if it is not finite the block is
replayed from a snapshot with a check at every step, so NumericalError names the first bad step.
Steps are counted from ``reset``; padding steps count too.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse

from cortex.base import CortexBase, ExchangeFn, NumericalError, SequenceOutput, nonfinite_replicas
from cortex.encoding import one_hot
from cortex.learning import ClosedLoopLearner, LearnsOnline, OnlinePredictor, last_active
from cortex.rate import reservoir as rsv
from cortex.rate.params import RateParams
from cortex.readout import make_readout

STATE = "state v (unit potentials)"   # what a NumericalError of the dynamics names


#: at or below this connection density W is stored sparse (CSR): fewer bytes to stream each step
SPARSE_DENSITY = 0.3


class RateCortex(LearnsOnline, CortexBase):
    """Reservoir rate cortex; implements ``cortex.base.Cortex``. Call ``reset(seeds)`` first.

    params: RateParams; n_inputs: input vector size (alphabet size for symbol streams);
    n_replicas: K; sample_units: how many units ``activity`` reports (evenly spaced, so every
    time-constant group is sampled); signals / n_actions: enable the three-factor heads.
    """

    #: saved state (cortex.base.capture_state); what derives from it is refreshed by _state_loaded
    state_attrs = ("_W", "_U", "_b", "_v", "_r", "_x", "_step", "_plastic", "predictor", "heads")

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
        self.readout = self.predictor = None

    # ----------------------------------------------------------------------------------- build
    def reset(self, seeds: Sequence[int]) -> None:
        """Rebuild weights, readout, heads and state; replica k from ``seeds[k]`` alone."""
        seeds = [int(s) for s in seeds]
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        p, k, n, dt = self.params, self.n_replicas, self.params.n_units, self.dtype
        self._csr = None
        if p.in_degree is None:
            self._W = rsv.stack(lambda s: rsv.recurrent_weights(p, s), seeds, dt)
        else:  # W exists only as the folded CSR matrix (no dense N x N array at any point)
            self._W = None
            self._csr = _block_diagonal([rsv.recurrent_csr(p, s) for s in seeds], self._leak)
        self._U = rsv.stack(lambda s: rsv.input_weights(p, self.n_inputs, s), seeds, dt)
        self._b = rsv.stack(lambda s: rsv.biases(p, s), seeds, dt)
        self._fold_leak()
        self._v = np.zeros((k, n), dt)
        self._r = np.zeros((k, n), dt)  # f(0) = 0 for both activations
        self._x = np.zeros((k, self.n_inputs), dt)
        self._buf = np.empty((k, p.block_steps, self.n_features), dt)
        self._buf[..., -1] = 1.0  # constant bias feature
        self._step = 0
        self.readout = make_readout(p.readout, k, self.n_features, self.n_inputs, dt, seeds)
        self.predictor = OnlinePredictor(self.readout, k, self.n_inputs, self.n_features, dt,
                                         on_learn=self._plastic_update)
        self.heads = None
        if self.signals or self.n_actions:
            from cortex.heads import ThreeFactorHeads  # optional part: only closed-loop tasks need it
            self.heads = ThreeFactorHeads(k, self.n_features, self.signals, self.n_actions, p.heads, seeds)

    def _fold_leak(self) -> None:
        """Precompute a_i W_ij, a_i U_ik (as rows per input) and a_i b_i, used at every step.

        A sparse W becomes one block-diagonal CSR matrix over all replicas (32-bit indices, as
        scipy's own conversion gives: faster products than 64-bit ones): a single call per step
        whatever K, and K N^2 density entries to stream instead of K N^2 (which for K >= 3 replicas
        of 1,000 units no longer fit in cache). Rows are summed in the same order batched or alone.
        With ``in_degree`` the CSR matrix is drawn folded and W is never dense.
        """
        self._Ua = np.ascontiguousarray((self._leak[:, None] * self._U).transpose(0, 2, 1))
        self._ba = self._leak * self._b
        if self._W is None:
            return
        if self.params.density > SPARSE_DENSITY:
            self._Wa = self._leak[:, None] * self._W
            return
        if self._csr is None:
            k, i, j = self._nonzero = np.nonzero(self._W)  # the pattern is fixed from here on
            n = self.params.n_units
            index = _index_dtype(len(k), len(self._W) * n)
            indptr = np.concatenate([[0], np.cumsum(np.bincount(k * n + i, minlength=len(self._W) * n))]).astype(index)
            self._csr = scipy.sparse.csr_array((self._leak[i] * self._W[k, i, j], (k * n + j).astype(index), indptr),
                                               shape=(len(indptr) - 1,) * 2)
        else:
            k, i, j = self._nonzero
            self._csr.data[:] = self._leak[i] * self._W[k, i, j]

    # ------------------------------------------------------------------------------- dynamics
    def _snapshot(self) -> tuple:
        return self._v.copy(), self._r.copy(), self._x.copy()

    def _restore(self, snap: tuple) -> None:
        self._v, self._r, self._x = (a.copy() for a in snap)

    def _trace_step(self, j: int, r_prev: np.ndarray, row: np.ndarray, active: np.ndarray | None) -> None:
        """Hook called after each step (e-prop keeps eligibility traces here)."""

    def _loop(self, drive: Callable[[int], np.ndarray], active: np.ndarray, j0: int, step0: int, check: bool) -> None:
        """Advance b = active.shape[1] steps; write r_t into buffer rows j0.. . drive(j) (K, N) =
        a (U x_t + b) of step j, made when it is needed (a (K, b, N) block of it would stream through memory)."""
        n, buf, decay, csr = self.params.n_units, self._buf, self._decay, self._csr
        wa = self._Wa if csr is None else None
        v, r = self._v, self._r
        m = np.empty((self.n_replicas, n, 1), self.dtype) if csr is None else None
        tanh = self.params.activation == "tanh"
        traces = type(self)._trace_step is not RateCortex._trace_step  # skip the no-op call per step
        all_on = active.all(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are caught below
            for j in range(active.shape[1]):
                d = drive(j)
                if csr is None:
                    rec = np.matmul(wa, r[:, :, None], out=m)[..., 0]
                else:
                    rec = (csr @ r.reshape(-1)).reshape(r.shape)
                if all_on[j]:
                    v *= decay
                    v += rec
                    v += d
                    a = None
                else:
                    a = active[:, j]
                    v = np.where(a[:, None], decay * v + rec + d, v)
                out = buf[:, j0 + j, :n]
                if tanh:
                    np.tanh(v, out=out)
                else:
                    np.copyto(out, v)
                if traces:
                    self._trace_step(j0 + j, r, buf[:, j0 + j], a)
                r = out
                if check and not np.isfinite(v).all():
                    raise NumericalError(step0 + j, STATE, nonfinite_replicas(v))
        self._v, self._r = v, r.copy()

    def _advance(self, drive: Callable[[int], np.ndarray], x_held: np.ndarray, active: np.ndarray, j0: int,
                 step0: int) -> np.ndarray:
        """Run a block (step0 = global step of its first row; ``drive`` as in ``_loop``); returns
        its features (K, b, F)."""
        n, b = self.params.n_units, active.shape[1]
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

    def _state_loaded(self) -> None:
        """After ``load_state``: the leak-folded weights follow the loaded W, U and b."""
        self._fold_leak()

    # ------------------------------------------------------------------------------- learning
    def _plastic_update(self, feats, raw, targets, known, j0: int) -> None:
        """Hook for plastic recurrent weights (e-prop); a fixed reservoir learns nothing here."""

    # ------------------------------------------------------------------------------- open loop
    def run_sequence(self, inputs: np.ndarray, active: np.ndarray | None = None,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Feed symbols (K, T) int; ``active`` (K, T) bool, False = padding (changes nothing);
        ``plasticity`` (K, T) in [0, 1]: per-step weight of the learning (``Cortex.run_sequence``;
        e-prop's recurrent and input updates are weighted like the readout's rows).

        Returns probs (K, T, n_inputs): predicted distribution of the next symbol after each step
        (padding steps repeat the last prediction), and activity (K, T, sample_units).
        """
        self._ready()
        inputs, active = self.sequence_inputs(inputs, active)
        plasticity = self.sequence_plasticity(plasticity, inputs.shape)
        k, t_len = inputs.shape
        replicas = np.arange(k)
        kk = replicas[:, None]
        x_held = one_hot(inputs, self.n_inputs, self.dtype)  # also validates the symbol range
        if not active.all():  # a padding step keeps the last active input
            last = last_active(active)
            fill = np.where((last >= 0)[..., None], x_held[kk, np.maximum(last, 0)], self._x[:, None])
            x_held = np.where(active[..., None], x_held, fill)
        activity = np.empty((k, t_len, len(self.sample)), self.dtype)
        step0 = self._step

        def features(s: int, e: int) -> np.ndarray:
            block, ua, ba = inputs[:, s:e], self._Ua, self._ba  # the block's weights (e-prop changes them after it)
            feats = self._advance(lambda j: ua[replicas, block[:, j]] + ba, x_held[:, s:e], active[:, s:e], 0, step0 + s)
            activity[:, s:e] = feats[:, :, self.sample]
            return feats

        probs = self.predictor.run(inputs, active, self._plastic, step0, self.params.block_steps, features, plasticity)
        self._step += t_len
        return SequenceOutput(probs=probs, activity=activity)

    # ----------------------------------------------------------------------------- closed loop
    def run(self, steps: int, exchange: ExchangeFn, first_inputs: np.ndarray) -> None:
        """Closed loop for ``steps`` steps. Input vectors are (K, n_inputs) floats (cortex.encoding).

        Each step: update the state with the input, emit a CortexOutput, call ``exchange``, let the
        heads learn, and continue with ``ex.inputs``. A replica whose ``ex.done`` is set stays frozen
        for the rest of this call; ``ex.modulators.plastic`` gates learning per replica.
        """
        self._ready()
        k, n_in = self.n_replicas, self.n_inputs
        x = np.asarray(first_inputs, self.dtype).reshape(k, n_in)
        loop = ClosedLoopLearner(self.predictor, self.heads, self._plastic, k, self.n_features,
                                 self.params.block_steps, self._step)
        for t in range(steps):
            on = loop.running
            x = np.where(on[:, None], x, self._x)
            drive = np.matmul(x[:, None, :], self._Ua) + self._ba[:, None]
            feats = self._advance(lambda j: drive[:, j], x[:, None], on[:, None], loop.row, loop.step)[:, 0]
            out = loop.output(feats, feats.copy(), feats[:, self.sample].copy())
            ex = exchange(t, out)
            loop.answer(ex, feats, feats.copy())
            x = np.asarray(ex.inputs, self.dtype)
        loop.finish()
        self._step = loop.step


def _block_diagonal(parts: list[scipy.sparse.csr_array], leak: np.ndarray) -> scipy.sparse.csr_array:
    """One CSR matrix holding each replica's W (N, N) on the diagonal, rows scaled by the leak
    rates a_i (in ``leak``'s dtype), with 32-bit indices where they fit."""
    n = parts[0].shape[0]
    index = _index_dtype(sum(w.nnz for w in parts), len(parts) * n)
    rows = np.repeat(np.arange(n), np.diff(parts[0].indptr))  # the same in-degree in every replica
    data = np.concatenate([leak[rows] * w.data.astype(leak.dtype) for w in parts])
    indices = np.concatenate([w.indices.astype(index) + index(r * n) for r, w in enumerate(parts)])
    indptr = np.concatenate([[0]] + [w.indptr[1:].astype(index) + index(r * w.nnz) for r, w in enumerate(parts)]).astype(index)
    return scipy.sparse.csr_array((data, indices, indptr), shape=(len(parts) * n,) * 2)


def _index_dtype(nnz: int, size: int):
    """32-bit CSR indices where they fit (scipy's own choice), 64-bit otherwise."""
    return np.int32 if max(nnz, size) < 2**31 else np.int64
