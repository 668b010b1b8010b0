"""The scaling study's tables of docs/results.md ("Language"): ladder against size, fits, the data axis,
against the LSTM, the strict criterion, probes, CKA, wall time. tools/scaling_study.py renders them;
the per-rung sentences and summaries are in tools/scaling_verdicts.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_fits import best_fit, describe, differs, direction, first_meeting, first_meeting_with_gaps  # noqa: E402
from scaling_study import (BACKENDS, DATA_SIZE, DATA_SWEEPS, PROJECTED_AT, RATE_SWEEPS, RUNGS, SIZE_SWEEPS,  # noqa: E402
                           SPIKING_RUNGS, STRINGS, SWEEPS,
                           baseline_means, baseline_points, baseline_rows, best_ngram, chance, data_points,
                           data_sizes, data_strings, missing, rung_of, size_points, spiking_missing, spiking_points)
from study_tables import baseline_name, fmt, mean_sd, num, table  # noqa: E402


def size_table(data: dict) -> str:
    """Per rung: mean +- seed s.d. of its metric at each rate size, chance and baselines."""
    sizes = sorted({n for rung in RUNGS for n in size_points(data, rung)})
    rows = []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        pts, base = size_points(data, rung), baseline_means(data, rung)
        grams = [v for k, v in base.items() if "gram" in k]
        ng = (max if hb else min)(grams) if grams else float("nan")
        rows.append([label, f"{phase}.{metric}"] + [mean_sd(pts[n]) if n in pts else "" for n in sizes]
                    + [fmt(chance(data, rung)), fmt(ng), fmt(base.get("LSTM one_pass", float("nan"))),
                       fmt(base.get("LSTM converge", float("nan")))])
    return table(["rung", "metric"] + [f"{n:,}" for n in sizes]
                  + ["chance", "best n-gram", "LSTM one pass", "LSTM converged"], rows)


def spiking_size_table(data: dict) -> str:
    """Per rung: mean +- seed s.d. of its metric on the spiking cortex at each size in neurons (a
    failed point says so; the sizes of PROJECTED_AT read the projected readout, and say so),
    beside chance and the best n-gram."""
    gone = spiking_missing(data)
    sizes = sorted({n for rung in RUNGS for n in spiking_points(data, rung)} | {n for _, n in gone})
    rows = []
    for rung, (label, phase, metric, crit, hb) in RUNGS.items():
        pts = spiking_points(data, rung)
        if not pts and not any(r == rung for r, _ in gone):
            continue
        grams = [v for k, v in baseline_means(data, rung).items() if "gram" in k]
        rows.append([label, f"{phase}.{metric}"]
                    + [mean_sd(pts[n]) if n in pts else "missing (run failed)" if (rung, n) in gone else "not run" for n in sizes]
                    + [fmt(chance(data, rung)), fmt((max if hb else min)(grams) if grams else float("nan"))])
    return table(["rung", "metric"] + [f"{n:,} neurons" + (f", readout projected to {PROJECTED_AT[n]:,}" if n in PROJECTED_AT else "")
                                       for n in sizes] + ["chance", "best n-gram"], rows)


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
    return table(["rung", "criterion", "fit of metric vs log2 size (every seed)",
                   f"first size meeting it ({STRINGS:,} strings)"], rows)


# -- the data axis at every size it was run at ----------------------------------------------------------
def to_criterion(data: dict, rung: str, size: int) -> dict:
    """The fewest training strings whose seed mean meets the rung's criterion at `size` units, the
    failed points allowed for (scaling_fits.first_meeting_with_gaps; `met` is a number of strings).
    Where some of the data axis' strings were neither run nor failed there (a sweep stopped before
    them) and one of them could change the answer (fewer strings than the finished points' first
    meeting, or none meets it), nothing is said: `unrun` lists them and `sure` is False."""
    _, _, _, crit, hb = RUNGS[rung]
    gone = [s for (b, n, s) in missing(data) if b == rung and n == size]
    pts = data_points(data, rung, size)
    unrun = [s for s in data_strings(data) if s not in pts and s not in gone]
    met = first_meeting(pts, crit, hb) if pts else None
    if unrun and not (met and all(u > met for u in unrun)):
        return {"met": None, "tried": sorted(pts), "gone": gone, "sure": False, "unrun": unrun}
    return first_meeting_with_gaps(pts, gone, crit, hb)


def span_text(strings) -> str:
    return f"{min(strings):,}-{max(strings):,}"


def to_criterion_cell(got: dict, short: bool = False) -> str:
    """'1,000', 'never (50-5,000)', 'not run', or what the finished points say and which point failed."""
    if got.get("unrun"):
        return "not run" + ("" if short else f" ({', '.join(f'{u:,}' for u in got['unrun'])} strings)")
    gone = ", ".join(f"{g:,}" for g in got["gone"])
    if got["met"] and got["sure"]:
        return f"{got['met']:,}"
    if got["met"]:
        return f"{got['met']:,} or fewer" + ("" if short else f" ({gone}: run failed)")
    if got["sure"]:
        return "never" + ("" if short else f" ({span_text(got['tried'])})")
    return f"not by {max(got['tried']):,}" + ("" if short else f" ({gone}: run failed)")


WORDS = {"falls": "falls with size", "rises": "rises with size", "same": "the same at every size",
         "never": "never met", "mixed": "no single direction"}


def trend(data: dict, rung: str) -> tuple[str, list[int]]:
    """How the strings to criterion move with size, over the sizes whose answer is sure (a key of
    WORDS), and the sizes left out (a failed point could change them, or points are not run yet)."""
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
        return f"never ({span_text(tried)})"
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
    return table(["rung", "criterion"] + [f"{n:,} units" for n in sizes] + ["with size"]
                  + [h for _, h in BASELINE_COLUMNS], rows)


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
    most, gone = max(data_strings(data)), missing(data)
    ups = {n: min((m for r in RUNGS for m in size_points(data, r) if m > n), default=None) for n in data_sizes(data)}
    sizes = [n for n in ups if ups[n]]   # the largest size has no next size to compare with
    rows = []
    for rung in RUNGS:
        row = [RUNGS[rung][0]]
        for n in sizes:
            got = strings_or_units(data, rung, n)
            row.append(f"{got[0]} ({got[1]:.3f} vs {got[2]:.3f})" if got else
                       "missing (run failed)" if (rung, n, most) in gone else "")
        rows.append(row)
    return table(["rung"] + [f"{n:,} units: {most:,} strings or {ups[n]:,} units" for n in sizes], rows)


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
                        + [mean_sd(pts[k]) if k in pts else "missing (run failed)" if (rung, n, k) in gone else "" for k in keys])
        grams = best_ngram(data, rung)
        if grams:
            rows.append(["", "best n-gram"] + [f"{grams[k][1]:.3f} ({grams[k][0]})" if k in grams else "" for k in keys])
        for name, label in LSTM_ROWS:
            pts = baseline_points(data, rung, name)
            if pts:
                rows.append(["", label] + [mean_sd(pts[k]) if k in pts else "" for k in keys])
    return table(["rung", "predictor"] + [f"{k:,} strings" for k in keys], rows)


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
    return table(["rung"] + [f"{k:,} strings: one pass" for k in keys] + [f"{STRINGS:,} strings: converged"], rows)


def strict_table(data: dict) -> str:
    """The 1997 LSTM paper's strict criterion on embedded Reber: the share of test strings with every
    legal successor above every illegal one at every position, and how many seeds meet it on every
    test string (the paper's success: a run with no string wrong); every predictor at STRINGS
    strings, then the rate cortex (data-axis sizes) and the one-pass LSTM with the most strings."""
    def row(name, strings, reps):
        strict = [num(r["test.strict_correct"]) for r in reps]
        return [name, f"{strings:,}", fmt(float(np.mean(strict))), f"{sum(x >= 1 - 1e-9 for x in strict)} / {len(strict)}",
                fmt(float(np.mean([num(r["test.longrange_accuracy"]) for r in reps])))]
    rows, most = [], max(data_strings(data))
    for name in (*SIZE_SWEEPS, "spiking"):
        by: dict = {}
        for r in data[name]["replicas"]:
            if r["base"] in ("embedded_reber.yaml", "embedded_reber_spiking.yaml"):
                by.setdefault(int(r["cortex.n_units"]), []).append(r)
        rows += [row(f"{'spiking' if name == 'spiking' else 'rate'} cortex, {n:,} units", STRINGS, by[n]) for n in sorted(by)]
    by = {}
    for r in baseline_rows(data, "replicas"):
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
    return (table(["predictor", "training strings", "strict_correct (share of test strings)",
                    "seeds with every test string right", "longrange_accuracy"], rows)
            + "\n\nThe 1997 paper's LSTM met it after about 8,440 training sequences in its best runs (8,440-39,740; "
            "figures from summaries of its Table 1, not checked against the paper).")


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
            int(r["n_units"]), []).append((num(r["score"]), num(r["chance"])))
    return cells


def probe_mean(by: dict, n: int) -> float:
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
            f"{probe_mean(by, n):.3f} ({np.mean([c for _, c in by[n]]):.2f})" if n in by else "" for n in sizes])
    return table(["rung", "read from", "latent", "score"] + [f"{n:,}" for n in sizes], rows)


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
                seeds.setdefault(int(r["a"]), []).append(num(r["cka"]))
            elif r["between"] == "sizes":
                pairs.setdefault((int(r["a"]), int(r["b"])), []).append(num(r["cka"]))
        if seeds:
            rows.append([RUNGS[rung_of(base)][0], backend,
                         ", ".join(f"{n:,}: {np.nanmean(v):.2f}" for n, v in sorted(seeds.items())),
                         ", ".join(f"{a:,}-{b:,}: {np.nanmean(v):.2f}" for (a, b), v in sorted(pairs.items()))])
    return table(["rung", "cortex", "between seeds (state means), by size", "between sizes (same stream, per step)"], rows)


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
            walls[(r["base"], int(r["cortex.n_units"]), int(r.get("phases.train.strings") or STRINGS))] = num(r["wall_time_s"])
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
        w = [num(r["wall_time_s"]) for r in data[name]["results"]]
        if w:
            rows.append([name, len(w), f"{sum(w) / 60:.1f}", f"{max(w):.0f}"])
    one, slowest, (n, s) = full_grid_estimate(data)
    quick = sum(num(r["wall_time_s"]) for r in data["size"]["results"] if int(r["cortex.n_units"]) in (16, 256))
    return (table(["sweep", "runs", "wall min (sum of runs)", "longest run s"], rows)
            + f"\n\nMeasured with one worker on 2 cores shared with other jobs (load average up to 18): upper bounds; "
            f"failed runs are not counted. The full grid (`cortex_scaling.yaml`, 196 runs), from these points (measured "
            f"where run, extrapolated elsewhere): about {one:.0f} h on one "
            f"worker, {one / 2:.0f} h with `--workers 2` on 2 cores; on Slurm (`--engine slurm`, one point per job, "
            f"1 core / 8 GB / 6 h each) the 196 jobs run side by side and the wall is the slowest point's, the "
            f"{n:,}-unit, {s:,}-string one: about {slowest:.1f} h. The quick look (`cortex_scaling_quick.yaml`, the 16- and "
            f"256-unit points of the size sweep) took {quick:.0f} s of runs here.")
