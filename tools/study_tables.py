"""CSV and markdown-table helpers shared by the study tools (scaling_study.py, universals_study.py and
the modules they load): reading and writing CSVs, numbers from cells, formatting a value, a seed mean
+- s.d., a markdown table, a baseline's name, a paired-by-seed difference with its test, and the\nrewriting of a generated block between two markers of a document."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV as dicts ([] if the file is missing)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows of dicts as a CSV, the columns in the order they first appear."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def replace_block(path: Path, start: str, end: str, body: str) -> None:
    """Rewrite the text between the marker lines ``start`` and ``end`` of ``path`` with ``body``."""
    text = path.read_text()
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def merge_committed(sweep_dir: Path, name: str, fresh: dict[str, list[dict]]) -> list[dict]:
    """The rows of sweep_dir/name, run by run in sweep.json's order: a run's rows made from its run
    directory (``fresh``) or, for a run that results.csv has as done but whose directory is not here
    (a sweep resumed on another machine from the committed CSVs), its rows of the committed file."""
    status = {r["run_id"]: r["status"] for r in read_csv(sweep_dir / "results.csv")}
    committed: dict[str, list[dict]] = {}
    for r in read_csv(sweep_dir / name):
        committed.setdefault(r["run_id"], []).append(r)
    rows = []
    for run in json.loads((sweep_dir / "sweep.json").read_text())["runs"]:
        run_id = run["run_id"]
        rows += fresh[run_id] if run_id in fresh else committed.get(run_id, []) if status.get(run_id) == "done" else []
    return rows


def num(x) -> float:
    """A cell as a float (NaN if it is empty or not a number)."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def baseline_name(cortex: str) -> str:
    """'3-gram' or 'LSTM one_pass' from a baselines results.csv `cortex` cell (JSON)."""
    c = json.loads(cortex)
    return f"{c.get('order')}-gram" if c.get("model") == "ngram" else f"LSTM {c.get('regime', 'one_pass')}"


def fmt(x: float, digits: int = 3) -> str:
    """A value with `digits` decimals ('n/a' for None or NaN)."""
    return "n/a" if x is None or np.isnan(x) else f"{x:.{digits}f}"


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def mean_sd(values) -> str:
    """'mean +- s.d.' of seed values (s.d. 0 for one value)."""
    return f"{np.mean(values):.3f} +- {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"


def paired(a: dict[int, float], b: dict[int, float], higher_better: bool) -> tuple[float, float, int]:
    """(mean, standard error, n) of the seed-by-seed advantage of ``a`` over ``b`` (positive: ``a``
    better)."""
    common = sorted(set(a) & set(b))
    if not common:
        return float("nan"), float("nan"), 0
    d = np.array([a[k] - b[k] for k in common]) * (1 if higher_better else -1)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return float(d.mean()), se, len(d)


def is_bias(mean: float, se: float, n: int) -> bool:
    """A paired difference beyond 0.01 whose two-sided 95% t-interval over the n seeds excludes 0."""
    from scipy.stats import t

    return n >= 2 and not np.isnan(se) and abs(mean) > 0.01 and abs(mean) > t.ppf(0.975, n - 1) * se
