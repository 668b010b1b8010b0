"""Throughput of the rate cortex against numpy's physical limit; prints one JSON object.

- ``full_vs_bare[n]``: steps/s of the full reservoir cortex (``run_sequence``, plastic, default RLS
  readout, one replica) divided by steps/s of the bare recurrence ``tanh(W @ h + U[:, x])`` at the
  same size, measured in the same process (target: >= 0.5 at 1024 units).
- ``replicas16_speedup``: time of 16 single-replica runs one after another divided by the time of
  one run of 16 batched replicas doing the same work, at ``replicas_n_units`` = 128 units: the
  size of a small sweep (many seeds x a parameter grid), where a single replica's step is mostly
  Python overhead that batching shares out (target: >= 4). At >= 1024 units one replica already
  streams W from memory every step, so batching can only save the overhead.
- ``eprop_vs_bare``: the same ratio as ``full_vs_bare`` for the e-prop model (extra information).

Each number is the median of ``REPEATS`` timed runs after a warm-up run. Total time ~1-2 minutes.
"""
from __future__ import annotations

import json
import os
import platform
import time

# the same BLAS threading as `neurosteer run` (one thread unless set), for both sides of each ratio
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from cortex.rate import RATE_MODELS

N_SYMBOLS = 8
REPEATS = 5
STEPS = {256: 8192, 1024: 2048, 4096: 256}  # about 0.1-1 s per timed run at each size
REPLICAS, REPLICA_UNITS, REPLICA_STEPS = 16, 128, 2048


def _median_time(fn, repeats: int = REPEATS) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bare_steps_per_s(n_units: int, steps: int) -> float:
    """Steps/s of the bare recurrence h <- tanh(W h + U[:, x]) (float64, one network)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n_units, n_units)) * (0.9 / np.sqrt(n_units))
    u = rng.standard_normal((n_units, N_SYMBOLS))
    x = rng.integers(0, N_SYMBOLS, steps)

    def run():
        h = np.zeros(n_units)
        for s in x:
            h = np.tanh(w @ h + u[:, s])

    return steps / _median_time(run)


def cortex_steps_per_s(model: str, n_units: int, n_replicas: int, steps: int, **overrides) -> float:
    """Steps/s (per replica) of ``run_sequence`` with learning on, on a random symbol stream."""
    params_cls, cortex_cls = RATE_MODELS[model]
    cortex = cortex_cls(params_cls(n_units=n_units, **overrides), N_SYMBOLS, n_replicas, sample_units=16)
    cortex.reset(list(range(n_replicas)))
    x = np.random.default_rng(1).integers(0, N_SYMBOLS, (n_replicas, steps))
    return steps / _median_time(lambda: cortex.run_sequence(x))


def replica_speedup() -> float:
    """Time of REPLICAS single-replica runs / time of one batched run of the same work."""
    sequential = REPLICAS * REPLICA_STEPS / cortex_steps_per_s("reservoir", REPLICA_UNITS, 1, REPLICA_STEPS)
    batched = REPLICA_STEPS / cortex_steps_per_s("reservoir", REPLICA_UNITS, REPLICAS, REPLICA_STEPS)
    return sequential / batched


def main() -> None:
    t0 = time.perf_counter()
    result: dict = {"full_vs_bare": {}, "steps_per_s": {}}
    for n, steps in STEPS.items():
        bare = bare_steps_per_s(n, steps)
        full = cortex_steps_per_s("reservoir", n, 1, steps)
        result["full_vs_bare"][str(n)] = round(full / bare, 3)
        result["steps_per_s"][str(n)] = {"bare": round(bare), "full": round(full)}
    result["replicas16_speedup"] = round(replica_speedup(), 2)
    result["replicas_n_units"] = REPLICA_UNITS
    bare = bare_steps_per_s(1024, STEPS[1024])
    result["eprop_vs_bare"] = {"1024": round(cortex_steps_per_s("eprop", 1024, 1, STEPS[1024]) / bare, 3)}
    result["dtype"] = "float64"
    result["blas_threads"] = os.environ["OPENBLAS_NUM_THREADS"]
    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
