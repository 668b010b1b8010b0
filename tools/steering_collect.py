"""The steering study's run-directory readers: per-replica and probe CSVs from a sweep's run dirs.

Called by ``python tools/steering_study.py collect|probes SWEEP_DIR``; the study's tables read
only the CSVs these write (see tools/steering_study.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from steering_study import FROZEN, PROBE_UNITS, REPLICA_METRICS, ROOT
from study_tables import merge_committed, write_csv


def _write_merged(sweep_dir: Path, name: str, fresh: dict[str, list[dict]]) -> Path:
    """Write sweep_dir/name (study_tables.merge_committed: a done run's committed rows are kept where
    its directory is not here); refuses, leaving the file as it was, when that would be no row at all."""
    rows = merge_committed(sweep_dir, name, fresh)
    if not rows:
        raise SystemExit(f"{sweep_dir}: no finished run under runs/ and no committed rows in {name}: "
                         f"nothing to write ({name} left as it was)")
    write_csv(sweep_dir / name, rows)
    return sweep_dir / name


def _runs(sweep_dir: Path):
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    for run in manifest["runs"]:
        yield run, sweep_dir / "runs" / run["run_id"]


def collect(sweep_dir: Path) -> Path:
    """Write sweep_dir/replicas.csv: per replica of every finished run, its swept values, its seed
    (the run's seed + replica index) and the REPLICA_METRICS from metrics.json's per_replica."""
    fresh: dict[str, list[dict]] = {}
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
            fresh.setdefault(run["run_id"], []).append(row)
    return _write_merged(sweep_dir, "replicas.csv", fresh)


def probes(sweep_dir: Path) -> Path:
    """Write sweep_dir/probes.csv: experiments.probes.probe_run of every finished run."""
    sys.path.insert(0, str(ROOT))
    from experiments.probes import probe_run

    fresh: dict[str, list[dict]] = {}
    for run, run_dir in _runs(sweep_dir):
        if (run_dir / "metrics.json").exists():
            params = {key: v for key, v in run["params"].items() if key != "seed"}
            for r in probe_run(run_dir, n_units=PROBE_UNITS):
                fresh.setdefault(run["run_id"], []).append(
                    {"run_id": run["run_id"], **params, "seed": int(run["seed"]) + r.pop("replica"), **r})
    return _write_merged(sweep_dir, "probes.csv", fresh)
