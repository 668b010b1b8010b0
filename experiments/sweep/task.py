"""What a Dask worker does for one sweep run: run it, publish it atomically.

Spiking runs execute in their own Python process (`python -m experiments.sweep.task JOB_JSON`):
Brian2 leaks memory across networks in one process (brian2 issue #933) and installs a SIGINT
handler that fails outside the main thread, and a worker task runs in a thread. Rate runs hold
only numpy arrays and run inside the single-threaded worker process, which saves starting a new
interpreter per run. A run writes
into a private directory `runs/.tmp/<run_id>.<random>/run`; only when it is done is that
directory renamed to `runs/<run_id>`. So a run directory either does not exist, or is complete (valid
`metrics.json`: done), or holds `error.txt` (failed); a SIGKILL at any point leaves at most a
stale temporary directory, which the next attempt of the same run removes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

TMP_DIR = ".tmp"
LOG_NAME = "sweep.log"
CYTHON_CACHE_ENV = "NEUROSTEER_CYTHON_CACHE"
# The directory holding the `experiments` package, so a worker's child (and a batch job) finds it
# without an install.
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


def is_finished(run_dir: Path) -> bool:
    """True if `run_dir` holds a readable metrics.json (the runner writes it last, atomically)."""
    try:
        with open(Path(run_dir) / "metrics.json") as f:
            return isinstance(json.load(f), dict)
    except (OSError, ValueError):
        return False


def _cython_cache_dir() -> str:
    """One Brian2 cython cache per node, on local disk next to the Dask workers' scratch dirs."""
    try:
        from distributed import get_worker

        scratch = Path(get_worker().local_directory).parent
    except (ImportError, ValueError):
        scratch = Path(tempfile.gettempdir())
    return str(scratch / "neurosteer-cython")


def _child_env(job: dict) -> dict[str, str]:
    env = dict(os.environ)
    if job.get("cache_beside_scratch", True):
        env.setdefault(CYTHON_CACHE_ENV, _cython_cache_dir())
    # Appended, so that an explicit PYTHONPATH (or an install) keeps precedence.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), SOURCE_ROOT) if p)
    return env


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        hint = " (out of memory?)" if returncode == -signal.SIGKILL else ""
        return f"run process killed by signal {-returncode} ({name}){hint}"
    return f"run process exited with status {returncode}"


def _log_tail(log: Path, n_chars: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-n_chars:]
    except OSError:
        return ""


def _publish(out: Path, run_dir: Path) -> None:
    """Rename the complete directory `out` to `run_dir`, replacing an earlier failed attempt."""
    if is_finished(run_dir):
        # Another attempt of the same run (Dask may re-run a task whose worker it lost) won.
        return
    if run_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f"{run_dir.name}.old-", dir=out.parent.parent))
        os.rename(run_dir, trash / "run")
        shutil.rmtree(trash, ignore_errors=True)
    os.rename(out, run_dir)


def execute_run(job: dict, *after) -> dict:
    """Dask task: run one sweep point in a subprocess and move its directory into place.

    `job` holds `run_id`, `run_dir`, `base` (config path) and `overrides` (list of `key=value`);
    optionally `from` (`RUN_DIR:PHASE`, a trunk's state to branch from: used when it is there,
    else the run starts from scratch) and `save_states` (a trunk's: save every phase end's
    state). `after`: the trunk's outcome (Dask passes it; it only orders the tasks). A run that
    died mid-way (killed worker: its temporary directory; or a failed run directory) and saved
    states is resumed after its last saved phase (`neurosteer run --resume`) instead of rerun.
    Returns `{"run_id", "status": "done"|"failed"|"skipped", "run_dir", "wall_s"}`; a failing run
    is a normal result (its traceback is in `run_dir/error.txt`), not an exception, so that Dask
    only retries a run when the worker running it was lost.
    """
    run_dir = Path(job["run_dir"])
    outcome = {"run_id": job["run_id"], "run_dir": str(run_dir), "status": "skipped", "wall_s": 0.0}
    if is_finished(run_dir):
        return outcome
    tmp_root = run_dir.parent / TMP_DIR
    tmp_root.mkdir(parents=True, exist_ok=True)
    # The runner wants an absent or empty output dir, so the log lives beside it until the end.
    scratch = Path(tempfile.mkdtemp(prefix=f"{job['run_id']}.", dir=tmp_root))
    out, log_path = scratch / "run", scratch / LOG_NAME
    job = dict(job, resume=_adopt_unfinished(job["run_id"], run_dir, tmp_root, scratch, out))

    start = time.perf_counter()
    if job.get("isolate", True):
        returncode = _run_in_subprocess(job, out, log_path)
    else:
        returncode = _run_in_process(job, out, log_path)
    outcome["wall_s"] = time.perf_counter() - start
    out.mkdir(exist_ok=True)
    if returncode == 0 and is_finished(out):
        outcome["status"] = "done"
    else:
        outcome["status"] = "failed"
        if not (out / "error.txt").exists():
            (out / "error.txt").write_text(
                f"{_describe_exit(returncode)}\n--- end of {LOG_NAME} ---\n{_log_tail(log_path)}"
            )
    os.rename(log_path, out / LOG_NAME)
    _publish(out, run_dir)
    shutil.rmtree(scratch, ignore_errors=True)
    return outcome


def _adopt_unfinished(run_id: str, run_dir: Path, tmp_root: Path, scratch: Path, out: Path) -> bool:
    """Move the newest unfinished attempt of this run that saved a state to ``out`` (True), and
    remove the other stale attempts; False when there is none (the run starts over)."""
    candidates = [p / "run" for p in tmp_root.glob(f"{run_id}.*") if p != scratch]
    if run_dir.exists() and not is_finished(run_dir):
        candidates.append(run_dir)
    usable = [c for c in candidates if (c / "config.yaml").is_file() and any((c / "states").glob("*.h5"))]
    best = max(usable, key=lambda c: max(p.stat().st_mtime for p in (c / "states").glob("*.h5")), default=None)
    if best is not None:
        os.rename(best, out)
    for stale in tmp_root.glob(f"{run_id}.*"):
        if stale != scratch:
            shutil.rmtree(stale, ignore_errors=True)
    return best is not None


def _run_in_subprocess(job: dict, out: Path, log_path: Path) -> int:
    """A fresh interpreter per run: memory and Brian2's process-wide state die with it."""
    child_job = {"run_id": job["run_id"], "base": job["base"], "overrides": job["overrides"], "out": str(out),
                 "parent_pid": os.getpid(), **{k: job[k] for k in ("from", "save_states", "resume") if k in job}}
    with open(log_path, "ab") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "experiments.sweep.task", json.dumps(child_job)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=_child_env(job),
        )
    return proc.returncode


def _run_in_process(job: dict, out: Path, log_path: Path) -> int:
    """Rate-backend runs hold only numpy arrays, freed when the run ends, so they run inside the
    (single-threaded) worker process and skip the ~0.6 s start of a new interpreter."""
    with open(log_path, "a") as log:
        try:
            _load_and_run(job, out)
        except Exception:
            log.write(traceback.format_exc())
            return 1
    return 0


def _load_and_run(job: dict, out: Path) -> None:
    """Load the config exactly as the sweep validated it, then run it into ``out``."""
    try:
        from experiments import config, runner
        from experiments.sweep.spec import run_id

        spec = config.load(Path(job["base"]), list(job["overrides"]))
        got = run_id(spec.resolved())
        if got != job["run_id"]:
            raise RuntimeError(
                f"config resolves to run id {got}, not {job['run_id']}: was {job['base']} edited during the sweep?"
            )
        from experiments.errors import InputError

        if job.get("resume"):
            try:
                runner.resume_run(out, quiet=True, plots=False)
                return
            except InputError as exc:  # its state is damaged or not this config's: start over
                print(f"not resuming {out}: {'; '.join(exc.problems)}", file=sys.stderr)
                shutil.rmtree(out, ignore_errors=True)
        start = None
        if job.get("from"):
            from experiments.state import start_from

            try:
                start = start_from(spec, job["from"])
            except InputError as exc:  # the trunk failed or saved nothing: train here instead
                print(f"not branching from {job['from']}: {'; '.join(exc.problems)}", file=sys.stderr)
        runner.run_spec(spec, out, quiet=True, plots=False, start=start, force_state=bool(job.get("save_states")))
    except BaseException:
        # The runner writes error.txt itself; anything that fails before it (or leaves no file) is recorded here.
        if not (out / "error.txt").exists():
            out.mkdir(parents=True, exist_ok=True)
            (out / "error.txt").write_text(traceback.format_exc())
        raise


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the worker that started it dies.

    Without this, killing a worker (or the whole sweep) would leave its runs going on as orphans
    while Dask starts them again elsewhere.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _child_main(job_json: str) -> int:
    """Body of the run process: load the config exactly as the sweep validated it, then run."""
    job = json.loads(job_json)
    _die_with_parent(job["parent_pid"])
    _load_and_run(job, Path(job["out"]))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
