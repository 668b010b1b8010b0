"""Helpers shared by the sweep tests: writing a sweep file over tests/data/sweep_base.yaml and
reading a sweep's results.csv."""
from __future__ import annotations

import csv
from pathlib import Path

import yaml

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
