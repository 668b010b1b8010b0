"""Overhead of the spiking cortex; prints ONE JSON object.

- ``ours_vs_handwritten``: wall time of ``SpikingCortex.run_sequence`` divided by the hand-written
  Brian2 script of the same network (``bench/handwritten_lif.py``: same neurons, synapses,
  plasticity, input trains, spike counting; same target), for the same simulated time. Both
  with a warm cache: each is run once untimed first, then the fastest of ``--repeats`` runs counts.
  Ours also trains the readout online from the counts; its share is reported as ``readout_s``.
- ``closed_vs_open``: our closed loop (``run`` with a network operation and a trivial ``exchange``
  every ``step_ms``) divided by our open loop, for the same simulated time.

Usage: python bench/spiking_cortex.py [--steps 1000] [--replicas 3] [--step-ms 20] [--set key=value ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

# the readout's small matrix products: on a busy 2-core machine, threaded BLAS spins and costs
# 10-30x more than one thread (measured 4.7 s vs 0.16 s per 1,000 steps); must precede numpy
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cortex.base import Exchange, Modulators  # noqa: E402
from cortex.spiking.params import SpikingParams  # noqa: E402


def _timed(fn, repeats: int) -> float:
    """Fastest wall time of ``repeats`` calls after one untimed warm-up call (s)."""
    fn()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--step-ms", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="SpikingParams field=value (YAML scalar)")
    args = ap.parse_args()
    import yaml

    fields = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    p = SpikingParams(step_ms=args.step_ms, **fields)
    K, T, n_in = args.replicas, args.steps, 7
    symbols = np.random.default_rng(1).integers(0, n_in, (K, T))
    active = np.ones((K, T), bool)

    from cortex.spiking.network import SpikingCortex

    cortex = SpikingCortex(p, n_inputs=n_in, n_replicas=K, sample_units=16)
    cortex.reset(list(range(K)))
    readout_s = []
    train = cortex._train_readout

    def timed_train(*a):
        start = time.perf_counter()
        out = train(*a)
        readout_s.append(time.perf_counter() - start)
        return out

    cortex._train_readout = timed_train
    open_s = _timed(lambda: cortex.run_sequence(symbols, active), args.repeats)

    def exchange(step, out):
        x = np.zeros((K, n_in))
        x[:, symbols[0, step % T]] = 1.0
        mods = Modulators(dopamine=np.zeros(K), supervisory=np.zeros((K, 0)), plastic=np.ones(K, bool))
        return Exchange(inputs=x, modulators=mods, action=np.full(K, -1), done=np.zeros(K, bool))

    first = np.eye(n_in)[symbols[:, 0]]
    closed_s = _timed(lambda: cortex.run(T, exchange, first), args.repeats)

    from bench.handwritten_lif import run as handwritten

    hand = handwritten(p, symbols, n_in, repeats=args.repeats)
    print(json.dumps({
        "ours_vs_handwritten": round(open_s / hand["wall_s"], 3),
        "closed_vs_open": round(closed_s / open_s, 3),
        "open_s": round(open_s, 3), "handwritten_s": round(hand["wall_s"], 3), "closed_s": round(closed_s, 3),
        "readout_s": round(min(readout_s), 3), "sim_s": T * p.step_ms * 1e-3, "steps": T,
        "step_ms": p.step_ms, "n_units": p.n_units, "replicas": K, "target": cortex.target,
        "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
    }))


if __name__ == "__main__":
    main()
