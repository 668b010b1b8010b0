"""Benchmark: what running a sweep through Dask costs and gains. Prints one JSON object.

    python bench/sweep_overhead.py [--sweep configs/sweeps/bench_small.yaml]

- speedup_2_workers: wall time of the sweep with 1 worker / with 2 workers (cluster start included,
  as a user sees it), each into a fresh directory;
- dispatch_overhead_s: per run, the wall time of the sweep with 1 worker (cluster start excluded)
  minus the runs' own `wall_time_s`, divided by the number of runs. It is what a run costs beyond
  its simulation: Dask dispatch, the fresh Python process (interpreter and imports), config
  loading, and moving the run directory into place;
- process_start_s: the part of that which is a bare `python -c "import experiments.runner"`;
- cluster_start_s: starting and connecting a one-worker LocalCluster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.sweep import execute, pending_jobs, plan, run_sweep  # noqa: E402
from experiments.sweep_engines import open_client  # noqa: E402
from experiments.sweep_spec import ClusterOptions  # noqa: E402


def _timed_sweep(sweep: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    code = run_sweep(sweep, out_dir=out, workers=workers, quiet=True)
    if code != 0:
        raise SystemExit(f"sweep with {workers} worker(s) failed (exit {code}); see {out}")
    return time.perf_counter() - start


def _run_walls(sweep_dir: Path) -> list[float]:
    return [json.loads((d / "meta.json").read_text())["wall_time_s"] for d in sorted((sweep_dir / "runs").glob("[!.]*"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=ROOT / "configs" / "sweeps" / "bench_small.yaml")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        tmp = Path(tmp)
        wall_1 = _timed_sweep(args.sweep, tmp / "w1", workers=1)
        wall_2 = _timed_sweep(args.sweep, tmp / "w2", workers=2)

        # Dispatch overhead: the same runs again through one worker, timing only the execution.
        sweep, runs = plan(args.sweep)
        jobs = pending_jobs(tmp / "w3", runs)
        start = time.perf_counter()
        with open_client("local", ClusterOptions(), tmp / "w3", 1, len(jobs)) as client:
            cluster_start = time.perf_counter() - start
            start = time.perf_counter()
            execute(client, jobs, done_before=0, total=len(jobs), quiet=True)
            executing = time.perf_counter() - start
        run_walls = _run_walls(tmp / "w3")

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import experiments.runner"], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    process_start = time.perf_counter() - start

    print(json.dumps({
        "speedup_2_workers": round(wall_1 / wall_2, 3),
        "dispatch_overhead_s": round((executing - sum(run_walls)) / len(run_walls), 4),
        "process_start_s": round(process_start, 4),
        "cluster_start_s": round(cluster_start, 3),
        "runs": len(run_walls),
        "run_wall_mean_s": round(sum(run_walls) / len(run_walls), 4),
        "sweep_wall_1_worker_s": round(wall_1, 3),
        "sweep_wall_2_workers_s": round(wall_2, 3),
        "cpu_count": os.cpu_count(),
        "sweep": str(args.sweep),
    }))


if __name__ == "__main__":
    main()
