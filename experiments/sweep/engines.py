"""Where sweep runs execute: a Dask cluster chosen by name.

- `local`: a `distributed.LocalCluster` with one single-threaded worker process per core;
- `slurm` / `pbs`: dask-jobqueue `SLURMCluster` / `PBSCluster`, options from the sweep's
  `cluster:` block (over a site `--profile` file);
- `tcp://HOST:PORT` (any address with `://`): a scheduler that is already running.

Dask does the scheduling, and re-runs the task of a worker it loses; nothing here duplicates that.

Scratch and dashboard. Dask's default scratch space is `$TMPDIR/dask-scratch-space`, which it
never removes; every cluster made here puts the scratch of the processes on this machine (the
scheduler, and local workers unless `cluster.local_directory` names a place) in a temporary
directory removed when the cluster closes. The dashboard binds a free port (the fixed default,
8787, warns whenever another Dask process holds it); `dashboard_link` says where it is.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

from experiments.errors import InputError
from experiments.sweep.spec import ClusterOptions
from experiments.sweep.task import SOURCE_ROOT

ENGINES = ("local", "slurm", "pbs")
DEFAULT_JOB_MEMORY = "2GB"
# Upper bound on worker processes asked from a batch system when neither --workers nor
# `cluster.workers` says how many.
DEFAULT_MAX_BATCH_WORKERS = 8


def check_engine(engine: str, workers: Optional[int]) -> None:
    """Raise `InputError` naming every problem with the engine name or worker count."""
    problems = []
    if engine not in ENGINES and "://" not in engine:
        problems.append(f"--engine: {engine}: expected one of {', '.join(ENGINES)} or a scheduler address like tcp://HOST:PORT")
    submit = {"slurm": "sbatch", "pbs": "qsub"}.get(engine)
    if submit and shutil.which(submit) is None:
        problems.append(f"--engine: {engine}: `{submit}` not found on this machine (run the sweep where jobs can be submitted)")
    if workers is not None and workers < 1:
        problems.append(f"--workers: {workers}: must be at least 1")
    if problems:
        raise InputError(problems)


def merge_options(profile: Optional[ClusterOptions], sweep_options: ClusterOptions) -> ClusterOptions:
    """Site profile values, overridden by whatever the sweep file sets explicitly."""
    if profile is None:
        return sweep_options
    merged = profile.model_dump()
    merged.update(sweep_options.model_dump(exclude_unset=True))
    return ClusterOptions.model_validate(merged)


def jobqueue_kwargs(options: ClusterOptions, log_directory: Path) -> dict:
    """Keyword arguments for SLURMCluster / PBSCluster from the sweep's cluster options."""
    kwargs = options.model_dump(exclude_none=True, exclude={"workers"})
    kwargs.setdefault("cores", 1)
    kwargs.setdefault("memory", DEFAULT_JOB_MEMORY)
    # One single-threaded worker per core, as locally: each task just waits on its run process.
    kwargs.setdefault("processes", kwargs["cores"])
    kwargs.setdefault("log_directory", str(log_directory))
    # Worker jobs start in the submission directory; make the source tree importable there even
    # when neurosteer is used from a checkout rather than installed (appended: an install or an
    # explicit PYTHONPATH keeps precedence, as for the run processes).
    kwargs["job_script_prologue"] = [
        f'export PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{SOURCE_ROOT}"',
        *kwargs.get("job_script_prologue", []),
    ]
    return kwargs


def scratch_is_temporary(engine: str, options: ClusterOptions) -> bool:
    """True if the workers' scratch is a temporary directory removed with the cluster: the local
    engine, unless `cluster.local_directory` names a place to keep it."""
    return engine == "local" and options.local_directory is None


@contextlib.contextmanager
def make_cluster(engine: str, options: ClusterOptions, sweep_dir: Path) -> Iterator[Any]:
    """A LocalCluster, SLURMCluster or PBSCluster (not scaled), closed on exit together with
    the temporary scratch directory of its processes on this machine."""
    with tempfile.TemporaryDirectory(prefix="neurosteer-dask-", ignore_cleanup_errors=True) as scratch:
        if engine == "local":
            from distributed import LocalCluster

            with LocalCluster(
                n_workers=options.workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: no "port 8787 is already in use" warning
                scheduler_kwargs={"local_directory": scratch},
                local_directory=options.local_directory or scratch,
            ) as cluster:
                yield cluster
            return
        try:
            import dask_jobqueue
        except ImportError:
            raise InputError([f"--engine: {engine}: needs dask-jobqueue (pip install -e .[cluster])"]) from None
        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[engine]
        scheduler = {"dashboard_address": ":0", "local_directory": scratch}
        with cls(scheduler_options=scheduler, **jobqueue_kwargs(options, Path(sweep_dir) / "worker-logs")) as cluster:
            yield cluster


def dashboard_link(client) -> Optional[str]:
    """Address of the Dask dashboard, or None where it cannot serve pages (bokeh not installed)."""
    if importlib.util.find_spec("bokeh") is None:
        return None
    return client.dashboard_link


def check_slurm_submission(job_script: str) -> None:
    """Raise InputError if Slurm would refuse the worker job (`sbatch --test-only`: nothing is
    queued). dask-jobqueue only logs a refused submission, and the sweep would then wait forever
    for workers that never come."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="neurosteer-worker-") as f:
        f.write(job_script)
        f.flush()
        try:
            done = subprocess.run(["sbatch", "--test-only", f.name], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise InputError(["--engine: slurm: `sbatch --test-only` did not answer within 60 s"]) from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise InputError([f"--engine: slurm: sbatch refuses the worker job: {lines[-1]}"])


@contextlib.contextmanager
def open_client(
    engine: str, options: ClusterOptions, sweep_dir: Path, workers: Optional[int], n_runs: int
) -> Iterator[Any]:
    """A connected Dask client for `engine`; its cluster (if we made one) is closed on exit.

    Worker processes: local: `workers` or one per core; slurm/pbs: `workers`, else
    `options.workers`, else min(runs, DEFAULT_MAX_BATCH_WORKERS). Never more than `n_runs` locally.
    """
    from distributed import Client

    if "://" in engine:
        with Client(engine) as client:
            yield client
        return
    if engine == "local":
        # The cluster block describes batch jobs; only --workers sizes a local cluster.
        n = min(workers or os.cpu_count() or 1, n_runs)
        options = options.model_copy(update={"workers": max(1, n)})
    elif workers is not None:
        options = options.model_copy(update={"workers": workers})
    with make_cluster(engine, options, Path(sweep_dir).resolve()) as cluster:
        if engine == "slurm":
            check_slurm_submission(cluster.job_script())
        if engine != "local":
            cluster.scale(n=options.workers or min(n_runs, DEFAULT_MAX_BATCH_WORKERS))
        with Client(cluster) as client:
            yield client
