"""Overhead of the spiking cortex; prints ONE JSON object.

- ``ours_vs_handwritten``: wall time of ``SpikingCortex.run_sequence`` (configured as given, the
  default step_ms) divided by the hand-written Brian2 script of the same network
  (``bench/handwritten_lif.py``: same neurons, synapses, plasticity, input trains, spike counting;
  same target), for the same simulated time: the framework's overhead over plain Brian2. Both with
  a warm cache: each is run once untimed first, then ``--repeats`` rounds run ours then the script
  back to back, and the ratio is the median of the per-round ratios (``round_ratios``; the seconds
  are medians).
  Ours also trains the next-symbol readout online from the counts, numpy work that the script has
  no counterpart for (RLS on n_exc x (1 + filters) features: ~10% of the call at 400 units). It is
  timed inside the same calls and left out of this ratio; ``ours_incl_readout_vs_handwritten``
  keeps it in, and ``ours_readout_s`` is its time.
- ``ours_vs_handwritten_by_size``: the same ratio at ``--sizes`` neurons per replica (4,000 and
  8,000) on cpp_standalone, against ``handwritten_lif.run_standalone``, ``--size-sim-s`` simulated
  seconds: both time a whole standalone run (build the network, generate the project, run, read
  and bin the spikes; ours also replays them block by block) without its compilation, which is
  reported apart (``by_size_s``: with warm caches both recompile only the files of the run's data).
  After one untimed run of each, ``--repeats`` rounds run ours then the script back to back; the
  ratio is the median of the per-round ratios (``round_ratios``), the seconds are medians, so a
  change of load on a shared machine moves both sides of a round rather than one side's best.
  ``cpu_ratio`` is the median ratio of CPU seconds (process and children, compilation and, for
  ours, the readout included), which other jobs on the cores change far less than wall time.
  The readout is the delta rule there (RLS keeps an F x F matrix per replica: 2.6 GB at 8,000
  units) and its time is left out, as above.
- ``closed_vs_open``: our closed loop (``run`` with a network operation and a trivial ``exchange``
  every ``--env-step-ms``) divided by our open loop at the same step, for the same simulated time
  (rounds of both back to back, the median of the per-round ratios).

Usage: python bench/spiking_cortex.py [--sim-s 40] [--replicas 3] [--env-step-ms 20] [--sizes 4000,8000]
       [--size-sim-s 10] [--repeats 5] [--set key=value ...]   (--sizes '' skips the sizes)
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

from bench.timing import record_calls  # noqa: E402
from cortex.base import Exchange, Modulators  # noqa: E402
from cortex.spiking.params import SpikingParams  # noqa: E402


def _rounds(fns, repeats: int) -> np.ndarray:
    """Wall times (repeats, len(fns)): after one untimed call of each, ``repeats`` rounds that call
    every function once, back to back, so that a load change moves every column of a round."""
    for fn in fns:
        fn()
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[r, i] = time.perf_counter() - start
    return times


def _cortex(p: SpikingParams, K: int, n_in: int):
    from cortex.spiking.cortex import SpikingCortex

    cortex = SpikingCortex(p, n_inputs=n_in, n_replicas=K, sample_units=16)
    cortex.reset(list(range(K)))
    return cortex


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the simulation binary, make)."""
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


def _by_size(fields: dict, sizes, K: int, n_in: int, sim_s: float, repeats: int, rng) -> dict:
    """{n_units: ours / hand-written} on cpp_standalone (see module docstring), and the seconds.

    After one untimed run of each, ``repeats`` rounds each time ours, then the script, back to
    back; the ratio is the median of the rounds' ratios (a load change between two rounds moves
    both runs of a round), the seconds are the medians of each side's runs. Each side's timing
    holds its own garbage collections, never the other's."""
    import gc
    import shutil
    import tempfile

    from bench.handwritten_lif import run_standalone
    from cortex.spiking.cortex import SpikingCortex

    ratios, seconds = {}, {}
    for n in sizes:
        p = SpikingParams(**{**fields, "n_units": n, "target": "cpp_standalone", "readout": {"kind": "delta"}})
        T = int(round(sim_s * 1e3 / p.step_ms))
        symbols, active = rng.integers(0, n_in, (K, T)), np.ones((K, T), bool)

        def ours():
            cortex = SpikingCortex(p, n_inputs=n_in, n_replicas=K, sample_units=16)
            gc.collect()  # the script's last network, not ours to free (the script times its own collection)
            start, cpu = time.perf_counter(), _cpu_s()
            cortex.reset(list(range(K)))
            readout_s = record_calls(cortex.predictor, "run")
            compile_s = cortex.simulate_ahead([(True, [(symbols, active)])])["compile_s"]
            cortex.run_sequence(symbols, active)
            return time.perf_counter() - start - sum(readout_s) - compile_s, compile_s, _cpu_s() - cpu

        def hand():
            cpu = _cpu_s()
            out = run_standalone(p, symbols, n_in, repeats=1, directory=directory, warmup=False)
            return out["wall_s"], out["compile_s"], _cpu_s() - cpu

        directory = tempfile.mkdtemp(prefix="hw-standalone-")  # one project: make keeps its objects
        try:
            ours()  # warm-ups: compile into the store / the project
            hand()
            rounds = [(*ours(), *hand()) for _ in range(repeats)]
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        o_s, o_c, o_cpu, h_s, h_c, h_cpu = (np.array(col) for col in zip(*rounds))
        ratios[n] = round(float(np.median(o_s / h_s)), 3)
        seconds[n] = {"ours_s": round(float(np.median(o_s)), 3), "handwritten_s": round(float(np.median(h_s)), 3),
                      "ours_compile_s": round(float(np.median(o_c)), 3),
                      "handwritten_compile_s": round(float(np.median(h_c)), 3),
                      "round_ratios": [round(float(r), 3) for r in o_s / h_s],
                      "cpu_ratio": round(float(np.median(o_cpu / h_cpu)), 3)}
    return {"ours_vs_handwritten_by_size": ratios, "by_size_s": seconds, "by_size_sim_s": sim_s,
            "by_size_target": "cpp_standalone"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-s", type=float, default=40.0, help="simulated seconds per timed run")
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--env-step-ms", type=float, default=20.0, help="environment step of the closed-loop comparison")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds of each comparison")
    ap.add_argument("--sizes", default="4000,8000", help="neurons per replica of the by-size comparison ('' = none)")
    ap.add_argument("--size-sim-s", type=float, default=10.0, help="simulated seconds per by-size run")
    ap.add_argument("--set", action="append", default=[], help="SpikingParams field=value (YAML scalar)")
    args = ap.parse_args()
    import yaml

    fields = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    K, n_in = args.replicas, 7
    rng = np.random.default_rng(1)

    # ours vs hand-written: the open-loop run as configured (default step_ms)
    p = SpikingParams(**fields)
    T = int(round(args.sim_s * 1e3 / p.step_ms))
    symbols = rng.integers(0, n_in, (K, T))
    cortex = _cortex(p, K, n_in)
    readout_s = record_calls(cortex.predictor, "run")

    def ours():  # wall time of the whole call, and of the call without its readout training
        start = time.perf_counter()
        cortex.run_sequence(symbols, np.ones((K, T), bool))
        wall = time.perf_counter() - start
        return wall, wall - readout_s[-1]

    from bench.handwritten_lif import runner

    hand = runner(p, symbols, n_in)
    ours(), hand()  # warm-ups: compile into the cache
    # rounds of ours then the script, back to back: a load change moves both runs of a round
    walls, nets, hands = (np.array(col) for col in zip(*[(*ours(), hand()) for _ in range(args.repeats)]))
    del cortex, hand

    # closed vs open loop at a 20 ms environment step, same simulated time
    q = SpikingParams(**{**fields, "step_ms": args.env_step_ms})
    Tq = int(round(args.sim_s * 1e3 / q.step_ms))
    sym_q = rng.integers(0, n_in, (K, Tq))
    cortex = _cortex(q, K, n_in)

    def exchange(step, out):
        x = np.zeros((K, n_in))
        x[:, sym_q[0, step % Tq]] = 1.0
        mods = Modulators(dopamine=np.zeros(K), supervisory=np.zeros((K, 0)), plastic=np.ones(K, bool))
        return Exchange(inputs=x, modulators=mods, action=np.full(K, -1), done=np.zeros(K, bool))

    loop_times = _rounds([lambda: cortex.run_sequence(sym_q, np.ones((K, Tq), bool)),
                          lambda: cortex.run(Tq, exchange, np.eye(n_in)[sym_q[:, 0]])], args.repeats)
    open_s, closed_s = np.median(loop_times, axis=0)
    target = cortex.target
    del cortex
    sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
    by_size = _by_size(fields, sizes, K, n_in, args.size_sim_s, args.repeats, rng) if sizes else {}
    print(json.dumps({
        "ours_vs_handwritten": round(float(np.median(nets / hands)), 3),
        "ours_incl_readout_vs_handwritten": round(float(np.median(walls / hands)), 3),
        "round_ratios": [round(float(r), 3) for r in nets / hands],
        "closed_vs_open": round(float(np.median(loop_times[:, 1] / loop_times[:, 0])), 3),
        "ours_s": round(float(np.median(walls)), 3), "handwritten_s": round(float(np.median(hands)), 3),
        "ours_readout_s": round(min(readout_s[1:]), 3), "step_ms": p.step_ms,
        "closed_s": round(float(closed_s), 3), "open_s": round(float(open_s), 3), "env_step_ms": q.step_ms,
        "closed_s_per_env_step": round(float(closed_s) / Tq, 6),
        "sim_s": args.sim_s, "n_units": p.n_units, "replicas": K, "target": target,
        "blas_threads": os.environ["OPENBLAS_NUM_THREADS"], **by_size,
    }))


if __name__ == "__main__":
    main()
