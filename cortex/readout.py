"""Online predictive readouts on feature matrices, shared by every model (``cortex.learning`` drives them).

A readout maps features (K, ..., F) to an estimate of the next input (K, ..., n_out) and learns
online from (features, target) pairs. The rate models feed unit activities, the spiking one
filtered spike trains, the control the input itself. Learning is called on *blocks* of B consecutive pairs so that the
expensive work runs as matrix-matrix products instead of B matrix-vector products.

``RLSReadout``: recursive least squares (ridge regression solved online, optional exponential
forgetting). Block update: B sequential RLS steps equal one Kalman update of a static weight
vector observed B times, with observation noise lambda^c for the c-th active row. With
S = X P X^T + diag(lambda^c) = C C^T (Cholesky),

    W <- W + H^T Z,   P <- (P - H^T H) / lambda^B,   H = C^-1 X P,   Z = C^-1 (Y - X W),

and the a-priori errors of the sequential algorithm are diag(C) * Z, because C is lower triangular
(row j depends on rows <= j only). So the final weights *and* each row's prediction (made before its
target was learned) equal those of sequential RLS, within float tolerance, at about 3 F^2 flops per
row in BLAS-3. Inactive rows are zeroed, which makes them exact no-ops. Blocks longer than F / 4
rows are split, so that the B x B work (Cholesky, inverse) stays small next to the F x F work.
Estimates become distributions by Euclidean projection onto the probability simplex.

``DeltaReadout``: softmax output trained by the online cross-entropy delta rule, normalised by the
squared feature norm (NLMS) so that one learning rate suits any feature size. Within a block the
predictions use the block-start weights and the B gradients are summed (B = 1 is purely online).
"""
from __future__ import annotations

import copy
import warnings
from typing import Literal

import numpy as np
import scipy.sparse
from pydantic import Field
from scipy.linalg import get_blas_funcs

from cortex.base import NumericalError, NumericalWarning, nonfinite_replicas
from cortex.params import Params

WEIGHTS = "readout weights"   # what a NumericalError of a readout's learning names


class ReadoutParams(Params):
    """Predictive readout of the next input, shared by every model."""

    kind: Literal["rls", "delta", "projected_rls"] = Field("rls", description="readout learning rule: 'rls' (recursive least squares), 'delta' (softmax, cross-entropy delta rule) or 'projected_rls' (RLS on a fixed sparse random projection of all features to dim dimensions: memory K (dim + 1)^2 instead of K F^2, for large cortices)")
    rls_reg: float | None = Field(None, gt=0, le=1e8, description="RLS ridge regularisation lambda: the inverse correlation matrix starts as identity / lambda; null: rls_reg_per_feature x the number of features")
    rls_reg_per_feature: float = Field(1e-3, gt=0, le=1e4, description="RLS ridge per feature, used when rls_reg is null: lambda grows with the number of features, so the ridge keeps its strength against the features' summed square as the cortex grows (a fixed lambda regularises a bigger cortex less, and it overfits)")
    rls_forget: float = Field(1.0, ge=0.9, le=1.0, description="RLS forgetting factor per learned step (1 = remember everything; 0.999 ~ a 1,000-step memory)")
    delta_lr: float = Field(0.1, gt=0, le=10, description="delta-rule learning rate, per step, normalised by the squared feature norm")
    prob_floor: float = Field(1e-3, ge=0, le=0.1, description="probability mixed into every symbol so none is ever impossible (capped at 0.5 / number of symbols)")
    dim: int = Field(1024, ge=1, le=16384, description="projected_rls: number of projected dimensions D (with no more features than this, the projection is the identity and the readout is plain RLS)")
    fanout: int = Field(4, ge=1, le=64, description="projected_rls: projected dimensions each feature feeds (sparse projection: every unit influences the prediction, at memory and cost O(F * fanout))")


    def ridge(self, n_features: int) -> float:
        """The RLS ridge lambda for a readout of ``n_features`` features."""
        return self.rls_reg if self.rls_reg is not None else self.rls_reg_per_feature * n_features


# BLAS routines per dtype, looked up once (kept off the instances so that readouts pickle)
_SYMM_SYRK = {np.dtype(t): get_blas_funcs(("symm", "syrk"), dtype=t) for t in (np.float32, np.float64)}


def _simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row (last axis) onto the probability simplex.

    The nearest distribution to a regression estimate: p = max(v - tau, 0), with tau such that
    the row sums to 1. Unlike clipping negatives and renormalising, it does not let the small
    positive errors of every impossible symbol pile up into real probability mass.
    """
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    j = np.arange(1, v.shape[-1] + 1, dtype=v.dtype)
    rho = np.count_nonzero(u - css / j > 0, axis=-1)  # the condition holds for a prefix of j
    tau = np.take_along_axis(css, np.maximum(rho, 1)[..., None] - 1, axis=-1) / np.maximum(rho, 1)[..., None]
    return np.maximum(v - tau, 0.0)


def _floor(p: np.ndarray, floor: float) -> np.ndarray:
    """Mix a distribution with ``floor`` per symbol so that no symbol is impossible."""
    n = p.shape[-1]
    floor = min(floor, 0.5 / n)
    return p * (1.0 - n * floor) + floor


class RLSReadout:
    """Linear readout trained by recursive least squares, one P matrix per replica.

    n_replicas: K; n_features: F; n_outputs: number of predicted values. Weights start at zero and
    P at identity / lambda (``ridge``; default ``params.ridge(F)``). Memory: K F^2 floats. P is symmetric, so only its lower triangle is
    kept up to date (BLAS symm and in-place syrk: a quarter fewer flops, no F x F temporary).
    """

    state_attrs = ("weights", "P")  # saved state (cortex.base.capture_state)

    def __init__(self, n_replicas: int, n_features: int, n_outputs: int, params: ReadoutParams, dtype=np.float64,
                 ridge: float | None = None):
        self.params = params
        self.dtype = np.dtype(dtype)
        ridge = params.ridge(n_features) if ridge is None else ridge
        self.weights = np.zeros((n_replicas, n_features, n_outputs), dtype=self.dtype)
        self.P = np.zeros((n_replicas, n_features, n_features), dtype=self.dtype)  # no F x F temporary
        diagonal = np.arange(n_features)
        self.P[:, diagonal, diagonal] = self.dtype.type(1) / self.dtype.type(ridge)
        self.repairs = 0  # times P's positive definiteness had to be restored (see _repair)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Regression estimate of the target: (K, F) -> (K, n_out) or (K, B, F) -> (K, B, n_out)."""
        if features.ndim == 2:
            return np.matmul(features[:, None, :], self.weights)[:, 0]
        return np.matmul(features, self.weights)

    def distribution(self, raw: np.ndarray) -> np.ndarray:
        """Turn ``predict`` output into a distribution over the last axis: the nearest point of
        the probability simplex, mixed with ``prob_floor`` per symbol."""
        return _floor(_simplex(raw), self.params.prob_floor)

    def learn(self, features: np.ndarray, targets: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Learn B consecutive rows per replica, in order; rows with ``active`` False change nothing.

        features (K, B, F), targets (K, B, n_out), active (K, B) bool, or float sample weights
        w in [0, 1] (weighted least squares: row x with weight w is the row sqrt(w) x with
        target sqrt(w) y, so its gain is w P x / (lambda + w x'P x); w = 0 changes nothing).
        Returns the a-priori predictions (K, B, n_out): each active row predicted with the weights
        learned from the rows before it (exactly as sequential RLS); with bool ``active``, inactive
        rows with the block-start weights; with weights, every row (weight 0 included) a priori.
        Raises NumericalError(row, WEIGHTS, replicas) at the first row that produces a non-finite value.
        """
        features = np.asarray(features, dtype=self.dtype)  # BLAS below works in place: one dtype
        targets = np.asarray(targets, dtype=self.dtype)
        active = np.asarray(active)
        active = active.astype(self.dtype) if active.dtype.kind == "f" else active.astype(bool)
        rows = max(8, features.shape[-1] // 4)
        if features.shape[1] > rows:  # keep the B x B work (Cholesky, inverse) small next to F^2 B
            parts = []
            for s in range(0, features.shape[1], rows):
                try:
                    parts.append(self.learn(features[:, s:s + rows], targets[:, s:s + rows], active[:, s:s + rows]))
                except NumericalError as err:
                    raise NumericalError(s + err.step, err.where, err.replicas) from None
            return np.concatenate(parts, axis=1)
        out = self._block(features, targets, active, commit=True)
        if out is None and self._repair():  # P had lost positive definiteness: retry the block once
            out = self._block(features, targets, active, commit=True)
        if out is not None:
            return out
        # No weights were committed (P may have been repaired). Find the shortest failing prefix: the
        # rows of a prefix give the same numbers as a run cut short there, so the error names the same row.
        good, bad = 0, features.shape[1]
        while bad - good > 1:
            mid = (good + bad) // 2
            if self._block(features[:, :mid], targets[:, :mid], active[:, :mid], commit=False) is None:
                bad = mid
            else:
                good = mid
        raise NumericalError(bad - 1, WEIGHTS, self._failing(features[:, :bad], targets[:, :bad], active[:, :bad]))

    def _repair(self) -> bool:
        """Put back the positive definiteness that round-off can take from P; True if it had to.

        P's eigenvalues span 1/lambda (directions the features never excite) down to about
        1/(steps x feature variance): past ~10^7 that is beyond float32's precision, and the
        downdate P -= H'H can leave an eigenvalue below zero (seen at 16 units after ~30,000 steps;
        the gain then explodes). Only a replica whose P has an eigenvalue below -1e-4 x its largest
        (far past round-off) is repaired, so the others' trajectories never depend on it: its
        negative eigenvalues are set to its smallest positive one, which makes P a covariance
        again with its eigenvectors and every other eigenvalue kept. ``repairs`` counts them; each
        raises a NumericalWarning, which the runner lists in the run's meta.json."""
        fixed = False
        for k in range(len(self.P)):
            lower = np.tril(self.P[k]).astype(np.float64)
            vals, vecs = np.linalg.eigh(lower + np.tril(lower, -1).T)
            if vals.min() >= -1e-4 * np.abs(vals).max():
                continue
            positive = vals[vals > 0]
            vals = np.maximum(vals, positive.min() if positive.size else 1.0 / self.params.ridge(len(vals)))
            self.P[k] = (vecs * vals) @ vecs.T
            self.repairs += 1
            fixed = True
            warnings.warn(f"RLS readout: P of replica {k} had lost positive definiteness ({self.dtype} round-off) "
                          f"and was restored (repair {self.repairs})", NumericalWarning, stacklevel=2)
        return fixed

    def _failing(self, features, targets, active) -> tuple[int, ...]:
        """Replicas whose own update of this block is non-finite (a diagnosis for the error)."""
        out = []
        for k in range(len(features)):
            one = copy.copy(self)
            one.P, one.weights = self.P[k:k + 1].copy(), self.weights[k:k + 1].copy()
            if one._block(features[k:k + 1], targets[k:k + 1], active[k:k + 1], commit=False) is None:
                out.append(k)
        return tuple(out)

    def _block(self, features, targets, active, commit: bool):
        """One block update, kept only if ``commit``; returns None if anything is non-finite."""
        lam = self.params.rls_forget
        base = self.predict(features)
        weighted = active.dtype != bool
        mask = (np.sqrt(active) if weighted else active.astype(self.dtype))[..., None]
        learned = active > 0 if weighted else active
        X = features * mask
        resid = (targets - base) * mask
        n_rows = features.shape[1]
        symm, syrk = _SYMM_SYRK[self.dtype]
        with np.errstate(over="ignore", invalid="ignore"):
            G = np.empty_like(X)
            for k in range(len(X)):  # G = X P; P[k].T is P's Fortran view, its upper part valid
                symm(1.0, self.P[k].T, X[k].T, beta=0.0, c=G[k].T, side=0, lower=0, overwrite_c=1)
            if weighted:  # U[i, j] = x'_i P x_j against the unscaled rows: S from it, and the predictions
                U = np.matmul(G, features.transpose(0, 2, 1))
                S = U * mask[..., 0][:, None, :]
            else:
                S = np.matmul(G, X.transpose(0, 2, 1))
            count = np.cumsum(learned, axis=1)
            idx = np.arange(n_rows)
            # x'P x < 0 (beyond round-off) means P is no longer positive definite: fail, so that
            # learn() repairs P before that row's gain (1 / (1 + x'P x)) blows up
            scale = np.einsum("kbf,kbf->kb", X, X) * np.abs(np.diagonal(self.P, axis1=1, axis2=2)).max(1)[:, None]
            if (S[:, idx, idx] < -1e-3 * scale).any():
                return None
            S[:, idx, idx] += lam ** count if lam < 1 else 1.0
            if not np.isfinite(S.sum()):
                return None
            try:
                C = np.linalg.cholesky(S)
            except np.linalg.LinAlgError:
                return None
            Ci = np.linalg.inv(C)  # B x B only; two gemms beat a batched triangular solve here
            H = np.matmul(Ci, G)
            Z = np.matmul(Ci, resid)
            if not (np.isfinite(Z.sum()) and np.isfinite(np.einsum("kbf,kbf->", H, H))):
                return None
            innovation = C[:, idx, idx][..., None] * Z
            if not commit:
                return innovation
            self.weights += np.matmul(H.transpose(0, 2, 1), Z)
            for k in range(len(H)):  # P -= H^T H in place, lower triangle only
                syrk(-1.0, H[k].T, beta=1.0, c=self.P[k].T, trans=0, lower=0, overwrite_c=1)
            if weighted:  # row j a priori: base_j + sum_{i<j} (x_j . H_i) Z_i, with x_j . H_i = (C^-1 U)[i, j]
                M = np.triu(np.matmul(Ci, U), 1)
                prior = base + np.matmul(M.transpose(0, 2, 1), Z)
        if lam < 1:
            self.P /= (lam ** count[:, -1])[:, None, None]
        if weighted:
            return prior
        return np.where(active[..., None], targets - innovation, base)


class DeltaReadout:
    """Softmax readout trained by the online cross-entropy delta rule (NLMS-normalised).

    n_replicas: K; n_features: F; n_outputs: alphabet size. Weights start at zero (uniform output).
    """

    state_attrs = ("weights",)  # saved state (cortex.base.capture_state)

    def __init__(self, n_replicas: int, n_features: int, n_outputs: int, params: ReadoutParams, dtype=np.float64):
        self.params = params
        self.dtype = np.dtype(dtype)
        self.weights = np.zeros((n_replicas, n_features, n_outputs), dtype=self.dtype)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Softmax probabilities: (K, F) -> (K, n_out) or (K, B, F) -> (K, B, n_out)."""
        squeeze = features.ndim == 2
        z = np.matmul(features[:, None, :] if squeeze else features, self.weights)
        z -= z.max(axis=-1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=-1, keepdims=True)
        return z[:, 0] if squeeze else z

    def distribution(self, raw: np.ndarray) -> np.ndarray:
        """Apply the probability floor to ``predict`` output (already a distribution)."""
        return _floor(raw, self.params.prob_floor)

    def learn(self, features: np.ndarray, targets: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Learn a block: features (K, B, F), targets (K, B, n_out), active (K, B) bool or float
        weights in [0, 1] (each row's step scaled by its weight).

        Returns the predictions made with the block-start weights (K, B, n_out).
        Raises NumericalError(row, WEIGHTS, replicas) if the update is non-finite (row = first bad row).
        """
        p = self.predict(features)
        norm = np.einsum("kbf,kbf->kb", features, features) + 1.0
        err = (targets - p) * (np.asarray(active) / norm)[..., None]
        with np.errstate(over="ignore", invalid="ignore"):
            step = self.params.delta_lr * np.matmul(features.transpose(0, 2, 1), err)
        if not np.isfinite(step.sum()):
            bad = ~np.isfinite(err).all(axis=(0, 2)) | ~np.isfinite(features).all(axis=(0, 2))
            raise NumericalError(int(np.argmax(bad)) if bad.any() else 0, WEIGHTS, nonfinite_replicas(step))
        self.weights += step
        return p


class ProjectedRLSReadout:
    """RLS on a fixed sparse random projection of the features, for cortices too big for full RLS.

    z = [M f, 1], with M (D, F) drawn once per replica from its seed: each feature feeds
    ``fanout`` of the D dimensions with weight +-1 / sqrt(fanout), so every unit can move the
    prediction and ||M f|| ~ ||f|| (the ridge keeps its meaning); the constant 1 keeps a bias
    that no projection mixes away. RLS (:class:`RLSReadout`) then learns on z. The learned
    readout is W_f = M^T W_z: ridge regression restricted to the D-dimensional span of M's rows.

    Per replica: memory (D + 1)^2 + (D + 1) n_out floats (P, weights) and F * fanout values with
    32-bit indices (M), instead of F^2; cost per learned row about 3 (D + 1)^2 + 2 F fanout flops,
    instead of 3 F^2. With F <= D there is nothing to gain: M is left out and this is plain RLS.
    """

    state_attrs = ("rls",)  # saved state (cortex.base.capture_state); the projection is drawn from the seeds

    def __init__(self, n_replicas: int, n_features: int, n_outputs: int, params: ReadoutParams,
                 dtype=np.float64, seeds=None):
        self.params = params
        self.dtype = np.dtype(dtype)
        self.projection = None
        if n_features > params.dim:
            if seeds is None or len(seeds) != n_replicas:
                raise ValueError("projected_rls draws each replica's projection from its seed: pass one seed per replica")
            self.projection = _projection([projection_matrix(n_features, params.dim, params.fanout, s) for s in seeds], self.dtype)
        # the ridge of the features' own count: ||M f|| ~ ||f||, so the projection keeps their scale
        self.rls = RLSReadout(n_replicas, n_features if self.projection is None else params.dim + 1, n_outputs, params,
                              dtype, ridge=params.ridge(n_features))

    def project(self, features: np.ndarray) -> np.ndarray:
        """(K, F) -> (K, D + 1) or (K, B, F) -> (K, B, D + 1): what the inner RLS sees."""
        if self.projection is None:
            return features
        squeeze = features.ndim == 2
        x = features[:, None] if squeeze else features
        k, b, f = x.shape
        z = np.empty((k, b, self.params.dim + 1), self.dtype)
        z[..., -1] = 1.0
        stacked = np.ascontiguousarray(np.asarray(x, self.dtype).transpose(0, 2, 1)).reshape(k * f, b)
        z[..., :-1] = (self.projection @ stacked).reshape(k, self.params.dim, b).transpose(0, 2, 1)
        return z[:, 0] if squeeze else z

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Regression estimate of the target: (K, F) -> (K, n_out) or (K, B, F) -> (K, B, n_out)."""
        return self.rls.predict(self.project(features))

    def distribution(self, raw: np.ndarray) -> np.ndarray:
        """As :meth:`RLSReadout.distribution`."""
        return self.rls.distribution(raw)

    def learn(self, features: np.ndarray, targets: np.ndarray, active: np.ndarray) -> np.ndarray:
        """As :meth:`RLSReadout.learn`, on the projected features."""
        return self.rls.learn(self.project(features), targets, active)


def projection_matrix(n_features: int, dim: int, fanout: int, seed: int):
    """M (dim, n_features): column j has ``fanout`` entries +-1/sqrt(fanout) in random rows
    (a repeated row sums its entries). Drawn from the seed's readout stream alone."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), PROJECTION_STREAM]))
    rows = rng.integers(0, dim, (n_features, fanout))
    values = rng.choice(np.array([-1.0, 1.0]), (n_features, fanout)) / np.sqrt(fanout)
    cols = np.repeat(np.arange(n_features), fanout)
    return scipy.sparse.coo_array((values.ravel(), (rows.ravel(), cols)), shape=(dim, n_features)).tocsr()


def _projection(parts: list, dtype):
    """The replicas' projections as one block-diagonal CSR matrix (32-bit indices), in ``dtype``."""
    m = scipy.sparse.block_diag(parts, format="csr").astype(dtype)
    m.indices, m.indptr = m.indices.astype(np.int32), m.indptr.astype(np.int32)
    return m


#: SeedSequence([seed, PROJECTION_STREAM]) draws a projected readout's M; the models' own
#: components use small ids (cortex.rate.reservoir.COMPONENTS), so the streams never coincide
PROJECTION_STREAM = 1000

READOUTS = {"rls": RLSReadout, "delta": DeltaReadout, "projected_rls": ProjectedRLSReadout}


def make_readout(params: ReadoutParams, n_replicas: int, n_features: int, n_outputs: int, dtype=np.float64,
                 seeds=None):
    """Build the readout named by ``params.kind`` (zero weights). ``seeds`` (one per replica):
    the randomness of readouts that have some (projected_rls's projection)."""
    cls = READOUTS[params.kind]
    if cls is ProjectedRLSReadout:
        return cls(n_replicas, n_features, n_outputs, params, dtype, seeds)
    return cls(n_replicas, n_features, n_outputs, params, dtype)
