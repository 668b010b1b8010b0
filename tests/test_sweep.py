"""Parameter sweeps run on a local Dask cluster: results, resume, failures and faults.

Runs use tests/data/sweep_base.yaml (about a second each). The fault tests (marked slow) kill a
worker or the whole sweep process and check that every run still ends up done and correct.
Expansion and validation of sweep files: test_sweep_spec.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from experiments.cli import main
from experiments.errors import InputError
from experiments.sweep.run import run_sweep, status, write_results
from experiments.sweep.task import is_finished
from sweep_helpers import ROOT, cli_sweep, read_results, write_sweep
# ---------------------------------------------------------------------------------------------
# running


def test_sweep_runs_every_point_and_writes_results(tmp_path):
    path = write_sweep(tmp_path, grid={"cortex.n_units": [8, 16]}, seeds=[0, 1])
    out = tmp_path / "out"
    done = run_sweep(path, out_dir=out, workers=2, quiet=True)
    assert done.complete and done.counts["done"] == 4 and not done.failed
    rows = read_results(out)
    assert len(rows) == 4
    header = list(rows[0])
    assert header[:3] == ["run_id", "cortex.n_units", "seed"] and header[-2:] == ["wall_time_s", "status"]
    assert any(c.startswith("train.") for c in header) and any(c.startswith("test.") for c in header)
    assert not any(c.endswith("per_replica") for c in header)
    for row in rows:
        assert row["status"] == "done" and float(row["wall_time_s"]) > 0
        run_dir = out / "runs" / row["run_id"]
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert (config["cortex"]["n_units"], config["seed"]) == (int(row["cortex.n_units"]), int(row["seed"]))
        metrics = json.loads((run_dir / "metrics.json").read_text())
        for column, value in row.items():
            phase, _, name = column.partition(".")
            if phase in metrics and name in metrics[phase]:
                assert value == "" if metrics[phase][name] is None else float(value) == pytest.approx(metrics[phase][name])
    now = status(out)
    assert now.complete and "total 4, done 4, failed 0, running 0, missing 0" in now.summary()
    # metric-vs-size plots are drawn from results.csv at the end of the sweep
    assert any((out / "plots").glob("sweep_test.*.png"))


def test_sweep_on_an_existing_scheduler(tmp_path):
    from distributed import LocalCluster

    path = write_sweep(tmp_path, seeds=2)
    scratch = str(tmp_path / "scratch")  # Dask's default, $TMPDIR/dask-scratch-space, outlives the test
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, local_directory=scratch,
                      scheduler_kwargs={"local_directory": scratch}) as cluster:
        assert cli_sweep(path, out_dir=tmp_path / "out", engine=cluster.scheduler_address, quiet=True) == 0
    assert [r["status"] for r in read_results(tmp_path / "out")] == ["done", "done"]


def test_a_sweep_leaves_no_dask_scratch_behind(tmp_path, monkeypatch):
    """Neither the temporary directory nor the working directory keeps Dask's scratch space."""
    tmp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    tmp.mkdir(), cwd.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # for the worker processes
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.chdir(cwd)
    path = write_sweep(cwd, seeds=1)
    assert cli_sweep(path, out_dir=Path("out"), workers=1, quiet=True) == 0
    assert list(tmp.iterdir()) == []
    assert sorted(p.name for p in cwd.iterdir()) == ["out", "sweep.yaml"]
    assert not list(tmp_path.rglob("dask-scratch-space"))


@pytest.fixture
def port_8787_taken():
    """Hold Dask's default dashboard port (if nothing else does already)."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("", 8787))
            sock.listen()
        except OSError:
            pass  # already in use: just as good
        yield


@pytest.mark.parametrize("engine", ["local", "slurm", "pbs"])
def test_a_cluster_does_not_warn_about_the_dashboard_port(tmp_path, engine, port_8787_taken, recwarn):
    if engine != "local":
        pytest.importorskip("dask_jobqueue", reason="the slurm and pbs engines need the [cluster] extra")
    from experiments.sweep.engines import make_cluster
    from experiments.sweep.spec import ClusterOptions

    with make_cluster(engine, ClusterOptions(workers=1), tmp_path):
        pass
    assert not [str(w.message) for w in recwarn if "already in use" in str(w.message)]


def test_unreachable_scheduler_is_bad_input(tmp_path, capsys):
    import dask

    path = write_sweep(tmp_path, seeds=1)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert cli_sweep(path, out_dir=tmp_path / "out", engine="tcp://127.0.0.1:9", quiet=True) == 2
    assert "--engine: tcp://127.0.0.1:9: cannot use this cluster" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_rerun_skips_finished_runs(tmp_path, capsys):
    path = write_sweep(tmp_path, seeds=2)
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, workers=1, quiet=True) == 0
    stamps = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in (out / "runs").glob("[!.]*")}
    # the sweep grows by one seed: only that run executes
    path = write_sweep(tmp_path, seeds=3)
    assert cli_sweep(path, out_dir=out, workers=1) == 0
    assert "3 runs, 2 already done" in capsys.readouterr().err
    after = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in (out / "runs").glob("[!.]*")}
    assert len(after) == 3 and all(after[k] == v for k, v in stamps.items())


def test_failing_point_is_reported_and_the_others_finish(tmp_path, capsys):
    """A linear reservoir with a large gain diverges: a valid config whose run fails."""
    # two healthy points and two diverging ones
    path = write_sweep(tmp_path, set={"cortex.activation": "linear"},
                       grid={"cortex.spectral_radius": [0.5, 50.0], "cortex.n_units": [8, 16]})
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, workers=2, quiet=True) == 1
    err = capsys.readouterr().err
    rows = read_results(out)
    by_status = {s: [r for r in rows if r["status"] == s] for s in ("done", "failed")}
    assert len(by_status["done"]) == 2 and len(by_status["failed"]) == 2
    assert all(float(r["cortex.spectral_radius"]) == 50.0 for r in by_status["failed"])
    for row in by_status["failed"]:
        error = out / "runs" / row["run_id"] / "error.txt"
        assert "Traceback" in error.read_text()
        assert str(error) in err
    now = status(out)
    assert not now.complete and "failed 2" in now.summary()
    assert str(out / "runs" / by_status["failed"][0]["run_id"]) in now.summary()


def test_half_written_runs_never_count_as_done(tmp_path):
    path = write_sweep(tmp_path, seeds=2)
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, workers=1, quiet=True) == 0
    first, second = sorted((out / "runs").glob("[!.]*"))
    # what a SIGKILL can leave: a truncated metrics.json in a scratch dir, a run dir without metrics
    (first / "metrics.json").write_text('{"train": {"kl')
    (second / "metrics.json").unlink()
    scratch = out / "runs" / ".tmp" / f"{first.name}.abandoned" / "run"
    scratch.mkdir(parents=True)
    assert not is_finished(first) and not is_finished(second)
    write_results(out)
    # an abandoned scratch dir reads as "running" until the next sweep starts that run again
    assert {r["run_id"]: r["status"] for r in read_results(out)} == {first.name: "running", second.name: "missing"}
    assert cli_sweep(path, out_dir=out, workers=1, quiet=True) == 0
    assert is_finished(first) and is_finished(second)
    assert not any((out / "runs" / ".tmp").iterdir())


def test_status_of_a_directory_that_is_not_a_sweep(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 2
    assert "sweep.json" in capsys.readouterr().err
    with pytest.raises(InputError):
        status(tmp_path)


# ---------------------------------------------------------------------------------------------
# faults (slow): SIGKILL a worker; SIGKILL the whole sweep and resume


def _sweep_command(sweep: Path, out: Path, workers: int = 2) -> list[str]:
    return [sys.executable, "-m", "experiments", "sweep", str(sweep), "--out", str(out),
            "--workers", str(workers), "--quiet"]


def _wait_for(predicate, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def _descendants(sweep_pid: int, marker: str = "") -> list:
    """Processes below the sweep whose command line contains ``marker`` (all of them for "")."""
    import psutil

    try:
        children = psutil.Process(sweep_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if marker in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def _runs_in_progress(out: Path) -> bool:
    tmp = out / "runs" / ".tmp"
    return tmp.exists() and any(tmp.iterdir())


def _metrics_by_params(sweep_dir: Path) -> dict:
    rows = read_results(sweep_dir)
    return {(r["cortex.n_units"], r["seed"]): {k: v for k, v in r.items() if "." in k and k != "cortex.n_units"}
            for r in rows}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The fault sweep run undisturbed, for comparing metrics."""
    tmp = tmp_path_factory.mktemp("reference")
    path = write_sweep(tmp, grid={"cortex.n_units": [8, 12, 16, 20]}, seeds=2)
    assert cli_sweep(path, out_dir=tmp / "out", workers=2, quiet=True) == 0
    return path, _metrics_by_params(tmp / "out")


@pytest.mark.slow
def test_sigkill_of_a_worker_mid_sweep_loses_no_run(tmp_path, reference):
    path, expected = reference
    out = tmp_path / "out"
    proc = subprocess.Popen(_sweep_command(path, out), cwd=ROOT)
    # rate runs execute inside the Dask worker processes (spawned by multiprocessing)
    worker = _wait_for(lambda: _runs_in_progress(out) and _descendants(proc.pid, "spawn_main"), timeout_s=120)[0]
    os.kill(worker.pid, signal.SIGKILL)
    assert proc.wait(timeout=300) == 0
    assert _metrics_by_params(out) == expected
    assert status(out).complete


@pytest.mark.slow
def test_sigkill_of_the_sweep_then_rerun_runs_only_the_missing(tmp_path, reference):
    path, expected = reference
    out = tmp_path / "out"
    proc = subprocess.Popen(_sweep_command(path, out), cwd=ROOT)
    runs = out / "runs"
    _wait_for(lambda: runs.exists() and len([d for d in runs.glob("[!.]*") if is_finished(d)]) >= 3)
    descendants = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # no run process survives its sweep
    _wait_for(lambda: not any(p.is_running() and p.status() != "zombie" for p in descendants), timeout_s=30)
    published = [d for d in runs.glob("[!.]*")]
    assert all(is_finished(d) for d in published), "a run dir appeared that is not complete"
    assert len(published) < 8
    stamps = {d.name: (d / "metrics.json").stat().st_mtime_ns for d in published}

    again = subprocess.run(_sweep_command(path, out)[:-1], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"8 runs, {len(published)} already done" in again.stderr
    assert all((runs / k / "metrics.json").stat().st_mtime_ns == v for k, v in stamps.items())
    assert _metrics_by_params(out) == expected


@pytest.mark.slow
@pytest.mark.brian2
def test_spiking_runs_on_workers_with_a_per_node_cython_cache(tmp_path, monkeypatch):
    """Brian2 runs in its own process per run (no SIGINT-handler-in-thread error) and compiles
    into the user's cython cache (the local engine's scratch is removed after the sweep), or into
    one cache per node beside the Dask workers' scratch where that is kept."""
    monkeypatch.setenv("NEUROSTEER_CYTHON_CACHE", str(tmp_path / "user-cache"))
    path = write_sweep(tmp_path, seeds=2, set={
        "cortex.backend": "spiking", "cortex.model": "lif", "cortex.n_units": 20,
        "phases.train.strings": 10, "phases.test.strings": 5,
    })
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, workers=2, quiet=True) == 0
    metas = [json.loads((d / "meta.json").read_text()) for d in (out / "runs").glob("[!.]*")]
    assert len(metas) == 2 and {m["target"] for m in metas} == {"cython"}
    assert list((tmp_path / "user-cache").glob("*.so"))

    monkeypatch.delenv("NEUROSTEER_CYTHON_CACHE")
    kept = tmp_path / "scratch"
    path = write_sweep(tmp_path, seeds=[2], set=yaml.safe_load(path.read_text())["set"],
                       cluster={"local_directory": str(kept)})
    assert cli_sweep(path, out_dir=tmp_path / "out2", workers=1, quiet=True) == 0
    assert list((kept / "dask-scratch-space" / "neurosteer-cython").glob("*.so"))


def test_a_refused_slurm_worker_job_is_an_error_not_an_endless_wait(tmp_path, monkeypatch, capsys):
    """If sbatch refuses the worker job, the sweep stops at once with exit 2 and sbatch's reason
    (dask-jobqueue would only log it and wait forever for workers)."""
    pytest.importorskip("dask_jobqueue")
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid account' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    code = cli_sweep(ROOT / "configs" / "sweeps" / "smoke.yaml", out_dir=tmp_path / "sweep", engine="slurm",
                     workers=1, quiet=True)
    assert code == 2
    assert "--engine: slurm: sbatch refuses the worker job: sbatch: error: Batch job submission failed: " \
           "Invalid account" in capsys.readouterr().err
    assert not (tmp_path / "sweep" / "runs").exists()
