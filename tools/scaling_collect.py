"""The scaling study's CSVs that come from run directories (they stay local; the CSVs are committed):
replicas.csv per sweep (every seed's metrics), failed.csv (the failed runs' errors) and the probes'
probes.csv / cka.csv (from traces.h5).
Called through `python tools/scaling_study.py collect|probes SWEEP_DIR`."""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import RATE_SWEEPS, ROOT, STUDY, _write_csv, read_csv  # noqa: E402

sys.path.insert(0, str(ROOT))


def _done_runs(sweep_dir: Path):
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    for run in manifest["runs"]:
        run_dir = sweep_dir / "runs" / run["run_id"]
        if (run_dir / "metrics.json").exists():
            yield run, run_dir


def collect(sweep_dir: Path) -> Path:
    """replicas.csv: one row per (run, replica), every phase's per-replica metrics; and failed.csv,
    one row per run that results.csv has as failed, with the last line of its error.txt (removed
    once no run has failed)."""
    failed = []
    status = {r["run_id"]: r["status"] for r in read_csv(sweep_dir / "results.csv")}
    for run in json.loads((sweep_dir / "sweep.json").read_text())["runs"]:
        if status.get(run["run_id"], "done") != "done":
            err = sweep_dir / "runs" / run["run_id"] / "error.txt"
            lines = [ln.strip() for ln in err.read_text().splitlines() if ln.strip()] if err.exists() else []
            failed.append({"run_id": run["run_id"], "base": Path(run["base"]).name,
                           **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in run["params"].items()},
                           "error": lines[-1] if lines else f"status {status[run['run_id']]}, no error.txt"})
    if failed:
        _write_csv(sweep_dir / "failed.csv", failed)
    else:
        (sweep_dir / "failed.csv").unlink(missing_ok=True)
    rows = []
    for run, run_dir in _done_runs(sweep_dir):
        metrics = json.loads((run_dir / "metrics.json").read_text())
        per = {f"{ph}.{k}": v for ph, d in metrics.items() if isinstance(d, dict)
               for k, v in d.get("per_replica", {}).items()}
        params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in run["params"].items()}
        for i in range(len(next(iter(per.values())))):
            rows.append({"run_id": run["run_id"], "base": Path(run["base"]).name, **params, "replica": i,
                         **{k: v[i] for k, v in per.items()}})
    _write_csv(sweep_dir / "replicas.csv", rows)
    return sweep_dir / "replicas.csv"


def probes(sweep_dir: Path) -> list[Path]:
    """probes.csv (decoders per run, replica, target) and cka.csv (between seeds, between sizes)."""
    from experiments.probes.sequence import linear_cka, load_sequence, probe_sequence_run, state_cka, state_means

    rows, cka, loaded = [], [], {}
    for run, run_dir in _done_runs(sweep_dir):
        base, n = Path(run["base"]).name, int(run["params"]["cortex.n_units"])
        rows += [{"base": base, "n_units": n, **r} for r in probe_sequence_run(run_dir)]
        d = load_sequence(run_dir)
        loaded[(base, n)] = d
        means = [state_means(d["activity"][k], d["targets"]["state"][k]) for k in range(d["activity"].shape[0])]
        for i, j in itertools.combinations(range(len(means)), 2):
            cka.append({"base": base, "between": "seeds", "a": n, "b": n, "pair": f"{i}-{j}",
                        "cka": state_cka(means[i], means[j]), "items": len(set(means[i]) & set(means[j]))})
    for base in {b for b, _ in loaded}:
        sizes = sorted(n for b, n in loaded if b == base)
        for a, b in zip(sizes, sizes[1:]):   # the same replica seed at two sizes: the same stream
            da, db = loaded[(base, a)], loaded[(base, b)]
            for k in range(da["activity"].shape[0]):
                steps = np.flatnonzero(da["active"][k])[:2000]
                cka.append({"base": base, "between": "sizes", "a": a, "b": b, "pair": f"{k}",
                            "cka": linear_cka(da["activity"][k, steps], db["activity"][k, steps]), "items": len(steps)})
    _write_csv(STUDY / "probes.csv", rows)
    _write_csv(STUDY / "cka.csv", cka)
    return [STUDY / "probes.csv", STUDY / "cka.csv"]


def seed_full(study: Path = STUDY) -> Path:
    """studies/scaling/full/results.csv from the thinned rate sweeps' done rows (the same run ids), so
    that `neurosteer sweep configs/sweeps/cortex_scaling.yaml --out studies/scaling/full` runs only
    the points they lack."""
    rows = [r for name in RATE_SWEEPS for r in read_csv(study / name / "results.csv") if r["status"] == "done"]
    (study / "full").mkdir(exist_ok=True)
    _write_csv(study / "full" / "results.csv", rows)
    return study / "full" / "results.csv"

