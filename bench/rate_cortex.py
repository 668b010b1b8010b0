"""Throughput and memory of the rate cortex against like-for-like numpy baselines; prints one JSON object.

Every ratio is of steps per second, cortex / baseline (1 = as fast as the baseline), with the
same W (the cortex's own, replica seed 0), the same W representation (CSR where the cortex stores
W sparse) and the same dtype (``--dtype``) on both sides. Sizes (:data:`SIZES`): 1,024 and 4,096
units with a fixed in-degree W and full RLS; 16,384 and 65,536 with a fixed in-degree W and the
projected readout (``projected_rls``, dim 1,024), the way a study reaches those sizes.

- ``full_vs_bare[n]``: the full reservoir cortex (``run_sequence``, plastic, one replica) against
  the bare recurrence ``tanh(W h + U[:, x])``: what learning and the readout cost on top of the
  recurrence. ``dense_w_vs_bare`` is the same at 1,024 units with density 1, ``eprop_vs_bare``
  for the e-prop model (extra information).
- ``full_vs_handwritten[n]``: the same cortex against ``bench/handwritten_rate.py``, a short numpy
  script of the same math (same recurrence, same block RLS with the same BLAS calls, the same
  projection where the cortex projects, same simplex projection, the pair that spans two calls
  learned at the start of the second as the cortex does): the framework's own overhead.
  The script's predictions equal the cortex's (``handwritten_max_abs_diff``): it is the same work.
- ``flop_fraction[n]``: the full step's flop rate (counted: 2 nnz(W) for the recurrence, about
  3 F^2 per learned row for RLS on F features, 2 F fanout for a projection) over the rate of a
  4096 x 4096 by 4096 x 64 matrix multiply (``matmul_gflops``), timed in the same rounds.
- ``float32_vs_float64[n]``: the full step in float32 over float64, same W, timed back to back;
  ``recurrence_float32_vs_float64[n]`` the same for the bare recurrence alone: scipy's scalar CSR
  product does three loads per nonzero (index, weight, the gathered input) whatever the dtype, with
  W and h in cache at 4,096 units, so it gains little in float32 (splitting rows into shorter ones,
  to overlap their running sums, made it slower: load-bound, not latency-bound);
  ``readout_blas_float32_vs_float64[n]`` the same for the readout's two BLAS-3 calls of a block
  (symm and syrk on the cortex's F features and B block rows): the full step gains about what
  these gain, diluted by the recurrence's share.
- ``memory_mib[n]``: peak resident memory (VmHWM: ru_maxrss would inherit this process's) of a fresh process that builds one
  replica and runs ``steps`` of it, and the estimate of ``cortex.rate.memory`` (what validation
  refuses runs by), in total and per added replica.
- ``replicas16_speedup``: 16 single-replica runs one after another against one run of 16 batched
  replicas doing the same work, at ``replicas_n_units`` = 1,000 units (the shipped configs' size,
  default density and full RLS); ``replicas16_speedup_by_units`` gives it at 32-256 units too.
  Batching removes per-step Python overhead, not arithmetic: each replica has its own W and RLS
  matrix P. ``replicas16_bound`` is a single replica's run time over the time of its per-replica
  arithmetic (readout learning, timed inside the run, plus the bare recurrence on the same W): the
  speedup if batching removed every other cost (given from 256 units up).
  ``readout_share_by_units``: the share of a single replica's run spent learning the readout.

Other processes may share the cores, so each ratio is the median over rounds of runs timed back
to back (after a warm-up), not a ratio of medians taken minutes apart; ``load_avg_1min`` says how
busy the machine was. About two minutes on a quiet 2-core machine.

Usage: python bench/rate_cortex.py [--dtype float64|float32]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

# the same BLAS threading as `neurosteer run` (one thread unless set), for both sides of each ratio
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.handwritten_rate import reservoir as handwritten  # noqa: E402
from bench.timing import record_calls  # noqa: E402
from cortex.rate import RATE_MODELS  # noqa: E402
from cortex.rate import reservoir as rsv  # noqa: E402
from cortex.rate.core import SPARSE_DENSITY  # noqa: E402
from cortex.rate.memory import estimate_bytes  # noqa: E402
from cortex.readout import projection_matrix  # noqa: E402

N_SYMBOLS = 8
IN_DEGREE = 100  # the shipped density 0.1 at 1,000 units, kept fixed as N grows
PROJECTED = {"kind": "projected_rls", "dim": 1024}
#: units -> (steps per timed run, rounds, cortex settings): about 0.1-1 s per run on a quiet machine;
#: single runs vary by +-5-10% on a shared machine (memory bandwidth), hence 7-9 rounds
SIZES = {
    1024: (512, 9, {"in_degree": IN_DEGREE}),
    4096: (192, 9, {"in_degree": IN_DEGREE}),
    16384: (192, 9, {"in_degree": IN_DEGREE, "readout": PROJECTED}),
    65536: (128, 7, {"in_degree": IN_DEGREE, "readout": PROJECTED}),
}
FLOAT32_SIZES = (1024, 4096)
REPLICAS, REPLICA_UNITS = 16, 1000
REPLICA_STEPS = {32: 1024, 64: 1024, 128: 1024, 256: 512, 1000: 128}
BOUND_MIN_UNITS = 256  # below this the readout's time is mostly Python overhead, and no bound holds
MATMUL = (4096, 64)  # (n, columns): the matrix multiply whose flop rate flop_fraction divides by


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _median_ratios(main, *others, rounds: int = 7) -> tuple[list[float], np.ndarray]:
    """Per baseline, the median over rounds of time(baseline) / time(main), all timed back to back
    in each round so that they see the same machine load; also the median times (s). Warms up."""
    for fn in (main, *others):
        fn()
    times = np.array([[_seconds(fn) for fn in (main, *others)] for _ in range(rounds)])
    return [float(np.median(times[:, i] / times[:, 0])) for i in range(1, times.shape[1])], np.median(times, axis=0)


def _weights(p, dtype):
    """What ``RateCortex.reset([0])`` draws for replica 0: W (dense, or CSR with in_degree), U, b
    and the leak rates."""
    w = rsv.recurrent_weights(p, 0) if p.in_degree is None else rsv.recurrent_csr(p, 0)
    u = rsv.input_weights(p, N_SYMBOLS, 0).astype(dtype)
    return w.astype(dtype), u, rsv.biases(p, 0).astype(dtype), rsv.leak_rates(p)[1].astype(dtype)


def _sparse(p) -> bool:
    return p.in_degree is not None or p.density <= SPARSE_DENSITY


def bare_run(w, u: np.ndarray, sparse: bool, steps: int):
    """The bare recurrence h <- tanh(W h + U[:, x]) as a callable (W as CSR if ``sparse``)."""
    w = scipy.sparse.csr_array(w) if sparse and not scipy.sparse.issparse(w) else w
    ut = np.ascontiguousarray(u.T)
    x = np.random.default_rng(1).integers(0, N_SYMBOLS, steps)

    def run():
        h = np.zeros(u.shape[0], u.dtype)
        for s in x:
            h = np.tanh(w @ h + ut[s])

    return run


def cortex_run(model: str, n_units: int, n_replicas: int, steps: int, dtype: str, **overrides):
    """``run_sequence`` of a plastic cortex (replica seeds 0..K-1) on a random stream (K, steps),
    as a callable; also the cortex and the stream."""
    params_cls, cortex_cls = RATE_MODELS[model]
    cortex = cortex_cls(params_cls(n_units=n_units, dtype=dtype, **overrides), N_SYMBOLS, n_replicas, sample_units=16)
    cortex.reset(list(range(n_replicas)))
    x = np.random.default_rng(1).integers(0, N_SYMBOLS, (n_replicas, steps))
    return (lambda: cortex.run_sequence(x)), cortex, x


def step_flops(cortex) -> float:
    """Flops of one step of a one-replica cortex: 2 nnz(W) (or 2 N^2) for the recurrence, about
    3 F^2 + 4 B F + 4 F n_out per learned row of block RLS on F features (symm 2 F^2, syrk F^2,
    the B x B products), plus 2 F fanout where the features are projected first."""
    p, n = cortex.params, cortex.params.n_units
    rec = 2.0 * (cortex._csr.nnz if cortex._csr is not None else n * n)
    readout = cortex.readout
    f = cortex.n_features
    proj = 0.0
    if getattr(readout, "projection", None) is not None:
        proj, f = 2.0 * readout.projection.nnz, p.readout.dim + 1
    return rec + proj + 3.0 * f * f + 4.0 * p.block_steps * f + 4.0 * f * N_SYMBOLS


def _matmul(dtype: str):
    """A BLAS matrix multiply (MATMUL) as a callable, and its flops."""
    n, m = MATMUL
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, m)).astype(dtype)
    return (lambda: a @ b), 2.0 * n * n * m


def size_row(n: int, dtype: str) -> dict:
    """Every per-size number: the ratios, steps/s, the flop fraction, float32 over float64."""
    steps, rounds, settings = SIZES[n]
    full, cortex, x = cortex_run("reservoir", n, 1, steps, dtype, **settings)
    p = cortex.params
    w, u, b, leak = _weights(p, dtype)
    bare = bare_run(w, u, _sparse(p), steps)
    projection = None
    if getattr(cortex.readout, "projection", None) is not None:
        projection = projection_matrix(cortex.n_features, p.readout.dim, p.readout.fanout, 0).astype(dtype)
    # the first two calls of both (the second learns the pair spanning them), same stream, same
    # start: the same predictions, or not the same work
    hand = handwritten(w, u, b, leak, _sparse(p), p.block_steps, p.readout.ridge(cortex.n_features),
                       p.readout.prob_floor, projection)
    diff = max(float(np.abs(cortex.run_sequence(x).probs[0] - hand(x[0])).max()) for _ in range(2))
    if diff > (1e-8 if dtype == "float64" else 1e-3):
        raise SystemExit(f"bench/handwritten_rate.py differs from the cortex by {diff:.3g} at {n} units")
    matmul, matmul_flops = _matmul(dtype)
    repeat = max(1, round(0.05 / max(_seconds(matmul), 1e-6)))  # ~50 ms, like a short run
    fns = [full, bare, lambda: hand(x[0]), lambda: [matmul() for _ in range(repeat)]]
    other = "float32" if dtype == "float64" else "float64"
    if n in FLOAT32_SIZES:
        fns.append(cortex_run("reservoir", n, 1, steps, other, **settings)[0])
    ratios, t = _median_ratios(*fns, rounds=rounds)
    gflops = matmul_flops * repeat / t[3] / 1e9
    row = {"full_vs_bare": ratios[0], "full_vs_handwritten": ratios[1], "diff": diff,
           "steps_per_s": {"full": round(steps / t[0]), "bare": round(steps / t[1]), "handwritten": round(steps / t[2])},
           "flop_fraction": step_flops(cortex) * steps / t[0] / 1e9 / gflops, "matmul_gflops": gflops}
    if n in FLOAT32_SIZES:  # ratios[3] = time(other dtype) / time(dtype); want speed(float32) / speed(float64)
        row["float32_vs_float64"] = ratios[3] if dtype == "float32" else 1.0 / ratios[3]
        # the bare recurrence alone (the sparse product, same W) in both dtypes: what it gains
        (rec,), _ = _median_ratios(bare, bare_run(*_weights(p, other)[:2], _sparse(p), steps), rounds=rounds)
        row["recurrence_float32_vs_float64"] = rec if dtype == "float32" else 1.0 / rec
        (blas,), _ = _median_ratios(_rls_blas(cortex.n_features, p.block_steps, dtype),
                                    _rls_blas(cortex.n_features, p.block_steps, other), rounds=rounds)
        row["readout_blas_float32_vs_float64"] = blas if dtype == "float32" else 1.0 / blas
    return row


def _rls_blas(n_features: int, block: int, dtype: str):
    """The two BLAS-3 calls of one block RLS update (``cortex.readout``: G = X P by symm, P -= H'H by
    syrk) on F = ``n_features`` and B = ``block`` rows, as a callable: the most the readout can gain
    from a dtype is what the BLAS library gains on these."""
    from cortex.readout import _SYMM_SYRK

    symm, syrk = _SYMM_SYRK[np.dtype(dtype)]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n_features, n_features)).astype(dtype)
    p = np.asfortranarray(a + a.T)   # symmetric; its values do not change the calls' cost
    x = rng.standard_normal((block, n_features)).astype(dtype)
    g = np.empty_like(x)
    h = (x * 1e-3).astype(dtype)

    def run():
        for _ in range(4):
            symm(1.0, p, x.T, beta=0.0, c=g.T, side=0, lower=0, overwrite_c=1)
            syrk(-1.0, h.T, beta=1.0, c=p, trans=0, lower=0, overwrite_c=1)

    return run


def memory_row(n: int, dtype: str) -> dict:
    """Peak resident MiB of a fresh process running one replica of SIZES[n], and the estimate.
    Read as VmHWM, the peak of the new process's own memory: ru_maxrss keeps the forked parent's."""
    steps, _, settings = SIZES[n]
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r}); "
            f"from bench.rate_cortex import cortex_run; run = cortex_run('reservoir', {n}, 1, {steps}, {dtype!r}, **{settings!r})[0]; "
            "run(); print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    params = RATE_MODELS["reservoir"][0](n_units=n, dtype=dtype, **settings)
    one, two = (sum(estimate_bytes(params, k, N_SYMBOLS).values()) for k in (1, 2))
    mib = 2.0**20
    return {"peak_rss": round(int(out.stdout.split()[-1]) * 1024 / mib), "estimate": round(one / mib),
            "estimate_per_replica": round((two - one) / mib)}


def _replicas(n: int, steps: int, dtype: str) -> tuple[float, float, float]:
    """16 sequential single-replica runs / one 16-replica run; the share of a single run spent in
    readout learning; and the single run's time over that of its per-replica arithmetic (readout
    learning plus the bare recurrence on the same W), the most that removing overhead could give."""
    singles = [cortex_run("reservoir", n, 1, steps, dtype)[0] for _ in range(REPLICAS)]
    batched, _, _ = cortex_run("reservoir", n, REPLICAS, steps, dtype)
    (speedup,), _ = _median_ratios(batched, lambda: [run() for run in singles])
    single, cortex, _ = cortex_run("reservoir", n, 1, steps, dtype)
    w, u, _, _ = _weights(cortex.params, dtype)
    bare = bare_run(w, u, _sparse(cortex.params), steps)
    spent = record_calls(cortex.readout, "learn")
    single(), bare()  # warm-up
    rows = []
    for _ in range(7):
        spent.clear()
        wall = _seconds(single)
        rows.append((sum(spent) / wall, wall / (sum(spent) + _seconds(bare))))
    share, bound = np.median(rows, axis=0)
    return speedup, float(share), float(bound)


def _extra(settings: dict, dtype: str, model: str = "reservoir") -> float:
    """full_vs_bare at 1,024 units for other settings (dense W, e-prop)."""
    full, cortex, _ = cortex_run(model, 1024, 1, 512, dtype, **settings)
    w, u, _, _ = _weights(cortex.params, dtype)
    (ratio,), _ = _median_ratios(full, bare_run(w, u, _sparse(cortex.params), 512))
    return round(ratio, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    dtype = ap.parse_args().dtype
    t0 = time.perf_counter()
    keys = ("full_vs_bare", "full_vs_handwritten", "flop_fraction", "matmul_gflops", "float32_vs_float64",
            "recurrence_float32_vs_float64", "readout_blas_float32_vs_float64")
    result: dict = {k: {} for k in (*keys, "handwritten_max_abs_diff", "steps_per_s", "memory_mib")}
    for n in SIZES:
        row = size_row(n, dtype)
        for k in keys:
            if k in row:
                result[k][str(n)] = round(row[k], 3 if k != "matmul_gflops" else 1)
        result["handwritten_max_abs_diff"][str(n)] = float(f"{row['diff']:.2g}")
        result["steps_per_s"][str(n)] = row["steps_per_s"]
        result["memory_mib"][str(n)] = memory_row(n, dtype)
    result["settings"] = {str(n): settings for n, (_, _, settings) in SIZES.items()}
    speedups, shares, bounds = {}, {}, {}
    for n, steps in REPLICA_STEPS.items():
        speedup, share, bound = _replicas(n, steps, dtype)
        speedups[str(n)], shares[str(n)] = round(speedup, 2), round(share, 2)
        if n >= BOUND_MIN_UNITS:
            bounds[str(n)] = round(bound, 2)
    result["replicas16_speedup"] = speedups[str(REPLICA_UNITS)]
    result["replicas_n_units"] = REPLICA_UNITS
    result["replicas16_bound"] = bounds[str(REPLICA_UNITS)]
    result["replicas16_speedup_by_units"] = speedups
    result["replicas16_bound_by_units"] = bounds
    result["readout_share_by_units"] = shares
    result["dense_w_vs_bare"] = {"1024": _extra({"density": 1.0}, dtype)}
    result["eprop_vs_bare"] = {"1024": _extra({}, dtype, "eprop")}
    result["dtype"] = dtype
    result["blas_threads"] = os.environ["OPENBLAS_NUM_THREADS"]
    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    result["load_avg_1min"] = round(os.getloadavg()[0], 2)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
