"""Benchmark: what running a sweep through Dask costs and gains. Prints one JSON object.

    python bench/sweep_overhead.py [--sweep configs/sweeps/bench_small.yaml]

- speedup_2_workers: median over ``--rounds`` of the wall time of the sweep with 1 worker / with 2
  workers, timed back to back (cluster start included,
  as a user of the Python API sees it), each into a fresh directory, in this process with the
  imports done (the first sweep would otherwise pay them for the second);
- dispatch_overhead_s: per run, the wall time of the sweep with 1 worker (cluster start excluded)
  minus the runs' own `wall_time_s`, divided by the number of runs. It is what a run costs beyond
  its simulation: Dask dispatch, each worker's first imports, config loading, and moving the run
  directory into place (rate runs execute inside the worker process);
- process_start_s: a bare `python -c "import experiments.runner"`, what a spiking run (which gets
  its own process) pays on top;
- cluster_start_s: starting and connecting a one-worker LocalCluster;
- plot_s: drawing the sweep plots from results.csv (done once, at the end of every sweep).

Cluster start, each worker's first imports and the plots are a fixed ~2 s that more workers do not
shorten, so the speedup depends on the run length: the default sweep's runs last ~2 s each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.plotting.sweep import plot_sweep  # noqa: E402
from experiments.sweep.engines import open_client  # noqa: E402
from experiments.sweep.run import execute, pending_jobs, plan, run_sweep  # noqa: E402
from experiments.sweep.spec import ClusterOptions  # noqa: E402


def _timed_sweep(sweep: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    done = run_sweep(sweep, out_dir=out, workers=workers, quiet=True)
    if not done.complete:
        raise SystemExit(f"sweep with {workers} worker(s) failed ({done.counts}); see {out}")
    return time.perf_counter() - start


def _run_walls(sweep_dir: Path) -> list[float]:
    return [json.loads((d / "meta.json").read_text())["wall_time_s"] for d in sorted((sweep_dir / "runs").glob("[!.]*"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=ROOT / "configs" / "sweeps" / "bench_small.yaml")
    parser.add_argument("--rounds", type=int, default=3, help="paired (1 worker, 2 workers) rounds; median ratio")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        tmp = Path(tmp)
        # back to back, so that both sides of each ratio see the same machine load
        pairs = [(_timed_sweep(args.sweep, tmp / f"w1.{r}", workers=1), _timed_sweep(args.sweep, tmp / f"w2.{r}", workers=2))
                 for r in range(args.rounds)]
        wall_1, wall_2 = (statistics.median(p[i] for p in pairs) for i in (0, 1))

        # Dispatch overhead: the same runs again through one worker, timing only the execution.
        jobs = pending_jobs(tmp / "w3", plan(args.sweep).runs)
        start = time.perf_counter()
        with open_client("local", ClusterOptions(), tmp / "w3", 1, len(jobs)) as client:
            cluster_start = time.perf_counter() - start
            start = time.perf_counter()
            execute(client, jobs, done_before=0, total=len(jobs), quiet=True)
            executing = time.perf_counter() - start
        run_walls = _run_walls(tmp / "w3")
        start = time.perf_counter()
        plot_sweep(tmp / "w1.0")
        plot_s = time.perf_counter() - start

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import experiments.runner"], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    process_start = time.perf_counter() - start

    print(json.dumps({
        "speedup_2_workers": round(statistics.median(a / b for a, b in pairs), 3),
        "speedup_by_round": [round(a / b, 3) for a, b in pairs],
        "dispatch_overhead_s": round((executing - sum(run_walls)) / len(run_walls), 4),
        "process_start_s": round(process_start, 4),
        "cluster_start_s": round(cluster_start, 3),
        "plot_s": round(plot_s, 3),
        "runs": len(run_walls),
        "run_wall_mean_s": round(sum(run_walls) / len(run_walls), 4),
        "sweep_wall_1_worker_s": round(wall_1, 3),
        "sweep_wall_2_workers_s": round(wall_2, 3),
        "cpu_count": os.cpu_count(),
        "sweep": str(args.sweep),
    }))


if __name__ == "__main__":
    main()
