"""Throughput of the rate cortex against like-for-like numpy baselines; prints one JSON object.

Every ratio is of steps per second, cortex / baseline (1 = as fast as the baseline), with the
same W (the cortex's own, replica seed 0), the same W representation (CSR where the cortex stores
W sparse, i.e. density <= 0.3; dense otherwise) and the same dtype (``--dtype``) on both sides.

- ``full_vs_bare[n]``: the full reservoir cortex (``run_sequence``, plastic, default block RLS
  readout, one replica) against the bare recurrence ``tanh(W h + U[:, x])``: what learning and
  the readout cost on top of the recurrence. ``dense_w_vs_bare`` is the same with density 1.
- ``full_vs_handwritten[n]``: the same cortex against ``bench/handwritten_rate.py``, a short numpy
  script of the same math (same recurrence, same block RLS with the same BLAS calls, same
  simplex projection): the framework's own overhead, apart from the cost of learning. The
  script's predictions equal the cortex's (``handwritten_max_abs_diff``), so it is the same work.
- ``replicas16_speedup``: 16 single-replica runs one after another against one run of 16 batched
  replicas doing the same work, at ``replicas_n_units`` = 1,000 units (the shipped configs' size);
  ``replicas16_speedup_by_units`` gives it at 32-256 units too. Batching removes per-step Python
  overhead, not arithmetic: each replica has its own W and RLS matrix P, and the RLS update costs
  about 3 F^2 flops per replica-step (F = units + inputs + 1). ``replicas16_bound`` is what
  bounds the speedup: a single replica's run time over the time of its per-replica arithmetic
  (readout learning, timed inside the run, plus the bare recurrence on the same W), i.e. the
  speedup if batching removed every other cost; given from 256 units up (below that, the
  readout's own time is mostly Python overhead, which batching also removes).
  ``readout_share_by_units``: the share of a single replica's run spent learning the readout.
- ``eprop_vs_bare``: as ``full_vs_bare`` for the e-prop model (extra information).

Other processes may share the cores, so each ratio is the median over ``ROUNDS`` rounds of runs
timed back to back (after a warm-up), not a ratio of medians taken minutes apart;
``load_avg_1min`` says how busy the machine was. About a minute on a quiet 2-core machine.

Usage: python bench/rate_cortex.py [--dtype float64|float32]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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

N_SYMBOLS = 8
ROUNDS = 7
STEPS = {256: 4096, 1024: 1024, 4096: 128}  # about 0.03-0.3 s per timed run on a quiet machine
REPLICAS, REPLICA_UNITS = 16, 1000
REPLICA_STEPS = {32: 1024, 64: 1024, 128: 1024, 256: 512, 1000: 128}
BOUND_MIN_UNITS = 256  # below this the readout's time is mostly Python overhead, and no bound holds


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _median_ratios(main, *others, rounds: int = ROUNDS) -> tuple[list[float], np.ndarray]:
    """Per baseline, the median over rounds of time(baseline) / time(main), all timed back to back
    in each round so that they see the same machine load; also the median times (s). Warms up."""
    for fn in (main, *others):
        fn()
    times = np.array([[_seconds(fn) for fn in (main, *others)] for _ in range(rounds)])
    return [float(np.median(times[:, i] / times[:, 0])) for i in range(1, times.shape[1])], np.median(times, axis=0)


def _weights(p, dtype):
    """What ``RateCortex.reset([0])`` draws for replica 0: W, U, b and the leak rates."""
    w = rsv.recurrent_weights(p, 0).astype(dtype)
    u = rsv.input_weights(p, N_SYMBOLS, 0).astype(dtype)
    return w, u, rsv.biases(p, 0).astype(dtype), rsv.leak_rates(p)[1].astype(dtype)


def bare_run(w: np.ndarray, u: np.ndarray, sparse: bool, steps: int):
    """The bare recurrence h <- tanh(W h + U[:, x]) as a callable (W as CSR if ``sparse``)."""
    w = scipy.sparse.csr_array(w) if sparse else w
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


def _against_baselines(n: int, steps: int, dtype: str, model: str = "reservoir", handwritten_too: bool = True, **overrides):
    """(full_vs_bare, full_vs_handwritten or None, max |probs difference| or None, steps/s dict)."""
    full, cortex, x = cortex_run(model, n, 1, steps, dtype, **overrides)
    p = cortex.params
    w, u, b, leak = _weights(p, dtype)
    sparse = p.density <= SPARSE_DENSITY
    baselines = [bare_run(w, u, sparse, steps)]
    diff = None
    if handwritten_too:
        # first calls of both, same stream, same start: the same predictions, or not the same work
        hand = handwritten(w, u, b, leak, sparse, p.block_steps, p.readout.rls_reg, p.readout.prob_floor)
        diff = float(np.abs(cortex.run_sequence(x).probs[0] - hand(x[0])).max())
        if diff > (1e-8 if dtype == "float64" else 1e-3):
            raise SystemExit(f"bench/handwritten_rate.py differs from the cortex by {diff:.3g} at {n} units")
        baselines.append(lambda: hand(x[0]))
    ratios, t = _median_ratios(full, *baselines)
    rate = {"full": round(steps / t[0]), "bare": round(steps / t[1])}
    if handwritten_too:
        rate["handwritten"] = round(steps / t[2])
    return ratios[0], (ratios[1] if handwritten_too else None), diff, rate


def _replicas(n: int, steps: int, dtype: str) -> tuple[float, float, float]:
    """16 sequential single-replica runs / one 16-replica run; the share of a single run spent in
    readout learning; and the single run's time over that of its per-replica arithmetic (readout
    learning plus the bare recurrence on the same W), the most that removing overhead could give."""
    singles = [cortex_run("reservoir", n, 1, steps, dtype)[0] for _ in range(REPLICAS)]
    batched, _, _ = cortex_run("reservoir", n, REPLICAS, steps, dtype)
    (speedup,), _ = _median_ratios(batched, lambda: [run() for run in singles])
    single, cortex, _ = cortex_run("reservoir", n, 1, steps, dtype)
    w, u, _, _ = _weights(cortex.params, dtype)
    bare = bare_run(w, u, cortex.params.density <= SPARSE_DENSITY, steps)
    spent = record_calls(cortex.readout, "learn")
    single(), bare()  # warm-up
    rows = []
    for _ in range(ROUNDS):
        spent.clear()
        wall = _seconds(single)
        rows.append((sum(spent) / wall, wall / (sum(spent) + _seconds(bare))))
    share, bound = np.median(rows, axis=0)
    return speedup, float(share), float(bound)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    dtype = ap.parse_args().dtype
    t0 = time.perf_counter()
    result: dict = {"full_vs_bare": {}, "full_vs_handwritten": {}, "handwritten_max_abs_diff": {}, "steps_per_s": {}}
    for n, steps in STEPS.items():
        bare, hand, diff, rate = _against_baselines(n, steps, dtype)
        result["full_vs_bare"][str(n)] = round(bare, 3)
        result["full_vs_handwritten"][str(n)] = round(hand, 3)
        result["handwritten_max_abs_diff"][str(n)] = float(f"{diff:.2g}")
        result["steps_per_s"][str(n)] = rate
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
    result["dense_w_vs_bare"] = {"1024": round(_against_baselines(1024, STEPS[1024], dtype, density=1.0, handwritten_too=False)[0], 3)}
    result["eprop_vs_bare"] = {"1024": round(_against_baselines(1024, STEPS[1024], dtype, "eprop", handwritten_too=False)[0], 3)}
    result["dtype"] = dtype
    result["blas_threads"] = os.environ["OPENBLAS_NUM_THREADS"]
    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    result["load_avg_1min"] = round(os.getloadavg()[0], 2)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
