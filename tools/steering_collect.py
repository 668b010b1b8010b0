"""The steering study's run-directory readers: per-replica and probe CSVs from a sweep's run dirs.

Called by ``python tools/steering_study.py collect|probes SWEEP_DIR``; the study's tables read
only the CSVs these write (see tools/steering_study.py).
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from steering_study import FROZEN, PROBE_UNITS, REPLICA_METRICS, ROOT


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _runs(sweep_dir: Path):
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    for run in manifest["runs"]:
        yield run, sweep_dir / "runs" / run["run_id"]


def collect(sweep_dir: Path) -> Path:
    """Write sweep_dir/replicas.csv: per replica of every finished run, its swept values, its seed
    (the run's seed + replica index) and the REPLICA_METRICS from metrics.json's per_replica."""
    rows = []
    for run, run_dir in _runs(sweep_dir):
        if not (run_dir / "metrics.json").exists():
            continue
        metrics = json.loads((run_dir / "metrics.json").read_text())
        per = {(p, m): metrics[p]["per_replica"].get(m) for p, m in REPLICA_METRICS if p in metrics}
        n = len(metrics[FROZEN]["per_replica"]["proxy_reliance"])
        for k in range(n):
            row = {"run_id": run["run_id"], **{key: v for key, v in run["params"].items() if key != "seed"},
                   "seed": int(run["seed"]) + k}
            for (p, m), values in per.items():
                v = None if values is None else values[k]
                row[f"{p}.{m}"] = "" if v is None else v
            rows.append(row)
    path = sweep_dir / "replicas.csv"
    _write_csv(path, rows)
    return path


def probes(sweep_dir: Path) -> Path:
    """Write sweep_dir/probes.csv: experiments.probes.probe_run of every finished run."""
    sys.path.insert(0, str(ROOT))
    from experiments.probes import probe_run

    rows = []
    for run, run_dir in _runs(sweep_dir):
        if (run_dir / "metrics.json").exists():
            params = {key: v for key, v in run["params"].items() if key != "seed"}
            for r in probe_run(run_dir, n_units=PROBE_UNITS):
                rows.append({"run_id": run["run_id"], **params, "seed": int(run["seed"]) + r.pop("replica"), **r})
    path = sweep_dir / "probes.csv"
    _write_csv(path, rows)
    return path
