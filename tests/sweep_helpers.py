"""Helpers shared by the sweep tests: writing a sweep file over tests/data/sweep_base.yaml,
running `neurosteer sweep` on it (exit code, as a user sees it), reading a sweep's results.csv, and
running one planned point as `neurosteer run` (as a study's quick-look test does)."""
from __future__ import annotations

import csv
from pathlib import Path

import yaml

from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "data" / "sweep_base.yaml"


def write_sweep(tmp_path: Path, name: str = "sweep.yaml", **body) -> Path:
    body.setdefault("base", str(BASE))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def read_results(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / "results.csv") as f:
        return list(csv.DictReader(f))


def cli_sweep(path: Path, out_dir: Path | None = None, engine: str | None = None, workers: int | None = None,
              quiet: bool = False, dry_run: bool = False, profile: Path | None = None) -> int:
    """``neurosteer sweep PATH [--out ...] ...``; returns its exit code (0 done, 1 failed runs, 2 bad input)."""
    argv = ["sweep", str(path)]
    for flag, value in (("--out", out_dir), ("--engine", engine), ("--workers", workers), ("--profile", profile)):
        if value is not None:
            argv += [flag, str(value)]
    argv += ["--quiet"] * quiet + ["--dry-run"] * dry_run
    return main(argv)


def run_point(run, out_dir: Path) -> dict:
    """``neurosteer run BASE --set ...`` of one planned sweep run (``experiments.sweep.run.plan``), as a
    user reproduces a point; asserts exit 0 and returns its metrics.json."""
    import json

    argv = ["run", str(run.point.base), "--out", str(out_dir), "--quiet"]
    for o in run.point.overrides:
        argv += ["--set", o]
    assert main(argv) == 0
    return json.loads((Path(out_dir) / "metrics.json").read_text())
