"""The ``eprop`` rate cortex: the reservoir's dynamics, with recurrent and input weights learning online.

Why e-prop (Bellec et al. 2020, "A solution to the learning dilemma for recurrent networks of
spiking neurons", Nat. Commun. 11:3625). It is the standard *online, local* approximation of the
gradient of a recurrent network's loss: each synapse keeps an eligibility trace, computed forward in
time from quantities available at the synapse (presynaptic rate, postsynaptic state), and changes
by trace x learning signal, where the learning signal is the output error broadcast to each unit.
That is a three-factor rule, the form the framework assumes for cortex (Fremaux & Gerstner 2016),
and it carries over unchanged to the spiking backend. The broadcast goes through fixed random
feedback weights B (random e-prop / feedback alignment), so no unit needs to know the readout
weights. The alternatives do not fit a continuously streaming, generic cortex: backpropagation
through time needs the stored history and a truncation point, real-time recurrent learning costs
O(N^4) per step, FORCE-style methods need an N x N matrix per unit. e-prop costs O(N^2) per step,
the same order as the recurrence itself, and stores nothing but the traces.

Derivation for our units. With v_i <- (1 - a_i) v_i + a_i (sum_j W_ij r_j + sum_k U_ik x_k + b_i),
keeping only the unit's own dependence on its past (the e-prop approximation),

    dv_i,t / dW_ij = (1 - a_i) dv_i,t-1 / dW_ij + a_i r_j,t-1 =: eps_{g(i), j, t},

which depends on i only through its leak rate: one presynaptic trace per time-constant group
g suffices (G x N numbers instead of N x N). The update, summed over a block of steps, is

    dW_ij = -lr_recurrent * sum_t L_i,t f'(v_i,t) eps_{g(i), j, t},   L_t = B (y_hat_t - y_t),

with y_hat_t the readout's a-priori prediction and y_t the input that then arrived (for RLS this is
the squared-error gradient, for the softmax delta readout the cross-entropy one). Input weights use
the same rule with presynaptic trace a_i-filtered x. Updates are applied at the end of each block,
which is the delay e-prop itself allows; only existing connections change (sparsity is kept, and units
without input synapses stay without), and
the pair that straddles two ``run_sequence`` calls trains the readout only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.rate import reservoir as rsv
from cortex.rate.core import RateCortex
from cortex.rate.params import EpropParams


class EpropCortex(RateCortex):
    """Rate cortex whose recurrent and input weights learn by random e-prop (see module docstring)."""

    state_attrs = RateCortex.state_attrs + ("_eps", "_eps_in")  # plus the presynaptic traces

    params: EpropParams

    def reset(self, seeds: Sequence[int]) -> None:
        """Rebuild everything from ``seeds`` (one per replica), including the feedback weights."""
        super().reset(seeds)
        p, k, n, dt = self.params, self.n_replicas, self.params.n_units, self.dtype
        g, blk = len(self.group_leak), p.block_steps
        fb = rsv.stack(lambda s: rsv.feedback_weights(n, self.n_inputs, p.feedback_scale, s), seeds, dt)
        self._Bt = np.ascontiguousarray(fb.transpose(0, 2, 1))  # (K, n_out, N)
        self._mask = (self._W != 0).astype(dt)
        self._input_rows = rsv.input_units(p)  # units without input synapses never grow them
        self._gleak = self.group_leak.astype(dt)[None, :, None]
        self._gdecay = (1.0 - self.group_leak).astype(dt)[None, :, None]
        self._eps = np.zeros((k, g, n), dt)
        self._eps_in = np.zeros((k, g, self.n_inputs), dt)
        self._eps_buf = np.zeros((k, g, blk, n), dt)
        self._eps_in_buf = np.zeros((k, g, blk, self.n_inputs), dt)

    def _snapshot(self) -> tuple:
        return super()._snapshot() + (self._eps.copy(), self._eps_in.copy())

    def _restore(self, snap: tuple) -> None:
        super()._restore(snap[:3])
        self._eps, self._eps_in = snap[3].copy(), snap[4].copy()

    def _trace_step(self, j, r_prev, row, active) -> None:
        """Presynaptic traces per time-constant group: eps <- (1 - a_g) eps + a_g * input."""
        n = self.params.n_units
        eps = self._gdecay * self._eps + self._gleak * r_prev[:, None, :]
        eps_in = self._gdecay * self._eps_in + self._gleak * row[:, None, n:n + self.n_inputs]
        if active is not None:  # padding: traces stay as they were
            eps = np.where(active[:, None, None], eps, self._eps)
            eps_in = np.where(active[:, None, None], eps_in, self._eps_in)
        self._eps, self._eps_in = eps, eps_in
        self._eps_buf[:, :, j] = eps
        self._eps_in_buf[:, :, j] = eps_in

    def _plastic_update(self, feats, raw, targets, known, j0: int) -> None:
        """Apply the block's summed e-prop update to W and U (rows with ``known`` False add nothing)."""
        p, n, b = self.params, self.params.n_units, feats.shape[1]
        err = (raw - targets) * known[..., None]
        signal = np.matmul(err, self._Bt)  # learning signal L (K, b, N)
        if p.activation == "tanh":
            r = feats[..., :n]
            signal *= 1.0 - r * r
        d_w = np.empty_like(self._W)
        d_u = np.empty_like(self._U)
        for g, units in enumerate(self.group_slices):
            post = signal[:, :, units].transpose(0, 2, 1)  # (K, n_g, b)
            np.matmul(post, self._eps_buf[:, g, j0:j0 + b], out=d_w[:, units])
            np.matmul(post, self._eps_in_buf[:, g, j0:j0 + b], out=d_u[:, units])
        d_w *= self._mask
        d_u[:, self._input_rows:] = 0.0
        self._W -= p.lr_recurrent * d_w
        self._U -= p.lr_input * d_u
        self._fold_leak()
