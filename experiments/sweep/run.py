"""Running a sweep: a sweep file -> validated runs (`plan`) -> executed on Dask (`run_sweep`)
-> results.csv; `status` reads a sweep directory back.

    neurosteer sweep SWEEP.yaml [--engine local|slurm|pbs|tcp://HOST:PORT] [--workers N]
                                [--out DIR] [--dry-run] [--profile FILE] [--quiet]
    neurosteer status SWEEP_DIR

Layout of a sweep directory::

    sweep.yaml       copy of the sweep file as run
    sweep.json       the runs (id, base, swept values, overrides): what `status` reads
    runs/<run_id>/   one run directory each (see experiments/sweep/task.py for how it appears)
    results.csv      one row per run, written at the end of every sweep invocation
    worker-logs/     batch engines only: the worker jobs' stdout/stderr

Running the same sweep again into the same directory skips the runs that finished: those with a
finished run directory, and those marked `done` in an existing results.csv even when their run
directories are gone (a study's committed results.csv on a new machine); their rows are kept. These
functions raise `experiments.errors.InputError` on bad input (before anything is written) and
return a `SweepStatus`; the `neurosteer` command turns both into messages and exit codes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import queue
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from experiments.errors import InputError
from experiments.rundir import write_atomic
from experiments.sweep.engines import check_engine, dashboard_link, merge_options, open_client, scratch_is_temporary
from experiments.sweep.spec import (
    SEED_KEY, ClusterOptions, Run, Sweep, expand, format_override, load_cluster_profile, load_sweep, resolve,
)
from experiments.sweep.share import plan_branches
from experiments.sweep.task import TMP_DIR, execute_run, is_finished

MANIFEST = "sweep.json"
RESULTS = "results.csv"
REFRESH_S = 0.5  # how often the progress bar refreshes its running count while no run finishes


def default_out_dir(sweep_path: Path) -> Path:
    """Where a sweep goes without --out: runs/sweeps/<sweep file stem> (stable, so resume works)."""
    return Path("runs") / "sweeps" / Path(sweep_path).stem


@dataclass(frozen=True)
class Plan:
    """A checked sweep: its file, every run (configs resolved), and the cluster options to use."""

    sweep: Sweep
    runs: list[Run]
    options: ClusterOptions

    def listing(self) -> str:
        """What `--dry-run` prints: the run count, the fixed overrides, one line per run."""
        fixed = [format_override(k, v) for k, v in self.sweep.spec.set.items()]
        lines = [f"{len(self.runs)} runs" + (f"; every run also sets: {' '.join(fixed)}" if fixed else "")]
        for r in self.runs:
            swept = " ".join(format_override(k, v) for k, v in r.point.params.items())
            lines.append(f"{r.run_id}  {r.point.base.name}  {swept}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SweepStatus:
    """Where a sweep directory stands, read from the files on disk."""

    sweep_file: str
    sweep_dir: Path
    total: int
    counts: dict[str, int]  # done, failed, running, missing
    failed: list[Path]  # error.txt of each failed run

    @property
    def complete(self) -> bool:
        """True when every run of the sweep is done."""
        return self.counts["done"] == self.total

    def summary(self) -> str:
        """What `neurosteer status` prints."""
        c = self.counts
        lines = [
            f"sweep {self.sweep_file} -> {self.sweep_dir}",
            f"total {self.total}, done {c['done']}, failed {c['failed']}, running {c['running']}, missing {c['missing']}",
        ]
        if self.failed:
            lines.append("failed runs:")
            lines += [f"  {p}" for p in self.failed]
        return "\n".join(lines)


def plan(sweep_path: Path, engine: str = "local", workers: Optional[int] = None,
         profile: Optional[Path] = None) -> Plan:
    """Check the engine, then load, expand and validate a sweep: every run's config is resolved.

    Raises `InputError` with every problem found; nothing is written.
    """
    check_engine(engine, workers)
    sweep = load_sweep(Path(sweep_path))
    runs = resolve(sweep, expand(sweep))
    options = merge_options(load_cluster_profile(profile) if profile else None, sweep.spec.cluster)
    return Plan(sweep=sweep, runs=runs, options=options)


def _manifest(sweep, runs) -> dict:
    return {
        "sweep_file": str(sweep.path.resolve()),
        "params": sweep.param_names,
        "bases": [str(b) for b in sweep.bases],
        "runs": [
            {
                "run_id": r.run_id,
                "base": str(r.point.base),
                "params": r.point.params,
                "seed": r.seed,
                "overrides": list(r.point.overrides),
            }
            for r in runs
        ],
    }


def run_sweep(
    sweep_path: Path,
    out_dir: Optional[Path] = None,
    engine: str = "local",
    workers: Optional[int] = None,
    quiet: bool = False,
    profile: Optional[Path] = None,
    share: bool = True,
) -> SweepStatus:
    """Run every point of a sweep file that has not finished yet; write results.csv.

    Returns the sweep directory's status at the end (failed runs have an error.txt). Raises
    `InputError` on bad input (sweep file, configs, engine, an unusable cluster), with nothing
    written. On KeyboardInterrupt, results.csv is written for what finished and it propagates.
    """
    checked = plan(sweep_path, engine, workers, profile)
    sweep, runs, options = checked.sweep, checked.runs, checked.options
    sweep_dir = Path(out_dir) if out_dir is not None else default_out_dir(sweep_path)
    jobs = pending_jobs(sweep_dir, runs, cache_beside_scratch=not scratch_is_temporary(engine, options), share=share)
    manifest = _manifest(sweep, runs)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    try:
        with contextlib.ExitStack() as stack:
            try:
                # Connect before writing anything: an unusable cluster is bad input.
                client = stack.enter_context(open_client(engine, options, sweep_dir, workers, len(jobs))) if jobs else None
            except (OSError, TimeoutError) as e:
                raise InputError([f"--engine: {engine}: cannot use this cluster: {e}"]) from e
            (sweep_dir / "runs").mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(shutil.SameFileError):
                shutil.copyfile(sweep.path, sweep_dir / "sweep.yaml")
            write_atomic(sweep_dir / MANIFEST, json.dumps(manifest, indent=1))
            say(f"sweep {sweep.path}: {len(runs)} runs, {len(runs) - len(jobs)} already done -> {sweep_dir}")
            link = dashboard_link(client) if client is not None else None
            if link:
                say(f"dashboard: {link}")
            if jobs:
                execute(client, jobs, done_before=len(runs) - len(jobs), total=len(runs), quiet=quiet)
    except KeyboardInterrupt:
        if (sweep_dir / MANIFEST).exists():
            write_results(sweep_dir)
        raise

    write_results(sweep_dir)
    _plot(sweep_dir, quiet)
    return _status(sweep_dir, manifest)


def _plot(sweep_dir: Path, quiet: bool) -> None:
    """Metric-vs-parameter plots from results.csv; a plotting problem never fails a sweep."""
    from experiments.plotting.sweep import plot_sweep

    try:
        plot_sweep(sweep_dir)
    except Exception as exc:  # the results are already on disk
        if not quiet:
            print(f"warning: sweep plots failed: {exc}", file=sys.stderr)


def pending_jobs(sweep_dir: Path, runs, cache_beside_scratch: bool = True, share: bool = True) -> list[dict]:
    """One task description per run of `runs` that has not finished in `sweep_dir`.

    `share`: runs that differ only in phases after their first few branch from a trunk run's saved
    state (`experiments.sweep.share`); a branch's job names its trunk (`after`) and state (`from`).

    `cache_beside_scratch`: Brian2's cython cache goes next to the worker's Dask scratch (one per
    node, on its local disk); False where that scratch is temporary: the user's own cache then.
    """
    branches, trunks = plan_branches(runs) if share else ({}, set())
    recorded = done_in_results(sweep_dir)
    finished = {r.run_id for r in runs if is_finished(Path(sweep_dir) / "runs" / r.run_id)}
    jobs = []
    for r in runs:
        if r.run_id in finished or r.run_id in recorded:  # done, in its run dir or only in results.csv
            continue
        b = branches.get(r.run_id)
        if b is not None and b.trunk in recorded and b.trunk not in finished:
            branches.pop(r.run_id)  # its trunk's states went with its run directory: run from scratch
        job = {
            "run_id": r.run_id,
            "run_dir": str((Path(sweep_dir) / "runs" / r.run_id).resolve()),
            "base": str(r.point.base),
            "overrides": list(r.point.overrides),
            # Brian2 leaks memory across networks and needs the main thread: its runs get their own process
            "isolate": r.backend == "spiking",
            "cache_beside_scratch": cache_beside_scratch,
        }
        if r.run_id in trunks:
            job["save_states"] = True  # its branches start from them
        if r.run_id in branches:
            b = branches[r.run_id]
            job["after"] = b.trunk
            job["from"] = f"{(Path(sweep_dir) / 'runs' / b.trunk).resolve()}:{b.phase}"
        jobs.append(job)
    return jobs


def done_in_results(sweep_dir: Path) -> dict[str, dict]:
    """Rows of `sweep_dir`/results.csv marked done whose run directory is gone, by run id.

    A run directory that exists (or a scratch dir of its run) decides for itself: a half-written
    one is run again whatever an older results.csv says.
    """
    runs = Path(sweep_dir) / "runs"
    try:
        with open(Path(sweep_dir) / RESULTS, newline="") as f:
            rows = [row for row in csv.DictReader(f) if row.get("status") == "done"]
    except (OSError, KeyError, csv.Error):
        return {}
    return {row["run_id"]: row for row in rows
            if not (runs / row["run_id"]).exists() and not any((runs / TMP_DIR).glob(f"{row['run_id']}.*"))}


def _running(client) -> int:
    """Tasks executing now: the scheduler also counts tasks queued on a worker as processing."""
    nthreads = client.nthreads()
    return sum(min(len(keys), nthreads.get(w, 1)) for w, keys in client.processing().items())


def execute(client, jobs: list[dict], done_before: int, total: int, quiet: bool) -> None:
    """Submit one task per job and follow them with a progress bar until all have returned.

    `done_before` runs (finished in an earlier invocation) start the bar, so its ETA is honest.
    """
    from tqdm import tqdm

    # pure=False: a task is an action with side effects on disk, never a cached value. A branch
    # of shared training waits for its trunk (its future as an argument); trunks come first.
    by_id = {}
    for job in sorted(jobs, key=lambda j: "after" in j):
        trunk = by_id.get(job.get("after"))
        args = (job,) if trunk is None else (job, trunk)
        by_id[job["run_id"]] = client.submit(execute_run, *args, key=f"run-{job['run_id']}", pure=False)
    futures = list(by_id.values())
    # Each future reports itself when it ends (from a thread of its own client; distributed.wait
    # would go through the process's default client, which need not be this one).
    ended: queue.SimpleQueue = queue.SimpleQueue()
    for fut in futures:
        fut.add_done_callback(ended.put)
    counts = {"failed": 0, "running": 0}
    left = len(futures)
    with tqdm(total=total, initial=done_before, unit="run", disable=quiet, file=sys.stderr) as bar:
        while left:
            # returns as soon as a run ends; the timeout only paces the running-count refresh
            try:
                finished = [ended.get(timeout=REFRESH_S)]
            except queue.Empty:
                finished = []
            while not ended.empty():
                finished.append(ended.get())
            left -= len(finished)
            for fut in finished:
                try:
                    counts["failed"] += fut.result()["status"] == "failed"
                except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: Dask gave up on this run
                    counts["failed"] += 1
                    bar.write(f"{fut.key}: {type(e).__name__}: {e}")
            if not quiet:
                running = _running(client)
                if finished or running != counts["running"]:
                    counts["running"] = running
                    bar.set_postfix(counts, refresh=False)
                    bar.update(len(finished))
                    bar.refresh()


def _load_manifest(sweep_dir: Path) -> dict:
    path = Path(sweep_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except OSError:
        raise InputError([f"{path}: (file): not found; is {sweep_dir} a sweep directory?"]) from None
    except ValueError as e:
        raise InputError([f"{path}: (file): unreadable: {e}"]) from None


def _run_state(sweep_dir: Path, run_id: str) -> str:
    run_dir = Path(sweep_dir) / "runs" / run_id
    if is_finished(run_dir):
        return "done"
    if (run_dir / "error.txt").exists():
        return "failed"
    if any((Path(sweep_dir) / "runs" / TMP_DIR).glob(f"{run_id}.*")):
        return "running"
    return "missing"


def _scan(sweep_dir: Path, manifest: dict) -> tuple[dict[str, int], list[Path], dict[str, str]]:
    states = {r["run_id"]: _run_state(sweep_dir, r["run_id"]) for r in manifest["runs"]}
    recorded = done_in_results(sweep_dir)
    states = {rid: "done" if s != "done" and rid in recorded else s for rid, s in states.items()}
    counts = {k: 0 for k in ("done", "failed", "running", "missing")}
    for s in states.values():
        counts[s] += 1
    failed = [Path(sweep_dir) / "runs" / rid / "error.txt" for rid, s in states.items() if s == "failed"]
    return counts, failed, states


def _status(sweep_dir: Path, manifest: dict) -> SweepStatus:
    counts, failed, _ = _scan(sweep_dir, manifest)
    return SweepStatus(sweep_file=manifest["sweep_file"], sweep_dir=Path(sweep_dir), total=len(manifest["runs"]),
                       counts=counts, failed=failed)


def status(sweep_dir: Path) -> SweepStatus:
    """Summarise a sweep directory from the files on disk; safe while the sweep still runs.

    "running" counts runs with a temporary directory: in progress, or left by a killed sweep (the
    next `neurosteer sweep` runs them again). Raises `InputError` if it is not a sweep directory.
    """
    return _status(sweep_dir, _load_manifest(sweep_dir))


def _scalar(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def write_results(sweep_dir: Path) -> Path:
    """Write sweep_dir/results.csv from the run directories: one row per run of the manifest.

    Columns: run_id, base (only when the sweep has several), the swept keys, seed, every scalar
    metric as `phase.metric` (phases in the order the runs report them), wall_time_s, status.
    A run done only in the previous results.csv (its directory gone) keeps that row's metrics.
    """
    sweep_dir = Path(sweep_dir)
    manifest = _load_manifest(sweep_dir)
    recorded = done_in_results(sweep_dir)
    _, _, states = _scan(sweep_dir, manifest)
    rows, metric_columns = [], {}
    for run in manifest["runs"]:
        run_dir = sweep_dir / "runs" / run["run_id"]
        row = {"run_id": run["run_id"], "base": Path(run["base"]).name}
        row.update({k: _scalar(v) for k, v in run["params"].items() if k != SEED_KEY})
        row["seed"] = _scalar(run["seed"])
        if states[run["run_id"]] == "done" and not is_finished(run_dir):
            old = recorded[run["run_id"]]
            metric_columns.update({c: None for c in old if "." in c and c not in row and c not in manifest["params"]})
            row.update({c: v for c, v in old.items() if c not in row})
        elif states[run["run_id"]] == "done":
            metrics = json.loads((run_dir / "metrics.json").read_text())
            for phase, values in metrics.items():
                if not isinstance(values, dict):
                    continue
                for name, value in values.items():
                    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
                        column = f"{phase}.{name}"
                        metric_columns[column] = None
                        row[column] = _scalar(value)
            try:
                row["wall_time_s"] = json.loads((run_dir / "meta.json").read_text()).get("wall_time_s", "")
            except (OSError, ValueError):
                row["wall_time_s"] = ""
        row["status"] = states[run["run_id"]]
        rows.append(row)

    columns = ["run_id"] + (["base"] if len(manifest["bases"]) > 1 else [])
    columns += [p for p in manifest["params"] if p != SEED_KEY] + ["seed"]
    columns += list(metric_columns) + ["wall_time_s", "status"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = sweep_dir / RESULTS
    write_atomic(path, buf.getvalue())
    return path
