"""The scaling study's CSVs that come from run directories (they stay local; the CSVs are committed):
replicas.csv per sweep (every seed's metrics), failed.csv (the failed runs' errors) and the probes'
probes.csv / cka.csv (from traces.h5).
Called through `python tools/scaling_study.py collect SWEEP_DIR...` and `... probes SWEEP_DIR...`."""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import RATE_SWEEPS, ROOT, STUDY  # noqa: E402
from study_tables import merge_committed, read_csv, write_csv  # noqa: E402

sys.path.insert(0, str(ROOT))


def _done_runs(sweep_dir: Path):
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    for run in manifest["runs"]:
        run_dir = sweep_dir / "runs" / run["run_id"]
        if (run_dir / "metrics.json").exists():
            yield run, run_dir


def collect(sweep_dir: Path) -> Path:
    """replicas.csv: one row per (run, replica), every phase's per-replica metrics; and failed.csv,
    one row per run that results.csv has as failed, with the last line of its error.txt (its
    `--- ... ---` markers skipped; the file is removed once no run has failed). A run whose
    directory is not here (a sweep resumed on another machine from the committed CSVs) keeps its
    rows of the committed replicas.csv / failed.csv."""
    status = {r["run_id"]: r["status"] for r in read_csv(sweep_dir / "results.csv")}
    errors = {r["run_id"]: r for r in read_csv(sweep_dir / "failed.csv")}
    failed, fresh = [], {}
    for run in json.loads((sweep_dir / "sweep.json").read_text())["runs"]:
        run_id, run_dir = run["run_id"], sweep_dir / "runs" / run["run_id"]
        params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in run["params"].items()}
        if status.get(run_id) == "failed":   # missing / running: not run yet
            err = run_dir / "error.txt"
            if not err.exists() and run_id in errors:
                failed.append(errors[run_id])
                continue
            lines = [ln.strip() for ln in err.read_text().splitlines()
                     if ln.strip() and not ln.strip().startswith("---")] if err.exists() else []
            failed.append({"run_id": run_id, "base": Path(run["base"]).name, **params,
                           "error": lines[-1] if lines else f"status {status[run_id]}, no error.txt"})
        elif (run_dir / "metrics.json").exists():
            metrics = json.loads((run_dir / "metrics.json").read_text())
            per = {f"{ph}.{k}": v for ph, d in metrics.items() if isinstance(d, dict)
                   for k, v in d.get("per_replica", {}).items()}
            fresh[run_id] = [{"run_id": run_id, "base": Path(run["base"]).name, **params, "replica": i,
                              **{k: v[i] for k, v in per.items()}} for i in range(len(next(iter(per.values()))))]
    if failed:
        write_csv(sweep_dir / "failed.csv", failed)
    else:
        (sweep_dir / "failed.csv").unlink(missing_ok=True)
    write_csv(sweep_dir / "replicas.csv", merge_committed(sweep_dir, "replicas.csv", fresh))
    return sweep_dir / "replicas.csv"




def _backend(run_dir: Path) -> str:
    """'rate' or 'spiking': the run's meta.json (a run without one is a rate run)."""
    meta = run_dir / "meta.json"
    return json.loads(meta.read_text()).get("backend", "rate") if meta.exists() else "rate"


def _filter_rows(run_dir: Path, d: dict, phase: str = "test") -> list[dict]:
    """A spiking run's class probes on what its readout reads of the recorded neurons: their per-step
    spike counts beside the same counts through the readout's exponential filters (config
    cortex.filter_taus_ms; y[s] = a y[s-1] + (1 - a) c[s], a = exp(-step_ms / tau), from 0 at the
    phase's first step); and, as the reference of no cortex, the input symbols (one-hot) through
    the same filters. [] for a run without filters (the rate cortex)."""
    import h5py
    from experiments.probes.sequence import MAX_STEPS, cv_class_accuracy
    from scipy.signal import lfilter

    cortex = yaml.safe_load((run_dir / "config.yaml").read_text())["cortex"]
    taus = cortex.get("filter_taus_ms") or []
    if not taus:
        return []
    decays = np.exp(-float(cortex["step_ms"]) / np.asarray(taus, float))
    with h5py.File(run_dir / "traces.h5", "r") as f:
        symbols = f[phase]["input"][()]
    n_symbols = int(symbols.max()) + 1
    taus_ms = " / ".join(f"{t:,g}" for t in taus)
    rows = []
    for k in range(d["activity"].shape[0]):
        onehot = np.zeros((symbols.shape[1], n_symbols))
        on = np.flatnonzero(symbols[k] >= 0)
        onehot[on, symbols[k, on]] = 1.0
        for label, x in ((f"counts + filters {taus_ms} ms", d["activity"][k].astype(np.float64)),
                         (f"input symbols + filters {taus_ms} ms", onehot)):
            X = np.hstack([x] + [lfilter([1 - a], [1, -a], x, axis=0) for a in decays])[:MAX_STEPS]
            for target, y_all in d["targets"].items():
                if target == "depth":
                    continue
                y = y_all[k, :MAX_STEPS]
                score, classes = cv_class_accuracy(X, y)
                rows.append({"replica": k, "target": target, "measure": "balanced_accuracy", "score": score,
                             "chance": 1 / max(classes, 1), "classes": classes, "steps": int((y >= 0).sum()),
                             "units": x.shape[1], "features": label})
    return rows


def probes(*sweep_dirs: Path) -> list[Path]:
    """probes.csv (decoders per run, replica, target) and cka.csv (between seeds, between sizes)
    over the done runs (those with metrics.json) of every sweep given, each row with its backend.
    A spiking run adds decoders on its readout's filters of the recorded counts and of the input
    symbols (column `features`, see _filter_rows; empty: the recorded activity as it is). One run
    per (backend, base, size), the first given: runs that differ only in their readout (the spiking
    cortex's projected readouts) record the same activity in open loop, and would count it twice."""
    from experiments.probes.sequence import linear_cka, load_sequence, probe_sequence_run, state_cka, state_means
    rows, cka, loaded = [], [], {}
    for sweep_dir in sweep_dirs:
        for run, run_dir in _done_runs(Path(sweep_dir)):
            backend, base, n = _backend(run_dir), Path(run["base"]).name, int(run["params"]["cortex.n_units"])
            if (backend, base, n) in loaded:
                continue
            d = load_sequence(run_dir)
            rows += [{"backend": backend, "base": base, "n_units": n, **r}
                     for r in probe_sequence_run(run_dir) + _filter_rows(run_dir, d)]
            loaded[(backend, base, n)] = d
            means = [state_means(d["activity"][k], d["targets"]["state"][k]) for k in range(d["activity"].shape[0])]
            for i, j in itertools.combinations(range(len(means)), 2):
                cka.append({"backend": backend, "base": base, "between": "seeds", "a": n, "b": n, "pair": f"{i}-{j}",
                            "cka": state_cka(means[i], means[j]), "items": len(set(means[i]) & set(means[j]))})
    for backend, base in dict.fromkeys((k, b) for k, b, _ in loaded):
        sizes = sorted(n for k, b, n in loaded if (k, b) == (backend, base))
        for a, b in zip(sizes, sizes[1:]):   # the same replica seed at two sizes: the same stream
            da, db = loaded[(backend, base, a)], loaded[(backend, base, b)]
            for k in range(da["activity"].shape[0]):
                steps = np.flatnonzero(da["active"][k])[:2000]
                cka.append({"backend": backend, "base": base, "between": "sizes", "a": a, "b": b, "pair": f"{k}",
                            "cka": linear_cka(da["activity"][k, steps], db["activity"][k, steps]), "items": len(steps)})
    write_csv(STUDY / "probes.csv", rows)
    write_csv(STUDY / "cka.csv", cka)
    return [STUDY / "probes.csv", STUDY / "cka.csv"]


def seed_full(study: Path = STUDY) -> Path:
    """studies/scaling/full/results.csv from the thinned rate sweeps' done rows (the same run ids), so
    that `neurosteer sweep configs/sweeps/cortex_scaling.yaml --out studies/scaling/full` runs only
    the points they lack."""
    rows = [r for name in RATE_SWEEPS for r in read_csv(study / name / "results.csv") if r["status"] == "done"]
    (study / "full").mkdir(exist_ok=True)
    write_csv(study / "full" / "results.csv", rows)
    return study / "full" / "results.csv"

