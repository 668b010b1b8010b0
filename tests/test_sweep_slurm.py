"""Sweeps through a real Slurm (start one with `.ci/slurm.sh start`; run with `pytest -m slurm`).

The smoke sweep must give the same metrics through `--engine slurm` as through the local engine,
and must still complete when one of its worker jobs is cancelled mid-sweep.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.sweep.run import status
from sweep_helpers import cli_sweep

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "configs" / "sweeps" / "smoke.yaml"


def _slurm_is_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    return subprocess.run(["scontrol", "ping"], capture_output=True).returncode == 0


pytest.importorskip("dask_jobqueue", reason="the slurm engine needs the [cluster] extra")

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not _slurm_is_up(), reason="no Slurm controller answers (start one: .ci/slurm.sh start)"),
]


def _rows(sweep_dir: Path) -> dict[str, dict]:
    with open(sweep_dir / "results.csv") as f:
        return {r["run_id"]: r for r in csv.DictReader(f)}


def _metrics(rows: dict[str, dict]) -> dict[str, dict]:
    """Everything but the timing: parameters, seed, metrics, status."""
    return {rid: {k: v for k, v in r.items() if k != "wall_time_s"} for rid, r in rows.items()}


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "smoke"
    assert cli_sweep(SMOKE, out_dir=out, workers=2, quiet=True) == 0
    return _rows(out)


def test_smoke_sweep_on_slurm_matches_local(tmp_path, local_results):
    out = tmp_path / "smoke"
    assert cli_sweep(SMOKE, out_dir=out, engine="slurm", workers=2, quiet=True) == 0
    slurm = _rows(out)
    assert len(slurm) == 8
    assert _metrics(slurm) == _metrics(local_results)
    # the runs really went through Slurm worker jobs
    assert list((out / "worker-logs").glob("*.err"))


def _squeue_running() -> list[str]:
    out = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i"], capture_output=True, text=True).stdout
    return out.split()


@pytest.mark.slow
def test_scancel_of_a_worker_job_mid_sweep_loses_no_run(tmp_path, local_results):
    out = tmp_path / "smoke"
    cmd = [sys.executable, "-m", "experiments", "sweep", str(SMOKE), "--engine", "slurm", "--workers", "2",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    scratch = out / "runs" / ".tmp"
    deadline = time.monotonic() + 120
    # cancel a worker job while it is running a run (a scratch dir exists) and runs remain
    while time.monotonic() < deadline:
        jobs = _squeue_running()
        if jobs and scratch.exists() and any(scratch.iterdir()):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no worker job started running a run within 120 s")
    done_before = len([d for d in (out / "runs").glob("[!.]*")])
    subprocess.run(["scancel", jobs[0]], check=True)
    assert proc.wait(timeout=300) == 0
    assert done_before < 8, "the sweep finished before the job was cancelled; nothing was tested"
    assert _metrics(_rows(out)) == _metrics(local_results)
    now = status(out)
    assert now.complete, now.summary()
