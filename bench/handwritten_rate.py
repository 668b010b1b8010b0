"""Hand-written numpy baseline: the rate cortex's reservoir and RLS readout as a plain script.

The math of ``RateCortex.run_sequence`` for one network, written the way one would by hand, with
no framework: leaky tanh units, v <- (1 - a) v + a (W r + U x + b), r = tanh(v); features
f_t = [r_t, one_hot(x_t), 1]; a recursive-least-squares readout of the next symbol, learned every
``block`` steps as one block update (Cholesky of the block's B x B matrix, the same BLAS symm/syrk
on the lower triangle of P), optionally on a sparse random projection z = [M f, 1] of the features
(the projected readout); predictions projected onto the probability simplex and floored. It
does not import ``cortex``: ``bench/rate_cortex.py`` passes in the cortex's own W, U, b and leak
rates, checks that both give the same predictions, and times one against the other.

The pair that spans two calls is learned as the cortex learns it: the last step of a call waits,
and its target (the next call's first symbol) is learned alone at the start of that call (a
one-row update: two passes over P). Not covered (bookkeeping only): padding steps, NaN checks.

Usage: python bench/handwritten_rate.py [--units 1024] [--steps 1024]  (prints one JSON object)
"""
from __future__ import annotations

import argparse
import json
import os
import time

# one BLAS thread unless set, as for `neurosteer run` (threaded BLAS on a busy machine spins)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
from scipy.linalg import get_blas_funcs  # noqa: E402


def simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of v onto the probability simplex."""
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    rho = np.count_nonzero(u - css / np.arange(1, v.shape[1] + 1) > 0, axis=1)
    tau = css[np.arange(len(v)), rho - 1] / rho
    return np.maximum(v - tau[:, None], 0.0)


def reservoir(w, u, b, leak, sparse: bool, block: int = 64, reg: float = 1.0, floor: float = 1e-3, projection=None):
    """A network from W (N, N; dense, or already CSR), U (N, n_in), b (N,), leak rates a (N,),
    all of one dtype; ``sparse``: keep W as CSR. ``projection`` (optional CSR (D, F)): learn the
    readout on z = [M f, 1] instead of f (the projected readout). ``reg``: the ridge lambda.
    Returns ``run(symbols (T,) int) -> probs (T, n_in)``, which carries the state and the readout
    from one call to the next."""
    dt = u.dtype
    n, n_in = u.shape
    n_feat = n + n_in + 1
    if scipy.sparse.issparse(w):  # a_i folded into W's rows
        wa = w.copy()
        wa.data *= np.repeat(leak, np.diff(w.indptr))
    else:  # a_i folded into W, U and b: one product per step
        wa = leak[:, None] * w
        wa = scipy.sparse.csr_array(wa) if sparse else wa
    ua = np.ascontiguousarray((leak[:, None] * u).T)  # one row per symbol
    ba, decay = leak * b, 1.0 - leak
    eye = np.eye(n_in, dtype=dt)
    floor = min(floor, 0.5 / n_in)
    n_fit = n_feat if projection is None else projection.shape[0] + 1  # what the RLS learns on
    chunk = max(8, n_fit // 4)  # keep the B x B work small next to the F x F work
    symm, syrk = get_blas_funcs(("symm", "syrk"), dtype=dt)
    state = {"v": np.zeros(n, dt), "r": np.zeros(n, dt)}
    W_out = np.zeros((n_fit, n_in), dt)
    P = np.eye(n_fit, dtype=dt) / reg  # only its lower triangle is kept up to date
    feats = np.empty((block, n_feat), dt)
    feats[:, -1] = 1.0
    z = np.ones((block, n_fit), dt)

    def learn(X, Y):
        """Rows of X learned in order (as sequential RLS would); their a-priori predictions."""
        G = symm(1.0, P.T, X.T, side=0, lower=0).T  # X P from P's lower triangle
        S = G @ X.T
        S[np.diag_indices_from(S)] += 1.0
        C = np.linalg.cholesky(S)
        Ci = np.linalg.inv(C)
        H, Z = Ci @ G, Ci @ (Y - X @ W_out)
        W_out[...] += H.T @ Z
        syrk(-1.0, H.T, beta=1.0, c=P.T, trans=0, lower=0, overwrite_c=1)  # P -= H^T H
        return Y - np.diag(C)[:, None] * Z

    def run(symbols: np.ndarray) -> np.ndarray:
        t_len = len(symbols)
        probs = np.empty((t_len, n_in), dt)
        v, r = state["v"], state["r"]
        if "pending" in state:  # the previous call's last row, whose target is this call's first symbol
            learn(state.pop("pending")[None], eye[symbols[:1]])
        for s in range(0, t_len, block):
            x = symbols[s:s + block]
            m = len(x)
            for j in range(m):
                v *= decay
                v += wa @ r
                v += ua[x[j]] + ba
                r = np.tanh(v, out=feats[j, :n])
            r = r.copy()  # feats is overwritten by the next block
            feats[:m, n:n + n_in] = eye[x]
            fit = feats
            if projection is not None:
                z[:m, :-1] = (projection @ feats[:m].T).T
                fit = z
            known = m if s + m < t_len else m - 1  # the last step's target comes after this call
            raw = np.empty((m, n_in), dt)
            for c in range(0, known, chunk):
                e = min(c + chunk, known)
                raw[c:e] = learn(fit[c:e], eye[symbols[s + c + 1:s + e + 1]])
            raw[known:] = fit[known:m] @ W_out
            probs[s:s + m] = simplex(raw) * (1.0 - n_in * floor) + floor
        state["v"], state["r"], state["pending"] = v, r, fit[m - 1].copy()
        return probs

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=1024)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n, n_in = args.units, 8
    w = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.1) / np.sqrt(0.1 * n)
    run = reservoir(w, 3 * rng.standard_normal((n, n_in)), 0.5 * rng.standard_normal(n), np.full(n, 0.5), sparse=True)
    symbols = rng.integers(0, n_in, args.steps)
    run(symbols)  # warm-up: first calls into BLAS and LAPACK
    start = time.perf_counter()
    probs = run(symbols)
    wall = time.perf_counter() - start
    print(json.dumps({"steps_per_s": round(args.steps / wall), "mean_prob_of_next": float(probs[np.arange(args.steps - 1), symbols[1:]].mean())}))


if __name__ == "__main__":
    main()
