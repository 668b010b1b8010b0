"""The scaling study's answer in words for docs/results.md ("Language"): a sentence per rung and backend,
the per-backend summary and the summaries above the tables of tools/scaling_tables.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_fits import differs, first_meeting  # noqa: E402
from scaling_study import (RUNGS, STRINGS, baseline_means, baseline_points, chance, data_sizes, data_strings,  # noqa: E402
                           heldout_points, missing, size_points, spiking_missing, spiking_points)
from scaling_tables import (WORDS, against_lstm, baseline_to_criterion, probe_cells, probe_mean, span_text,  # noqa: E402
                            strings_or_units, to_criterion, to_criterion_cell, trend)
from scaling_readout import spiking_readout_points  # noqa: E402
from study_tables import fmt, is_bias, num, paired  # noqa: E402


# -- the answer, in words -------------------------------------------------------------------------------
SHAPES = {"rises": "still improving at the largest size", "saturates": "improve with size, then saturate",
          "peaks": "improve, then get worse", "flat": "do not improve with size"}


def _noise(a: list[float], b: list[float]) -> float:
    """The smallest difference of two sizes' means that counts: 0.01, or twice its standard error
    over seeds where both have more than one."""
    if min(len(a), len(b)) < 2:
        return 0.01
    return max(0.01, 2 * float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))))


def _shape(pts: dict, hb: bool, unit: str = "units") -> tuple[str, str]:
    """How a metric moves with size: (a key of SHAPES, the words with numbers). "flat": no size
    beats the smallest by 0.01; "peaks": the largest is below the best size by more than their
    noise (``_noise``); "saturates": the last step up in size changes it by less than its noise;
    "rises": the last step still improves it."""
    sign = 1 if hb else -1
    means = {n: float(np.mean(v)) for n, v in sorted(pts.items())}
    sizes = sorted(means)
    best, last = max(sizes, key=lambda n: sign * means[n]), sizes[-1]
    if best == sizes[0] or sign * (means[best] - means[sizes[0]]) < 0.01:
        return "flat", f"does not improve with size: best at {best:,} {unit} ({means[best]:.3f}), {means[last]:.3f} at {last:,}"
    if best != last and sign * (means[best] - means[last]) > _noise(pts[best], pts[last]):
        return "peaks", f"improves up to {best:,} {unit} ({means[best]:.3f}), then gets worse ({means[last]:.3f} at {last:,})"
    if sign * (means[last] - means[sizes[-2]]) < _noise(pts[sizes[-2]], pts[last]):
        return "saturates", (f"improves with size, then saturates ({means[sizes[0]]:.3f} at {sizes[0]:,} {unit}, "
                             f"{means[sizes[-2]]:.3f} / {means[last]:.3f} at {sizes[-2]:,} / {last:,})")
    return "rises", f"still improving at the largest size ({means[sizes[-2]]:.3f} -> {means[last]:.3f} from {sizes[-2]:,} to {last:,} {unit})"


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
    for backend, get, unit in (("rate cortex", size_points, "units"),
                               ("rate cortex at one ridge per rung (chosen on seeds 0-4, measured on seeds 5-9)", heldout_points, "units"),
                               ("spiking cortex", spiking_points, "neurons")):
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
        out.append(f"- {backend} ({span[0]:,}-{span[-1]:,} {unit}, {len(got)} rungs): " + "; ".join(parts) + ".")
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


def criterion_summary(data: dict) -> str:
    """The data axis across sizes in words: per direction (strings to criterion falling or rising
    with size), the rungs that go that way, and the rungs no size meets with the most strings."""
    sizes, most = data_sizes(data), max(data_strings(data))
    head = " / ".join(f"{n:,}" for n in sizes)
    lines = [f"Fewest training strings ({span_text(data_strings(data))}) meeting the criterion at {head} units (a seed mean "
             "is compared with the criterion before rounding: a 0.950 in the tables can be below 0.95):"]
    for how in WORDS:
        said = []
        for rung in RUNGS:
            got, left = trend(data, rung)
            if got == how:
                path = " / ".join(to_criterion_cell(to_criterion(data, rung, n), short=True) for n in sizes)
                gone = f"; {', '.join(f'{n:,}' for n in left)} units not counted: a point there failed or is not run" if left else ""
                said.append(f"**{RUNGS[rung][0]}** ({path}{gone})")
        if said:
            label = f"never met with up to {most:,} strings at any of these sizes" if how == "never" else WORDS[how]
            lines.append(f"- {label}: " + "; ".join(said))
    return "\n".join(lines)


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
            f"at its best size measured with those strings ({span_text(data_sizes(data))} units; with {STRINGS:,} strings "
            f"{span_text(axis)}) against the "
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
        got = [fmt(probe_mean(by, n)) if n in by else "n/a" for n in neurons]
        return f"{got[0]} at every size (one stream)" if len(set(got)) == 1 and len(got) > 1 else " / ".join(got)

    def beside(values: dict) -> str:   # the rate cortex at the size nearest each spiking size
        near = [nearest(values, n) for n in neurons]
        return f"({' / '.join(f'{m:,}' for m in near)} units) " + " / ".join(fmt(values[m]) for m in near)

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
        parts.append("the rate cortex's 64 units at the nearest size " + beside({m: probe_mean(rate[target], m) for m in rate[target]}))
        lines.append(f"- {what}: " + "; ".join(parts) + ".")
    acc = {int(r["cortex.n_units"]): num(r["test.longrange_accuracy"]) for r in data["spiking"]["results"]}
    lines.append("- `test.longrange_accuracy` of the same runs: " + " / ".join(fmt(acc.get(n, float("nan"))) for n in neurons)
                 + (" (n/a: not in results.csv yet)" if any(n not in acc for n in neurons) else "")
                 + "; the rate cortex at the nearest size "
                 + beside({m: float(np.mean(v)) for m, v in size_points(data, "embedded_reber.yaml").items()}) + ".")
    return "\n".join(lines)


def spiking_readout_summary(data: dict) -> str:
    """In words: what projecting the spiking cortex's features costs at the sizes full RLS ran at
    (paired by seed), and the largest size against the next one with the same readout."""
    full, proj = spiking_readout_points(data)
    if not proj:
        return ""
    costs = []
    for d in sorted({d for _, d in proj}):
        at = [(n, paired(proj[(n, d)], full[n], True)) for n, e in sorted(proj) if e == d and n in full]
        if at:
            costs.append(f"to {d:,} dimensions " + ", ".join(
                f"{m:+.3f}{' *' if is_bias(m, se, k) else ''} at {n:,}" for n, (m, se, k) in at))
    out = [f"Projecting the features (the same seeds, against full RLS): {'; '.join(costs)} neurons."] if costs else []
    d = max(d for _, d in proj)
    sizes = sorted(n for n, e in proj if e == d)
    if len(sizes) > 1:
        below, top = (proj[(n, d)] for n in sizes[-2:])
        a, b = float(np.mean(list(below.values()))), float(np.mean(list(top.values())))
        how = ("better than" if b > a else "worse than") if differs(list(top.values()), list(below.values())) else "level with"
        out.append(f"With the readout projected to {d:,}, {sizes[-1]:,} neurons give {b:.3f}, {how} {sizes[-2]:,} "
                   f"neurons ({a:.3f}).")
    return " ".join(out)
