"""The scaling study's tables and figures in docs/results.md ("Language"), made from committed CSVs.

    python tools/scaling_study.py collect studies/scaling/size   # replicas.csv from the run dirs (scaling_collect.py)
    python tools/scaling_study.py probes studies/scaling/size studies/scaling/spiking   # probes.csv, cka.csv from traces.h5 (scaling_collect.py)
    python tools/scaling_study.py table studies/scaling/size     # a quick look at one sweep
    python tools/scaling_study.py seed-full                      # studies/scaling/full/results.csv: the thinned points
    python tools/scaling_study.py --write                        # re-render docs/results.md's section
    python tools/scaling_study.py --figures                      # docs/figures/scaling_*.png (scaling_figures.py)

The text between ``language:start`` / ``language:end`` of docs/results.md is ``render(load())``:
tests/test_scaling_study.py checks that it is what the committed CSVs give. Plotting reads the
CSVs only; only scaling_collect.py reads run directories. Fits and criteria: tools/scaling_fits.py.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from scaling_fits import best_fit, describe, differs, direction, first_meeting, first_meeting_with_gaps  # noqa: E402

STUDY = ROOT / "studies" / "scaling"
RESULTS_MD = ROOT / "docs" / "results.md"
FIGURES = ROOT / "docs" / "figures"
START, END = "<!-- language:start -->", "<!-- language:end -->"
SWEEPS = ("size", "large", "data", "data_small", "baselines", "baselines_data", "lstm_converge", "spiking", "spiking_ladder")
SPIKING_SWEEPS = ("spiking", "spiking_ladder")   # the spiking LIF cortex: embedded Reber, and the other rungs
RATE_SWEEPS = ("size", "large", "data", "data_small")   # the rate cortex's points of cortex_scaling.yaml
DATA_SWEEPS = ("data", "data_small")   # the data axis: 50 / 200 / 5,000 strings (1,000: the size sweeps)
DATA_SIZE = 1024     # the largest size with the data axis (the old headline size; the wall estimate's reference)
STRINGS = 1000       # the size axis' training strings

# base config -> (label, phase, metric, criterion, higher is better)
RUNGS = {
    "bigram.yaml": ("first-order (bigram)", "test", "kl_to_optimal", 0.05, False),
    "reber.yaml": ("Reber", "test", "kl_to_optimal", 0.05, False),
    "embedded_reber.yaml": ("embedded Reber", "test", "longrange_accuracy", 0.95, True),
    "embedded_reber_long.yaml": ("embedded Reber, 2 inner strings", "test", "longrange_accuracy", 0.95, True),
    "anbn.yaml": ("anbn, n 11-30 (longer than trained)", "test_long", "longrange_accuracy", 0.95, True),
    "dyck.yaml": ("Dyck, longer than trained", "test_long", "longrange_accuracy", 0.95, True),
    "agreement.yaml": ("agreement", "test", "longrange_accuracy", 0.95, True),
}


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV as dicts ([] if the file is missing)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict]) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# -- loading the committed CSVs -----------------------------------------------------------------------
def load(study: Path = STUDY) -> dict:
    """Every committed CSV of the study, by sweep name (missing sweeps give empty lists): per sweep
    its done rows of results.csv ("results"), its rows of any other status ("failed": points that
    ran and broke, shown as missing until a re-run makes them done) and replicas.csv."""
    data = {}
    for name in SWEEPS:
        rows = read_csv(study / name / "results.csv")
        if rows and "base" not in rows[0]:   # a sweep of one base has no base column: sweep.json's runs name it
            bases = {run["run_id"]: Path(run["base"]).name
                     for run in json.loads((study / name / "sweep.json").read_text())["runs"]}
            rows = [{**r, "base": bases[r["run_id"]]} for r in rows]
        data[name] = {"results": [r for r in rows if r["status"] == "done"],
                      "failed": [r for r in rows if r["status"] != "done"],
                      "replicas": read_csv(study / name / "replicas.csv"),
                      "errors": {r["run_id"]: r["error"] for r in read_csv(study / name / "failed.csv")}}
    data["probes"], data["cka"] = read_csv(study / "probes.csv"), read_csv(study / "cka.csv")
    return data


def _col(rung: str) -> str:
    _, phase, metric, _, _ = RUNGS[rung]
    return f"{phase}.{metric}"


def size_points(data: dict, rung: str) -> dict[int, list[float]]:
    """Rate cortex, STRINGS training strings: size -> every seed's value of the rung's metric."""
    out: dict[int, list[float]] = {}
    for name in ("size", "large"):
        for r in data[name]["replicas"]:
            if r["base"] == rung:   # both sweeps train on STRINGS strings
                out.setdefault(int(r["cortex.n_units"]), []).append(_num(r[_col(rung)]))
    return out


def spiking_points(data: dict, rung: str) -> dict[int, list[float]]:
    """Spiking LIF cortex, STRINGS training strings: neurons -> every seed's value of the rung's metric."""
    out: dict[int, list[float]] = {}
    for name in SPIKING_SWEEPS:
        for r in data[name]["replicas"]:
            if rung_of(r["base"]) == rung:
                out.setdefault(int(r["cortex.n_units"]), []).append(_num(r[_col(rung)]))
    return out


def spiking_missing(data: dict) -> dict[tuple[str, int], str]:
    """(rung, neurons) -> the error of each spiking point that ran and did not finish."""
    return {(rung_of(r["base"]), int(r["cortex.n_units"])): data[name]["errors"].get(r["run_id"], f"status {r['status']}")
            for name in SPIKING_SWEEPS for r in data[name]["failed"]}


def data_points(data: dict, rung: str, size: int = DATA_SIZE) -> dict[int, list[float]]:
    """Rate cortex at `size` units: training strings -> every seed's value (STRINGS from the size axis)."""
    out = {STRINGS: size_points(data, rung).get(size, [])}
    for name in DATA_SWEEPS:
        for r in data[name]["replicas"]:
            if r["base"] == rung and int(r["cortex.n_units"]) == size:
                out.setdefault(int(r["phases.train.strings"]), []).append(_num(r[_col(rung)]))
    return {k: v for k, v in out.items() if v}


def data_sizes(data: dict) -> list[int]:
    """The sizes the data axis was run at (points other than STRINGS strings, done or failed)."""
    return sorted({int(r["cortex.n_units"]) for name in DATA_SWEEPS
                   for r in data[name]["replicas"] + data[name]["failed"]})


def data_strings(data: dict) -> list[int]:
    """The data axis' training-set sizes, STRINGS included."""
    return sorted({STRINGS} | {int(r["phases.train.strings"]) for name in DATA_SWEEPS
                               for r in data[name]["results"] + data[name]["failed"]})


def missing(data: dict) -> dict[tuple[str, int, int], str]:
    """(rung, size, strings) -> the error of each rate-cortex point that ran and did not finish
    (status other than done in results.csv), until a re-run makes it done."""
    out = {}
    for name in RATE_SWEEPS:
        for r in data[name]["failed"]:
            key = (r["base"], int(r["cortex.n_units"]), int(r.get("phases.train.strings") or STRINGS))
            out[key] = data[name]["errors"].get(r["run_id"], f"status {r['status']}")
    return out


def baseline_name(cortex: str) -> str:
    """'3-gram' or 'LSTM one_pass' from a baselines results.csv `cortex` cell (JSON)."""
    c = json.loads(cortex)
    return f"{c.get('order')}-gram" if c.get("model") == "ngram" else f"LSTM {c.get('regime', 'one_pass')}"


def _baselines(data: dict, kind: str = "results") -> list[dict]:
    return data["baselines"][kind] + data["lstm_converge"][kind]


def baseline_means(data: dict, rung: str) -> dict[str, float]:
    """Baseline name (ngram order k, lstm regime) -> mean of the rung's metric at STRINGS strings."""
    return {baseline_name(r["cortex"]): _num(r[_col(rung)]) for r in _baselines(data) if r["base"] == rung}


def baseline_curves(data: dict, rung: str) -> dict[str, dict[int, float]]:
    """Baseline name -> {training strings: mean of the rung's metric} (STRINGS from the baselines sweep)."""
    out: dict = {}
    for name, strings in (("baselines", lambda r: STRINGS), ("lstm_converge", lambda r: STRINGS),
                          ("baselines_data", lambda r: int(r["phases.train.strings"]))):
        for r in data[name]["results"]:
            if r["base"] == rung:
                out.setdefault(baseline_name(r["cortex"]), {})[strings(r)] = _num(r[_col(rung)])
    return out


BASELINE_SWEEPS = ("baselines", "baselines_data", "lstm_converge")   # STRINGS strings where a row has no strings


def baseline_points(data: dict, rung: str, name: str) -> dict[int, list[float]]:
    """One baseline ('LSTM one_pass', '3-gram'): training strings -> every seed's value of the
    rung's metric, from the baseline sweeps' replicas.csv."""
    out: dict[int, list[float]] = {}
    for sweep in BASELINE_SWEEPS:
        for r in data[sweep]["replicas"]:
            if r["base"] == rung and baseline_name(r["cortex"]) == name:
                out.setdefault(int(r.get("phases.train.strings") or STRINGS), []).append(_num(r[_col(rung)]))
    return out


def best_ngram(data: dict, rung: str) -> dict[int, tuple[str, float]]:
    """Training strings -> (order, mean) of the best n-gram there (the order chosen per point)."""
    hb, out = RUNGS[rung][4], {}
    grams = {name: c for name, c in baseline_curves(data, rung).items() if "gram" in name}
    for k in sorted({k for c in grams.values() for k in c}):
        got = {name: c[k] for name, c in grams.items() if k in c}
        pick = (max if hb else min)(got, key=got.get)
        out[k] = (pick, got[pick])
    return out


def chance(data: dict, rung: str) -> float:
    """The rung metric's chance level, as the scorer reports it."""
    for r in data["size"]["results"]:
        if r["base"] == rung:
            return _num(r.get(_col(rung) + "_chance"))
    return float("nan")


# -- tables ---------------------------------------------------------------------------------------------
def _f(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _ms(values) -> str:
    return f"{np.mean(values):.3f} +- {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"


def size_table(data: dict) -> str:
    """Per rung: mean +- seed s.d. of its metric at each rate size, chance and baselines."""
    sizes = sorted({n for rung in RUNGS for n in size_points(data, rung)})
    rows = []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        pts, base = size_points(data, rung), baseline_means(data, rung)
        grams = [v for k, v in base.items() if "gram" in k]
        ng = (max if hb else min)(grams) if grams else float("nan")
        rows.append([label, f"{phase}.{metric}"] + [_ms(pts[n]) if n in pts else "" for n in sizes]
                    + [_f(chance(data, rung)), _f(ng), _f(base.get("LSTM one_pass", float("nan"))),
                       _f(base.get("LSTM converge", float("nan")))])
    return _table(["rung", "metric"] + [f"{n:,}" for n in sizes]
                  + ["chance", "best n-gram", "LSTM one pass", "LSTM converged"], rows)


def spiking_size_table(data: dict) -> str:
    """Per rung: mean +- seed s.d. of its metric on the spiking cortex at each size in neurons (a
    failed point says so), beside chance and the best n-gram."""
    gone = spiking_missing(data)
    sizes = sorted({n for rung in RUNGS for n in spiking_points(data, rung)} | {n for _, n in gone})
    rows = []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        pts = spiking_points(data, rung)
        if not pts and not any(r == rung for r, _ in gone):
            continue
        grams = [v for k, v in baseline_means(data, rung).items() if "gram" in k]
        rows.append([label, f"{phase}.{metric}"]
                    + [_ms(pts[n]) if n in pts else "missing (run failed)" if (rung, n) in gone else "" for n in sizes]
                    + [_f(chance(data, rung)), _f((max if hb else min)(grams) if grams else float("nan"))])
    return _table(["rung", "metric"] + [f"{n:,} neurons" for n in sizes] + ["chance", "best n-gram"], rows)


def fit_table(data: dict) -> str:
    """Per rung: the fit against log size, and the first size meeting the criterion at STRINGS strings."""
    rows = []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        pts = size_points(data, rung)
        if len(pts) < 3:
            continue
        sizes = [n for n, v in pts.items() for _ in v]
        fit = best_fit(sizes, [x for v in pts.values() for x in v], hb, chance(data, rung) if hb else None)
        at_size = first_meeting(pts, crit, hb)
        note = " (midpoint below the range: the rise is under 16 units)" if fit["model"] == "sigmoid" and 2 ** fit["x50"] < min(pts) else ""
        rows.append([label, f"{'>=' if hb else '<='} {crit}", describe(fit) + note,
                     f"{at_size:,} units" if at_size else f"never within the range ({min(pts):,}-{max(pts):,})"])
    return _table(["rung", "criterion", "fit of metric vs log2 size (every seed)",
                   f"first size meeting it ({STRINGS:,} strings)"], rows)


# -- the data axis at every size it was run at ----------------------------------------------------------
def to_criterion(data: dict, rung: str, size: int) -> dict:
    """The fewest training strings whose seed mean meets the rung's criterion at `size` units, the
    failed points allowed for (scaling_fits.first_meeting_with_gaps; `met` is a number of strings)."""
    _, _, _, crit, hb = RUNGS[rung]
    gone = [s for (b, n, s) in missing(data) if b == rung and n == size]
    return first_meeting_with_gaps(data_points(data, rung, size), gone, crit, hb)


def _span(strings) -> str:
    return f"{min(strings):,}-{max(strings):,}"


def to_criterion_cell(got: dict, short: bool = False) -> str:
    """'1,000', 'never (50-5,000)', or what the finished points say and which point failed."""
    gone = ", ".join(f"{g:,}" for g in got["gone"])
    if got["met"] and got["sure"]:
        return f"{got['met']:,}"
    if got["met"]:
        return f"{got['met']:,} or fewer" + ("" if short else f" ({gone}: run failed)")
    if got["sure"]:
        return "never" + ("" if short else f" ({_span(got['tried'])})")
    return f"not by {max(got['tried']):,}" + ("" if short else f" ({gone}: run failed)")


WORDS = {"falls": "falls with size", "rises": "rises with size", "same": "the same at every size",
         "never": "never met", "mixed": "no single direction"}


def trend(data: dict, rung: str) -> tuple[str, list[int]]:
    """How the strings to criterion move with size, over the sizes whose answer is sure (a key of
    WORDS), and the sizes left out (a failed point could change them)."""
    got = {n: to_criterion(data, rung, n) for n in data_sizes(data)}
    return direction([got[n]["met"] for n in got if got[n]["sure"]]), [n for n in got if not got[n]["sure"]]


def baseline_to_criterion(data: dict, rung: str, name: str) -> tuple[int | None, list[int], list[int]]:
    """A baseline's fewest training strings meeting the rung's criterion ('LSTM one_pass' by its
    seed mean; 'best n-gram': the best order at each number of strings): (met or None, the strings
    tried, the strings above the first meeting where it is missed again)."""
    _, _, _, crit, hb = RUNGS[rung]
    pts = ({k: [v] for k, (_, v) in best_ngram(data, rung).items()} if name == "best n-gram"
           else baseline_points(data, rung, name))
    ok = lambda k: (float(np.mean(pts[k])) >= crit) if hb else (float(np.mean(pts[k])) <= crit)  # noqa: E731
    met = first_meeting(pts, crit, hb)
    return met, sorted(pts), [k for k in sorted(pts) if met and k > met and not ok(k)]


def baseline_criterion_cell(got) -> str:
    """'1,000', '50 (not at 200)', 'never (50-5,000)'."""
    met, tried, again = got
    if not tried:
        return ""
    if met is None:
        return f"never ({_span(tried)})"
    return f"{met:,}" + (f" (not at {', '.join(f'{k:,}' for k in again)})" if again else "")


BASELINE_COLUMNS = (("LSTM one_pass", "LSTM one pass"), ("best n-gram", "best n-gram"))


def criterion_table(data: dict) -> str:
    """Per rung: the fewest training strings meeting the criterion at each size of the data axis,
    and for the one-pass LSTM and the best n-gram on the same strings."""
    sizes, rows = data_sizes(data), []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        how, left = trend(data, rung)
        rows.append([label, f"{'>=' if hb else '<='} {crit}"]
                    + [to_criterion_cell(to_criterion(data, rung, n)) for n in sizes]
                    + [WORDS[how] + (f" ({', '.join(f'{n:,}' for n in left)} units left out)" if left else "")]
                    + [baseline_criterion_cell(baseline_to_criterion(data, rung, b)) for b, _ in BASELINE_COLUMNS])
    return _table(["rung", "criterion"] + [f"{n:,} units" for n in sizes] + ["with size"]
                  + [h for _, h in BASELINE_COLUMNS], rows)


def criterion_summary(data: dict) -> str:
    """The data axis across sizes in words: per direction (strings to criterion falling or rising
    with size), the rungs that go that way, and the rungs no size meets with the most strings."""
    sizes, most = data_sizes(data), max(data_strings(data))
    head = " / ".join(f"{n:,}" for n in sizes)
    lines = [f"Fewest training strings ({_span(data_strings(data))}) meeting the criterion at {head} units (a seed mean "
             "is compared with the criterion before rounding: a 0.950 in the tables can be below 0.95):"]
    for how in WORDS:
        said = []
        for rung in RUNGS:
            got, left = trend(data, rung)
            if got == how:
                path = " / ".join(to_criterion_cell(to_criterion(data, rung, n), short=True) for n in sizes)
                gone = f"; {', '.join(f'{n:,}' for n in left)} units not counted, a run there failed" if left else ""
                said.append(f"**{RUNGS[rung][0]}** ({path}{gone})")
        if said:
            label = f"never met with up to {most:,} strings at any of these sizes" if how == "never" else WORDS[how]
            lines.append(f"- {label}: " + "; ".join(said))
    return "\n".join(lines)


def strings_or_units(data: dict, rung: str, size: int):
    """The most strings at `size` units against STRINGS strings at the size axis' next size:
    (winner 'strings' / 'units' / 'level', mean with more strings, mean with more units, next size);
    None where a point is missing or there is no next size."""
    pts, hb = size_points(data, rung), RUNGS[rung][4]
    up = min((m for m in pts if m > size), default=None)
    more = data_points(data, rung, size).get(max(data_strings(data)))
    if up is None or more is None:
        return None
    a, b = float(np.mean(more)), float(np.mean(pts[up]))
    return ("level" if not differs(more, pts[up]) else "strings" if (a > b) == hb else "units"), a, b, up


def strings_or_units_table(data: dict) -> str:
    """Per rung and data-axis size: which of the most strings or the next size helps more."""
    most, sizes, gone = max(data_strings(data)), data_sizes(data), missing(data)
    rows = []
    for rung in RUNGS:
        row = [RUNGS[rung][0]]
        for n in sizes:
            got = strings_or_units(data, rung, n)
            row.append(f"{got[0]} ({got[1]:.3f} vs {got[2]:.3f})" if got else
                       "missing (run failed)" if (rung, n, most) in gone else "")
        rows.append(row)
    ups = {n: min((m for r in RUNGS for m in size_points(data, r) if m > n), default=None) for n in sizes}
    return _table(["rung"] + [f"{n:,} units: {most:,} strings or {ups[n]:,} units" if ups[n] else f"{n:,} units"
                              for n in sizes], rows)


def strings_or_units_summary(data: dict) -> str:
    """Per data-axis size, on how many rungs the most strings or the next size helps more."""
    most, parts = max(data_strings(data)), []
    for n in data_sizes(data):
        got = [g for g in (strings_or_units(data, r, n) for r in RUNGS) if g]
        if got:
            count = {w: sum(g[0] == w for g in got) for w in ("strings", "units", "level")}
            parts.append(f"at {n:,} units (against {got[0][3]:,}) more strings win on {count['strings']}, more units on "
                         f"{count['units']}, level on {count['level']} of {len(got)} rungs")
    return (f"{most // STRINGS} times the strings or the next size up? Each cell: the rung's seed mean with {most:,} "
            f"strings at that size, then with {STRINGS:,} strings at the size axis' next size; the better one named, "
            "level when the means are within 0.01 or two standard errors of each other. By size: "
            + "; ".join(parts) + ".")


LSTM_ROWS = (("LSTM one_pass", "LSTM, one pass"), ("LSTM converge", "LSTM, trained to convergence"))


def data_table(data: dict) -> str:
    """Per rung: the metric against the number of training strings at each size of the data axis,
    the best n-gram (order chosen per cell) and the two LSTMs on the same strings; a failed point
    says so."""
    keys, sizes, gone = data_strings(data), data_sizes(data), missing(data)
    rows = []
    for rung in RUNGS:
        for i, n in enumerate(sizes):
            pts = data_points(data, rung, n)
            rows.append([RUNGS[rung][0] if i == 0 else "", f"rate, {n:,} units"]
                        + [_ms(pts[k]) if k in pts else "missing (run failed)" if (rung, n, k) in gone else "" for k in keys])
        grams = best_ngram(data, rung)
        if grams:
            rows.append(["", "best n-gram"] + [f"{grams[k][1]:.3f} ({grams[k][0]})" if k in grams else "" for k in keys])
        for name, label in LSTM_ROWS:
            pts = baseline_points(data, rung, name)
            if pts:
                rows.append(["", label] + [_ms(pts[k]) if k in pts else "" for k in keys])
    return _table(["rung", "predictor"] + [f"{k:,} strings" for k in keys], rows)


def _cortex_best(data: dict, rung: str, strings: int) -> tuple[int, list[float]] | None:
    """The rate cortex's best size at `strings` training strings (by seed mean, over every size
    measured there: the data axis' sizes, and at STRINGS the size axis' too) and its seed values."""
    hb = RUNGS[rung][4]
    pts = size_points(data, rung) if strings == STRINGS else {
        n: v for n in data_sizes(data) if (v := data_points(data, rung, n).get(strings))}
    if not pts:
        return None
    n = (max if hb else min)(pts, key=lambda m: float(np.mean(pts[m])))
    return n, pts[n]


def against_lstm(data: dict, rung: str, strings: int, name: str = "LSTM one_pass"):
    """The rate cortex's best size against an LSTM on the same number of strings: (winner 'cortex' /
    'LSTM' / 'level', cortex mean, its size, LSTM mean); None where either is missing. Level: means
    within 0.01 or two standard errors (scaling_fits.differs)."""
    best, lstm = _cortex_best(data, rung, strings), baseline_points(data, rung, name).get(strings)
    if best is None or not lstm:
        return None
    hb, (n, pts) = RUNGS[rung][4], best
    a, b = float(np.mean(pts)), float(np.mean(lstm))
    return ("level" if not differs(pts, lstm) else "cortex" if (a > b) == hb else "LSTM"), a, n, b


def _against_cell(got) -> str:
    return f"{got[0]} ({got[1]:.3f} at {got[2]:,} units vs {got[3]:.3f})" if got else ""


def lstm_table(data: dict) -> str:
    """Per rung and number of training strings: the cortex's best size against the one-pass LSTM,
    and at STRINGS against the LSTM trained to convergence."""
    keys, rows = data_strings(data), []
    for rung in RUNGS:
        rows.append([RUNGS[rung][0]] + [_against_cell(against_lstm(data, rung, k)) for k in keys]
                    + [_against_cell(against_lstm(data, rung, STRINGS, "LSTM converge"))])
    return _table(["rung"] + [f"{k:,} strings: one pass" for k in keys] + [f"{STRINGS:,} strings: converged"], rows)


def lstm_summary(data: dict) -> str:
    """Per number of training strings, on how many rungs the cortex or the one-pass LSTM is better."""
    parts = []
    for k in data_strings(data):
        got = [g for g in (against_lstm(data, r, k) for r in RUNGS) if g]
        count = {w: sum(g[0] == w for g in got) for w in ("cortex", "LSTM", "level")}
        parts.append(f"with {k:,} strings the cortex is better on {count['cortex']}, the LSTM on {count['LSTM']}, "
                     f"level on {count['level']} of {len(got)} rungs")
    conv = [g for g in (against_lstm(data, r, STRINGS, "LSTM converge") for r in RUNGS) if g]
    count = {w: sum(g[0] == w for g in conv) for w in ("cortex", "LSTM", "level")}
    axis = sorted({n for r in RUNGS for n in size_points(data, r)})
    return ("The rate cortex against the LSTM on the same strings. Each cell: the winner, then the cortex's seed mean "
            f"at its best size measured with those strings ({_span(data_sizes(data))} units; with {STRINGS:,} strings "
            f"{_span(axis)}) against the "
            "LSTM's; level when the means are within 0.01 or two standard errors (the best of several sizes favours the "
            "cortex a little). Against the one-pass LSTM: " + "; ".join(parts)
            + f". Against the LSTM trained to convergence on {STRINGS:,} strings: the cortex is better on {count['cortex']}, "
            f"the LSTM on {count['LSTM']}, level on {count['level']} of {len(conv)} rungs.")


def missing_note(data: dict) -> str:
    """The points that ran and failed, each with its error (rate cortex and spiking cortex): shown
    as missing, not dropped."""
    gone, spk = missing(data), spiking_missing(data)
    if not gone and not spk:
        return "Every point of these sweeps finished."
    count = len(gone) + len(spk)
    lines = [f"Missing: {count} point{'s' if count > 1 else ''} whose run failed (status `failed` in results.csv, "
             "no metrics). The tables mark them and the statements above leave them out; re-running their sweep runs "
             "only the points not done, and `collect` then brings them in."]
    for (rung, n, k), err in sorted(gone.items(), key=lambda kv: (kv[0][1], kv[0][2], list(RUNGS).index(kv[0][0]))):
        lines.append(f"- {RUNGS[rung][0]}, {n:,} units, {k:,} strings: `{err}`")
    for (rung, n), err in sorted(spk.items(), key=lambda kv: (kv[0][1], list(RUNGS).index(kv[0][0]))):
        lines.append(f"- {RUNGS[rung][0]}, spiking cortex, {n:,} neurons, {STRINGS:,} strings: `{err}`")
    return "\n".join(lines)


def strict_table(data: dict) -> str:
    """The 1997 LSTM paper's strict criterion on embedded Reber: the share of test strings with every
    legal successor above every illegal one at every position, and how many seeds meet it on every
    test string (the paper's success: a run with no string wrong); every predictor at STRINGS
    strings, then the rate cortex (data-axis sizes) and the one-pass LSTM with the most strings."""
    def row(name, strings, reps):
        strict = [_num(r["test.strict_correct"]) for r in reps]
        return [name, f"{strings:,}", _f(float(np.mean(strict))), f"{sum(x >= 1 - 1e-9 for x in strict)} / {len(strict)}",
                _f(float(np.mean([_num(r["test.longrange_accuracy"]) for r in reps])))]
    rows, most = [], max(data_strings(data))
    for name in ("size", "large", "spiking"):
        by: dict = {}
        for r in data[name]["replicas"]:
            if r["base"] in ("embedded_reber.yaml", "embedded_reber_spiking.yaml"):
                by.setdefault(int(r["cortex.n_units"]), []).append(r)
        rows += [row(f"{'spiking' if name == 'spiking' else 'rate'} cortex, {n:,} units", STRINGS, by[n]) for n in sorted(by)]
    by = {}
    for r in _baselines(data, "replicas"):
        if r["base"] == "embedded_reber.yaml":
            by.setdefault(baseline_name(r["cortex"]), []).append(r)
    rows += [row(name, STRINGS, reps) for name, reps in sorted(by.items())]
    by = {}
    for name in DATA_SWEEPS:
        for r in data[name]["replicas"]:
            if r["base"] == "embedded_reber.yaml" and int(r["phases.train.strings"]) == most:
                by.setdefault(int(r["cortex.n_units"]), []).append(r)
    rows += [row(f"rate cortex, {n:,} units", most, by[n]) for n in sorted(by)]
    lstm = [r for r in data["baselines_data"]["replicas"] if r["base"] == "embedded_reber.yaml"
            and baseline_name(r["cortex"]) == "LSTM one_pass" and int(r["phases.train.strings"]) == most]
    if lstm:
        rows.append(row("LSTM one_pass", most, lstm))
    return (_table(["predictor", "training strings", "strict_correct (share of test strings)",
                    "seeds with every test string right", "longrange_accuracy"], rows)
            + "\n\nThe 1997 paper's LSTM met it after about 8,440 training sequences in its best runs (8,440-39,740; "
            "figures from summaries of its Table 1, not checked against the paper).")


SPIKING_RUNGS = {"embedded_reber_spiking.yaml": "embedded_reber.yaml"}   # a spiking config -> the rung it runs
BACKENDS = ("rate", "spiking")


def rung_of(base: str) -> str:
    """The rung (a key of RUNGS) a base config runs, whichever the backend."""
    return SPIKING_RUNGS.get(base, base)


def _probe_source(r: dict) -> str:
    """What a probes.csv row's decoder read: the backend, and the features beyond the recorded activity."""
    backend, features = r.get("backend") or "rate", r.get("features") or ""
    if features.startswith("input"):
        return f"no cortex: {features}"
    return f"{backend}: {features}" if features else {"rate": "rate: unit activity", "spiking": "spiking: spike counts"}.get(backend, backend)


def _probe_order(r: dict) -> tuple:
    features = r.get("features") or ""
    return (BACKENDS.index(r.get("backend") or "rate"), features.startswith("input"), features)


def probe_cells(data: dict) -> dict:
    """(rung, what the decoder read, target) -> {size: [(score, chance) per seed]}, rung by rung in
    RUNGS order, the rate cortex first, then the spiking cortex, then the no-cortex reference."""
    cells: dict = {}
    for r in sorted(data["probes"], key=lambda r: (list(RUNGS).index(rung_of(r["base"])), _probe_order(r), r["target"])):
        cells.setdefault((rung_of(r["base"]), _probe_source(r), r["target"]), {}).setdefault(
            int(r["n_units"]), []).append((_num(r["score"]), _num(r["chance"])))
    return cells


def _probe_mean(by: dict, n: int) -> float:
    return float(np.nanmean([s for s, _ in by[n]]))


def probe_table(data: dict) -> str:
    """Mean decoder score over seeds per rung, what it read, target and size (rate: units; spiking:
    neurons; chance in brackets)."""
    cells = probe_cells(data)
    sizes = sorted({n for c in cells.values() for n in c})
    rows = []
    for (rung, source, target), by in cells.items():
        measure = "R^2" if target == "depth" else "bal. acc."
        rows.append([RUNGS[rung][0], source, target, measure] + [
            f"{_probe_mean(by, n):.3f} ({np.mean([c for _, c in by[n]]):.2f})" if n in by else "" for n in sizes])
    return _table(["rung", "read from", "latent", "score"] + [f"{n:,}" for n in sizes], rows)


def spiking_probe_summary(data: dict) -> str:
    """The spiking cortex's probes in words: the T/P branch and the grammar state from one step's
    spike counts, from the readout's filters of them, from the input through the same filters;
    beside the rate cortex at the nearest probed size (in log size) and the runs' own
    test.longrange_accuracy (results.csv)."""
    cells = probe_cells(data)
    spk = {(src, t): by for (rung, src, t), by in cells.items() if src.startswith("spiking") or src.startswith("no cortex")}
    rate = {t: by for (rung, src, t), by in cells.items() if rung == "embedded_reber.yaml" and src.startswith("rate")}
    if not spk or not rate:
        return "Spiking cortex: no probes."
    neurons = sorted({n for by in spk.values() for n in by})
    nearest = lambda sizes, n: min(sizes, key=lambda m: abs(np.log2(m / n)))  # noqa: E731
    sizes = " / ".join(f"{n:,}" for n in neurons)

    def series(by):
        got = [_f(_probe_mean(by, n)) if n in by else "n/a" for n in neurons]
        return f"{got[0]} at every size (one stream)" if len(set(got)) == 1 and len(got) > 1 else " / ".join(got)

    def beside(values: dict) -> str:   # the rate cortex at the size nearest each spiking size
        near = [nearest(values, n) for n in neurons]
        return f"({' / '.join(f'{m:,}' for m in near)} units) " + " / ".join(_f(values[m]) for m in near)

    counts = next(src for src, _ in spk if src == "spiking: spike counts")
    filters = next((src for src, _ in spk if src.startswith("spiking:") and src != counts), None)
    inputs = next((src for src, _ in spk if src.startswith("no cortex")), None)
    lines = [f"Spiking cortex, embedded Reber, 64 recorded neurons at {sizes} neurons (mean over 5 seeds):", ""]
    for target, what in (("branch", "the T/P branch (chance 0.50)"), ("state", "the grammar state")):
        parts = [f"one step's spike counts {series(spk[(counts, target)])}"]
        if filters:
            parts.append(f"the counts with the readout's filters ({filters.split('filters ', 1)[-1]}) {series(spk[(filters, target)])}")
        if inputs:
            parts.append(f"the input symbols through the same filters {series(spk[(inputs, target)])}")
        parts.append("the rate cortex's 64 units at the nearest size " + beside({m: _probe_mean(rate[target], m) for m in rate[target]}))
        lines.append(f"- {what}: " + "; ".join(parts) + ".")
    acc = {int(r["cortex.n_units"]): _num(r["test.longrange_accuracy"]) for r in data["spiking"]["results"]}
    lines.append("- `test.longrange_accuracy` of the same runs: " + " / ".join(_f(acc.get(n, float("nan"))) for n in neurons)
                 + (" (n/a: not in results.csv yet)" if any(n not in acc for n in neurons) else "")
                 + "; the rate cortex at the nearest size "
                 + beside({m: float(np.mean(v)) for m, v in size_points(data, "embedded_reber.yaml").items()}) + ".")
    return "\n".join(lines)


def cka_table(data: dict) -> str:
    """Mean linear CKA between seeds (state means) and between neighbouring sizes (same stream), per
    rung and backend (spiking: spike counts), the spiking rows under their rung's rate row."""
    rows = []
    bases = [b for rung in RUNGS for b in [rung] + [s for s, r in SPIKING_RUNGS.items() if r == rung]]
    for base, backend in [(b, k) for b in bases for k in BACKENDS]:
        seeds: dict = {}
        pairs: dict = {}
        for r in data["cka"]:
            if r["base"] != base or (r.get("backend") or "rate") != backend:
                continue
            if r["between"] == "seeds":
                seeds.setdefault(int(r["a"]), []).append(_num(r["cka"]))
            elif r["between"] == "sizes":
                pairs.setdefault((int(r["a"]), int(r["b"])), []).append(_num(r["cka"]))
        if seeds:
            rows.append([RUNGS[rung_of(base)][0], backend,
                         ", ".join(f"{n:,}: {np.nanmean(v):.2f}" for n, v in sorted(seeds.items())),
                         ", ".join(f"{a:,}-{b:,}: {np.nanmean(v):.2f}" for (a, b), v in sorted(pairs.items()))])
    return _table(["rung", "cortex", "between seeds (state means), by size", "between sizes (same stream, per step)"], rows)


def full_grid_estimate(data: dict, sizes=(16, 64, 256, 1024, 4096, 16384, 65536),
                       strings=(50, 200, 1000, 5000)) -> tuple[float, float, tuple[int, int]]:
    """(hours on one worker, hours of the slowest point, that point's (size, strings)) of the full
    grid, from measured walls: a point's own wall where it ran (done); else its rung's wall at
    1,000 strings and its size (an unmeasured size: the largest measured one's x size ratio, the
    cost of a step being linear in N there) times the data axis' cost relative to 1,000 strings,
    measured at the largest data-axis size not above it (the smallest, below them; mean over rungs)."""
    walls: dict = {}
    for name in RATE_SWEEPS:
        for r in data[name]["results"]:
            walls[(r["base"], int(r["cortex.n_units"]), int(r.get("phases.train.strings") or STRINGS))] = _num(r["wall_time_s"])
    at_strings = {(b, n): w for (b, n, s), w in walls.items() if s == STRINGS}
    ratio: dict = {}
    for d in data_sizes(data) or [DATA_SIZE]:
        for s in strings:
            got = [w / at_strings[(b, d)] for (b, n, k), w in walls.items() if n == d and k == s and (b, d) in at_strings]
            ratio[(d, s)] = float(np.mean(got)) if got else (s + 200) / (STRINGS + 200)
    total, slowest, where = 0.0, 0.0, None
    for rung in RUNGS:
        measured = {n: w for (b, n), w in at_strings.items() if b == rung}
        if not measured:
            continue
        top = max(measured)
        for n in sizes:
            base = measured.get(n, measured[top] * n / top if n > top else np.nan)
            ref = max((d for d, _ in ratio if d <= n), default=min(d for d, _ in ratio))
            for s in strings:
                w = walls.get((rung, n, s), base * ratio[(ref, s)])
                if not np.isnan(w):
                    total += w
                    if w > slowest:
                        slowest, where = w, (n, s)
    return total / 3600, slowest / 3600, where


def wall_table(data: dict) -> str:
    """Wall time per sweep (one worker, 2 shared cores) from results.csv."""
    rows = []
    for name in SWEEPS:
        w = [_num(r["wall_time_s"]) for r in data[name]["results"]]
        if w:
            rows.append([name, len(w), f"{sum(w) / 60:.1f}", f"{max(w):.0f}"])
    one, slowest, (n, s) = full_grid_estimate(data)
    quick = sum(_num(r["wall_time_s"]) for r in data["size"]["results"] if int(r["cortex.n_units"]) in (16, 256))
    return (_table(["sweep", "runs", "wall min (sum of runs)", "longest run s"], rows)
            + f"\n\nMeasured with one worker on 2 cores shared with other jobs (load average up to 18): upper bounds; "
            f"failed runs are not counted. The full grid (`cortex_scaling.yaml`, 196 runs), from these points (measured "
            f"where run, extrapolated elsewhere): about {one:.0f} h on one "
            f"worker, {one / 2:.0f} h with `--workers 2` on 2 cores; on Slurm (`--engine slurm`, one point per job, "
            f"1 core / 8 GB / 6 h each) the 196 jobs run side by side and the wall is the slowest point's, the "
            f"{n:,}-unit, {s:,}-string one: about {slowest:.1f} h. The quick look (`cortex_scaling_quick.yaml`, the 16- and "
            f"256-unit points of the size sweep) took {quick:.0f} s of runs here.")


# -- the answer, in words -------------------------------------------------------------------------------
SHAPES = {"rises": "still improving at the largest size", "saturates": "improve with size, then saturate",
          "peaks": "improve, then get worse", "flat": "do not improve with size"}


def _shape(pts: dict, hb: bool, unit: str = "units") -> tuple[str, str]:
    """How a metric moves with size: (a key of SHAPES, the words with numbers). A change counts when
    it exceeds 0.01 and twice its standard error over seeds."""
    sign = 1 if hb else -1
    means = {n: float(np.mean(v)) for n, v in sorted(pts.items())}
    sizes = sorted(means)
    best = max(sizes, key=lambda n: sign * means[n])
    gain, late = sign * (means[sizes[-1]] - means[sizes[0]]), sign * (means[sizes[-1]] - means[sizes[-2]])
    a, b = pts[sizes[-2]], pts[sizes[-1]]
    noise = max(0.01, 2 * float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))) if min(len(a), len(b)) > 1 else 0.01)
    if gain < 0.01 or best == sizes[0]:
        return "flat", f"does not improve with size: best at {best:,} {unit} ({means[best]:.3f}), {means[sizes[-1]]:.3f} at {sizes[-1]:,}"
    if late < -noise:
        return "peaks", f"improves up to {best:,} {unit} ({means[best]:.3f}), then gets worse ({means[sizes[-1]]:.3f} at {sizes[-1]:,})"
    if late < noise:
        return "saturates", (f"improves with size, then saturates ({means[sizes[0]]:.3f} at {sizes[0]:,} {unit}, "
                             f"{means[sizes[-2]]:.3f} / {means[sizes[-1]]:.3f} at {sizes[-2]:,} / {sizes[-1]:,})")
    return "rises", f"still improving at the largest size ({means[sizes[-2]]:.3f} -> {means[sizes[-1]]:.3f} from {sizes[-2]:,} to {sizes[-1]:,} {unit})"


def level(data: dict, rung: str, pts: dict) -> str | None:
    """'chance' where the best size is within 0.05 of chance (accuracies), 'n-gram' where it is no
    better than the best n-gram (within 0.01 or worse), else None."""
    hb, sign = RUNGS[rung][4], 1 if RUNGS[rung][4] else -1
    top = max(float(np.mean(v)) * sign for v in pts.values()) * sign
    c = chance(data, rung)
    if hb and not np.isnan(c) and top - c < 0.05:
        return "chance"
    grams = [v for k, v in baseline_means(data, rung).items() if "gram" in k]
    if grams and sign * (top - (max if hb else min)(grams)) <= 0.01:
        return "n-gram"
    return None


def backend_summary(data: dict) -> list[str]:
    """Per backend: the rungs whose metric rises, saturates, peaks or stays flat with size, and
    those at n-gram or chance level at their best size."""
    out = []
    for backend, get, unit in (("rate", size_points, "units"), ("spiking", spiking_points, "neurons")):
        got = {rung: pts for rung in RUNGS if len(pts := get(data, rung)) >= 2}
        if not got:
            continue
        span = sorted({n for pts in got.values() for n in pts})
        parts = []
        for kind, words in SHAPES.items():
            names = [f"**{RUNGS[r][0]}**" for r, pts in got.items() if _shape(pts, RUNGS[r][4])[0] == kind]
            if names:
                parts.append(f"{words}: {', '.join(names)}")
        for kind, words in (("n-gram", "no better than the best n-gram at their best size"), ("chance", "at chance level")):
            names = [f"**{RUNGS[r][0]}**" for r, pts in got.items() if level(data, r, pts) == kind]
            if names:
                parts.append(f"{words}: {', '.join(names)}")
        out.append(f"- {backend} cortex ({span[0]:,}-{span[-1]:,} {unit}, {len(got)} rungs): " + "; ".join(parts) + ".")
    return out


def spiking_verdict(data: dict, rung: str) -> str:
    """One sentence per rung on the spiking cortex: its shape with size in neurons, against the
    best n-gram, chance and the criterion, and its failed points."""
    label, phase, metric, crit, hb = RUNGS[rung]
    pts, sign = spiking_points(data, rung), 1 if hb else -1
    if len(pts) < 2:
        return f"- **{label}**: not measured."
    parts = [_shape(pts, hb, "neurons")[1]]
    top = max(float(np.mean(v)) * sign for v in pts.values()) * sign
    grams = {k: v for k, v in baseline_means(data, rung).items() if "gram" in k}
    if grams:
        g = max(grams, key=lambda k: sign * grams[k])
        rel = "better than" if sign * (top - grams[g]) > 0.01 else ("level with" if abs(top - grams[g]) <= 0.01 else "worse than")
        parts.append(f"{rel} the best n-gram ({g}, {grams[g]:.3f})")
    c = chance(data, rung)
    if hb and not np.isnan(c) and top - c < 0.05:
        parts.append(f"at chance level ({c:.3f})")
    rate = size_points(data, rung)
    if rate:
        best = (max if hb else min)(rate, key=lambda n: float(np.mean(rate[n])))
        parts.append(f"the rate cortex's best {float(np.mean(rate[best])):.3f} ({best:,} units)")
    met = first_meeting(pts, crit, hb)
    parts.append(f"criterion {'>=' if hb else '<='} {crit} " + (f"first met at {met:,} neurons" if met else "never met"))
    gone = sorted(n for r, n in spiking_missing(data) if r == rung)
    if gone:
        parts.append(f"{', '.join(f'{n:,}' for n in gone)} neurons: run failed (no value)")
    return f"- **{label}** (`{phase}.{metric}`): " + "; ".join(parts) + "."


def verdict(data: dict, rung: str) -> str:
    """One sentence per rung: improves / saturates / worsens with size, against the n-grams and chance."""
    label, phase, metric, crit, hb = RUNGS[rung]
    pts = size_points(data, rung)
    if len(pts) < 2:
        return f"- **{label}**: not measured."
    sign = 1 if hb else -1
    means = {n: float(np.mean(v)) for n, v in sorted(pts.items())}
    best = max(means, key=lambda n: sign * means[n])
    shape = _shape(pts, hb)[1]
    parts = [shape]
    base = baseline_means(data, rung)
    grams = {k: v for k, v in base.items() if "gram" in k}
    if grams:
        g = max(grams, key=lambda k: sign * grams[k])
        rel = "better than" if sign * (means[best] - grams[g]) > 0.01 else ("level with" if abs(means[best] - grams[g]) <= 0.01 else "worse than")
        parts.append(f"{rel} the best n-gram ({g}, {grams[g]:.3f})")
    if "LSTM one_pass" in base:
        curve = baseline_points(data, rung, "LSTM one_pass")
        met, _, again = baseline_to_criterion(data, rung, "LSTM one_pass")
        parts.append(f"the one-pass LSTM gets {base['LSTM one_pass']:.3f}"
                     + (f" ({' / '.join(f'{np.mean(curve[k]):.3f}' for k in sorted(curve))} at "
                        f"{' / '.join(f'{k:,}' for k in sorted(curve))} strings; criterion "
                        + (f"first met at {met:,}" + (f", missed again at {', '.join(f'{k:,}' for k in again)}" if again else "")
                           if met else "never met") + ")" if len(curve) > 1 else ""))
    if "LSTM converge" in base:
        parts.append(f"the LSTM trained to convergence {base['LSTM converge']:.3f}")
    c = chance(data, rung)
    if hb and not np.isnan(c) and means[best] - c < 0.05:
        parts.append(f"at chance level ({c:.3f})")
    met = first_meeting(pts, crit, hb)
    parts.append(f"criterion {'>=' if hb else '<='} {crit} " + (f"first met at {met:,} units" if met else "never met within the range"))
    sizes_d = data_sizes(data)
    if sizes_d:
        how, _ = trend(data, rung)
        parts.append(f"fewest strings meeting it at {' / '.join(f'{n:,}' for n in sizes_d)} units: "
                     + " / ".join(to_criterion_cell(to_criterion(data, rung, n), short=True) for n in sizes_d)
                     + f" ({WORDS[how]})")
    return f"- **{label}** (`{phase}.{metric}`): " + "; ".join(parts) + "."


def render(data: dict) -> str:
    """The generated part of docs/results.md's language section."""
    out = ["#### The answer per rung (rate cortex, 5 seeds per point, 1,000 training strings unless said)", "",
           *[verdict(data, r) for r in RUNGS], "",
           "#### The answer per rung, spiking cortex (Brian2 LIF, 5 seeds per point, 1,000 training strings; size in neurons)", "",
           *[spiking_verdict(data, r) for r in RUNGS], "",
           "#### Per backend: which rungs improve with size", "", *backend_summary(data), "",
           "#### Ladder against size (mean +- s.d. over seeds; baselines at 1,000 strings, 5 seeds)", "", size_table(data), "",
           "Spiking cortex (the network of `embedded_reber_spiking.yaml` on every rung; mean +- s.d. over seeds):", "",
           spiking_size_table(data), "",
           "#### Fits and criteria", "", fit_table(data), "",
           "#### The data axis at every size: training strings to criterion", "", criterion_summary(data), "",
           criterion_table(data), "", "#### More strings or more units", "", strings_or_units_summary(data), "",
           strings_or_units_table(data), "",
           "#### Against the LSTM on the same strings", "", lstm_summary(data), "", lstm_table(data), "",
           "#### Training strings by size (mean +- s.d. over seeds; the n-grams and the LSTMs on the same strings)", "",
           data_table(data), "",
           missing_note(data), "",
           "#### Embedded Reber: the strict criterion of the 1997 LSTM paper", "", strict_table(data), "",
           "#### Probes: latent variables decoded from 64 recorded units (16 at 16 units; spiking: neurons), the in-range `test` phase (chance in brackets)", "",
           probe_table(data), "", spiking_probe_summary(data), "",
           "#### Representational similarity (linear CKA)", "", cka_table(data), "",
           "#### Wall time", "", wall_table(data)]
    return "\n".join(out)


def write(path: Path = RESULTS_MD) -> None:
    """Replace the text between the language markers of docs/results.md with render(load())."""
    text = path.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{render(load())}\n{END}{tail}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", choices=["collect", "probes", "table", "seed-full"])
    p.add_argument("sweep_dir", nargs="*", type=Path, help="sweep dirs (probes: all of them together)")
    p.add_argument("--write", action="store_true", help="re-render docs/results.md's language section")
    p.add_argument("--figures", action="store_true", help="redraw docs/figures/scaling_*.png")
    a = p.parse_args(argv)
    if a.command in ("collect", "probes", "seed-full"):
        import scaling_collect

        print(*{"collect": lambda ds: [scaling_collect.collect(d) for d in ds], "probes": lambda ds: scaling_collect.probes(*ds),
                "seed-full": lambda ds: [scaling_collect.seed_full()]}[a.command](a.sweep_dir))
    elif a.command == "table":
        rows = [r for d in a.sweep_dir for r in read_csv(d / "results.csv") if r["status"] == "done"]
        for r in rows:
            rung = r.get("base", "")
            if rung in RUNGS:
                print(f"{RUNGS[rung][0]:40s} {r.get('cortex.n_units', r.get('cortex', '')):>8} {_col(rung)} {_f(_num(r[_col(rung)]))}")
    if a.write:
        write()
    if a.figures:
        from scaling_figures import figures

        print(*figures())
    return 0


if __name__ == "__main__":
    sys.exit(main())
