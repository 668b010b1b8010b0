"""The universals study's tables in docs/results.md ("Universals"), made from committed CSVs.

    python tools/universals_study.py collect studies/universals/bias   # replicas.csv from the run dirs
    python tools/universals_study.py convergence studies/universals/bias studies/universals/eprop  # convergence.csv
    python tools/universals_study.py --write                           # re-render docs/results.md's section
    python tools/universals_study.py --figures                         # docs/figures/universals_*.png

The text between ``universals:start`` / ``universals:end`` of docs/results.md is ``render(load())``:
tests/test_universals_study.py checks that it is what the committed CSVs give. Only the ``collect``
and ``convergence`` commands read run directories.

A bias test compares two languages matched in vocabulary, length and entropy rate, one that follows a
universal and one that breaks it, on the same seeds: replica k of both runs has seed k (its cortex and
its stream's seed), so the difference is taken seed by seed. A difference counts as a bias when it
exceeds 0.01 and its two-sided 95% t-interval over the seeds excludes 0 (5 seeds: 2.78 standard
errors); that is a test per cell, not corrected for the many cells.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from scaling_fits import first_meeting  # noqa: E402
from study_tables import (baseline_name, fmt, is_bias, mean_sd, num, paired, read_csv, replace_block, table,  # noqa: E402
                          write_csv)

STUDY = ROOT / "studies" / "universals"
RESULTS_MD = ROOT / "docs" / "results.md"
START, END = "<!-- universals:start -->", "<!-- universals:end -->"
SWEEPS = ("bias", "eprop", "baselines", "lstm_converge", "spiking", "voice")
STRINGS = 1000      # training strings of the size comparisons

LABELS = {
    "harmony_head_first.yaml": "harmonic, heads first",
    "disharmony_pp_last.yaml": "disharmonic (PP head-last)",
    "harmony_head_last.yaml": "harmonic, heads last",
    "disharmony_pp_first.yaml": "disharmonic (PP head-first)",
    "agreement_hierarchical.yaml": "agreement with the subject",
    "agreement_linear.yaml": "agreement with the nearest noun",
    "agreement_ambiguous.yaml": "ambiguous training",
}
# (name, language that follows the universal, matched language that breaks it, metric column, its
# label, higher is better, criterion). Harmony: the KL (long-range accuracy marks different positions
# in each order, so it does not compare across a pair); agreement: the verb's number.
PAIRS = (
    ("word-order harmony, heads first", "harmony_head_first.yaml", "disharmony_pp_last.yaml",
     "test.kl_to_optimal", "KL to optimal", False, 0.15),
    ("word-order harmony, heads last", "harmony_head_last.yaml", "disharmony_pp_first.yaml",
     "test.kl_to_optimal", "KL to optimal", False, 0.15),
    ("structure dependence", "agreement_hierarchical.yaml", "agreement_linear.yaml",
     "test.longrange_accuracy", "verb-number accuracy", True, 0.95),
)
VOICE_METRICS = (("test.kl_to_optimal", "KL to optimal", False), ("test.longrange_accuracy", "long-range accuracy", True))
AMBIGUOUS, RULE = "agreement_ambiguous.yaml", "disambiguating.pair_accuracy"


def load(study: Path = STUDY) -> dict:
    """Every committed CSV of the study by sweep name (a missing sweep: empty lists)."""
    data = {name: {"results": [r for r in read_csv(study / name / "results.csv") if r.get("status") == "done"],
                   "replicas": read_csv(study / name / "replicas.csv")} for name in SWEEPS}
    # a sweep that sets the cortex in `set:` (the spiking one) has no cortex.n_units column
    for name, d in data.items():
        sweep = study / name / "sweep.yaml"
        units = (yaml.safe_load(sweep.read_text()).get("set", {}).get("cortex") or {}).get("n_units") if sweep.exists() else None
        for r in d["results"] + d["replicas"]:
            r.setdefault("cortex.n_units", units)
    data["convergence"] = read_csv(study / "convergence.csv")
    return data


def _strings(r: dict) -> int:
    return int(r.get("phases.train.strings") or STRINGS)


def _predictor(r: dict) -> str:
    """'rate' for the cortex sweeps, the baseline's name ('3-gram', 'LSTM one_pass') otherwise."""
    return baseline_name(r["cortex"]) if r.get("cortex", "").startswith("{") else "rate"


def seeds(rows: list[dict], base: str, col: str, **match) -> dict[int, float]:
    """replica -> value of ``col`` for the rows of ``base`` whose columns equal ``match``."""
    out = {}
    for r in rows:
        if r["base"] == base and all(str(r.get(k)) == str(v) for k, v in match.items()):
            out[int(r["replica"])] = num(r.get(col))
    return {k: v for k, v in out.items() if not np.isnan(v)}


def _diff(mean: float, se: float, n: int) -> str:
    if np.isnan(mean):
        return ""
    return f"{mean:+.3f} +- {se:.3f}" + (" *" if is_bias(mean, se, n) else "")


def sizes(data: dict) -> list[int]:
    return sorted({int(r["cortex.n_units"]) for r in data["bias"]["replicas"]})


# -- tables ---------------------------------------------------------------------------------------------
def cortices(data: dict) -> list[tuple[str, int, list[dict]]]:
    """(name, units, replica rows at STRINGS strings) of the rate reservoir at each size, then the
    trained e-prop cortex at each size."""
    out = []
    for sweep, name in (("bias", "rate"), ("eprop", "e-prop")):
        rows = [r for r in data[sweep]["replicas"] if _strings(r) == STRINGS and r.get("phases.train.plastic", "True") == "True"]
        for n in sorted({int(r["cortex.n_units"]) for r in rows}):
            out.append((name, n, [r for r in rows if int(r["cortex.n_units"]) == n]))
    return out


def pair_table(data: dict, pair: tuple) -> str:
    """One pair: per predictor (the rate cortex at each size, the e-prop cortex, then the baselines
    and the spiking cortex), each language's mean +- s.d. at STRINGS strings and the paired
    advantage of the one that follows the universal."""
    _, good, bad, col, _, hb, _ = pair
    rows = []
    for who, pick in [(f"{name}, {n:,} units", rs) for name, n, rs in cortices(data)] + others(data):
        a, b = seeds(pick, good, col), seeds(pick, bad, col)
        if a and b:
            rows.append([who, mean_sd(list(a.values())), mean_sd(list(b.values())), _diff(*paired(a, b, hb))])
    return table(["predictor", LABELS[good], LABELS[bad], "advantage of following (paired)"], rows)


def others(data: dict, strings: int = STRINGS) -> list[tuple[str, list[dict]]]:
    """(name, replica rows at ``strings`` training strings) of every baseline and the spiking cortex."""
    out = []
    for sweep in ("baselines", "lstm_converge", "spiking"):
        rows = [r for r in data[sweep]["replicas"] if _strings(r) == strings]
        name = (lambda r: f"spiking, {int(r['cortex.n_units']):,} neurons") if sweep == "spiking" else _predictor
        for who in sorted({name(r) for r in rows}):
            out.append((who, [r for r in rows if name(r) == who]))
    return out


def criterion_table(data: dict) -> str:
    """Per language of a pair and size: the fewest training strings (50 / 200 / 1,000 / 5,000) at
    which the seed mean meets the pair's criterion, or '-' (never within the range); the best n-gram
    (the best order at each number of strings) and the one-pass LSTM beside."""
    reps, rows = data["bias"]["replicas"], []
    for _, good, bad, col, label, hb, crit in PAIRS:
        for base in (good, bad):
            row = [LABELS[base], f"{label} {'>=' if hb else '<='} {crit}"]
            for n in sizes(data):
                pts = {}
                for r in reps:
                    if r["base"] == base and int(r["cortex.n_units"]) == n:
                        pts.setdefault(_strings(r), []).append(num(r[col]))
                met = first_meeting(pts, crit, hb) if pts else None
                row.append(f"{met:,}" if met else ("-" if pts else ""))
            grams: dict = {}
            lstm: dict = {}
            for r in data["baselines"]["results"]:
                if r["base"] == base and "gram" in _predictor(r):
                    grams.setdefault(_strings(r), []).append(num(r[col]))
                elif r["base"] == base and _predictor(r) == "LSTM one_pass":
                    lstm.setdefault(_strings(r), []).append(num(r[col]))
            for pts in ({k: [(max if hb else min)(v)] for k, v in grams.items()}, lstm):
                met = first_meeting(pts, crit, hb) if pts else None
                row.append(f"{met:,}" if met else ("-" if pts else ""))
            rows.append(row)
    return table(["language", "criterion"] + [f"{n:,} units" for n in sizes(data)] + ["best n-gram", "LSTM one pass"], rows)


def rule_table(data: dict) -> str:
    """The poverty-of-stimulus test: share of disambiguating sentences on which the learner prefers
    the hierarchical (subject) verb to the linear (nearest-noun) one; 0.5: no preference."""
    rows = []
    reps = data["bias"]["replicas"]
    strings = sorted({_strings(r) for r in reps if r["base"] == AMBIGUOUS})
    for n in sizes(data):
        rows.append([f"rate, {n:,} units"] + [
            mean_sd(list(v.values())) if (v := seeds(reps, AMBIGUOUS, RULE, **{"cortex.n_units": n, "phases.train.strings": s})) else ""
            for s in strings])
    for name, n, rs in cortices(data):
        if name != "rate":
            v = seeds(rs, AMBIGUOUS, RULE)
            rows.append([f"{name}, {n:,} units"] + [mean_sd(list(v.values())) if v and s == STRINGS else "" for s in strings])
    for who in sorted({w for s in strings for w, _ in others(data, s)}):
        cells = []
        for s in strings:
            pick = dict(others(data, s)).get(who, [])
            v = seeds(pick, AMBIGUOUS, RULE)
            cells.append(mean_sd(list(v.values())) if v else "")
        if any(cells):
            rows.append([who] + cells)
    return table(["predictor"] + [f"{s:,} strings" for s in strings], rows)


def voice_table(data: dict) -> str:
    """The 2x2 (voice gate on / off) x size: clean-test metrics, and the gate's paired effect."""
    reps, rows = data["voice"]["replicas"], []
    gate = next((k for k in (reps[0] if reps else {}) if "voice_gate" in k and "enabled" in k), None)
    for base in sorted({r["base"] for r in reps}):
        for n in sorted({int(r["cortex.n_units"]) for r in reps if r["base"] == base}):
            cells = []
            for col, _, hb in VOICE_METRICS:
                on = seeds(reps, base, col, **{"cortex.n_units": n, gate: True}) if gate else {}
                off = seeds(reps, base, col, **{"cortex.n_units": n, gate: False}) if gate else {}
                cells += [mean_sd(list(on.values())) if on else "", mean_sd(list(off.values())) if off else "", _diff(*paired(on, off, hb))]
            rows.append([base.removesuffix(".yaml"), f"{n:,}"] + cells)
    head = []
    for _, label, _ in VOICE_METRICS:
        head += [f"{label}, gated", f"{label}, ungated", "gate's advantage"]
    return table(["config", "units"] + head, rows)


def convergence_table(data: dict) -> str:
    """Per language and cortex: mean linear CKA between two seeds on shared strings, and the state
    probe's balanced accuracy on its own seed -> read out of another seed, at each size; CKA
    between neighbouring sizes (the same seed)."""
    groups: dict = {}
    for r in data["convergence"]:
        groups.setdefault((r["base"], r["cortex"]), {}).setdefault((r["between"], int(r["a"]), int(r["b"])), []).append(r)
    kinds = list(dict.fromkeys(r["cortex"] for r in data["convergence"]))
    rows = []
    for (base, kind), cells in sorted(groups.items(), key=lambda kv: (list(LABELS).index(kv[0][0]), kinds.index(kv[0][1]))):
        m = lambda rs, k: float(np.nanmean([num(r[k]) for r in rs]))  # noqa: E731
        seed = sorted((a, rs) for (between, a, _), rs in cells.items() if between == "seeds")
        size = sorted(((a, b), rs) for (between, a, b), rs in cells.items() if between == "sizes")
        rows.append([LABELS.get(base, base), kind, " / ".join(f"{a:,}: {m(rs, 'cka'):.2f}" for a, rs in seed),
                     " / ".join(f"{m(rs, 'probe_within'):.2f} -> {m(rs, 'probe_transfer'):.2f}" for _, rs in seed),
                     fmt(m([r for _, rs in seed for r in rs], "chance"), 2),
                     " / ".join(f"{a:,}-{b:,}: {m(rs, 'cka'):.2f}" for (a, b), rs in size)])
    return table(["language", "cortex", "CKA between seeds, by size", "state probe: own seed -> another seed, same sizes",
                   "probe chance", "CKA between neighbouring sizes"], rows)


# -- the answer, in words -------------------------------------------------------------------------------
def pair_verdict(data: dict, pair: tuple) -> str:
    """One sentence per pair: bias or not, per size, and whether the baselines show it too."""
    name, good, bad, col, label, hb, _ = pair
    reps, by = data["bias"]["replicas"], []
    for n in sizes(data):
        mean, se, k = paired(seeds(reps, good, col, **{"cortex.n_units": n, "phases.train.strings": STRINGS}),
                             seeds(reps, bad, col, **{"cortex.n_units": n, "phases.train.strings": STRINGS}), hb)
        if k:
            by.append((n, mean, se, k))
    if not by:
        return f"- **{name}**: not measured."
    favour = [n for n, m, s, k in by if is_bias(m, s, k) and m > 0]
    against = [n for n, m, s, k in by if is_bias(m, s, k) and m < 0]
    text = ", ".join(f"{m:+.3f} at {n:,}" for n, m, _, _ in by)
    if favour and not against:
        text += f" units: the language that follows the universal is learnt better at {len(favour)} of {len(by)} sizes"
    elif against and not favour:
        text += f" units: the language that breaks it is learnt better at {len(against)} of {len(by)} sizes"
    elif favour and against:
        text += " units: the sign depends on size"
    else:
        text += " units: no difference beyond the seeds' spread"
    shown = []
    for who, pick in others(data):
        mean, se, k = paired(seeds(pick, good, col), seeds(pick, bad, col), hb)
        if k:
            shown.append(f"{who} {mean:+.3f}{'*' if is_bias(mean, se, k) else ''}")
    if shown:
        text += "; on the same strings: " + ", ".join(shown)
    return f"- **{name}** ({LABELS[good]} vs {LABELS[bad]}; advantage of following in {label}, paired by seed): {text}."


def rule_verdict(data: dict) -> str:
    reps = data["bias"]["replicas"]
    by = [(n, seeds(reps, AMBIGUOUS, RULE, **{"cortex.n_units": n, "phases.train.strings": STRINGS})) for n in sizes(data)]
    by = [(n, v) for n, v in by if v]
    if not by:
        return "- **poverty of the stimulus**: not measured."
    text = ", ".join(f"{np.mean(list(v.values())):.2f} at {n:,}" for n, v in by)
    mean = float(np.mean([np.mean(list(v.values())) for _, v in by]))
    rule = "the hierarchical rule" if mean > 0.6 else ("the linear rule" if mean < 0.4 else "neither rule clearly")
    return (f"- **poverty of the stimulus** (trained on sentences both rules fit; share of disambiguating "
            f"sentences where the subject's verb beats the nearest noun's, 1,000 strings): {text}: the rate cortex adopts {rule}.")


def render(data: dict) -> str:
    """The generated part of docs/results.md's universals section."""
    out = [f"#### The answers (5 seeds, {STRINGS:,} training strings; * marks a paired difference beyond 0.01 whose 95% t-interval over seeds excludes 0)", "",
           *[pair_verdict(data, p) for p in PAIRS], rule_verdict(data), ""]
    for pair in PAIRS:
        out += [f"#### {pair[0]}: {pair[4]} (`{pair[3]}`), {STRINGS:,} training strings, mean +- s.d. over seeds", "",
                pair_table(data, pair), ""]
    out += ["#### Training strings to criterion ('-': not met at any number of strings measured, up to 5,000)", "", criterion_table(data), "",
            "#### Which rule after ambiguous training (`disambiguating.pair_accuracy`: 1 hierarchical, 0 linear, 0.5 no preference)", "",
            rule_table(data), ""]
    if data["voice"]["replicas"]:
        out += ["#### The voice gate: 2 x 2 (gate on / off) at two sizes, clean test strings", "", voice_table(data), ""]
    if data["convergence"]:
        out += [f"#### Convergence: linear CKA and state-probe transfer, {STRINGS:,} strings", "", convergence_table(data), ""]
    return "\n".join(out).rstrip()


def write(path: Path = RESULTS_MD) -> None:
    """Replace the text between the universals markers of docs/results.md with render(load())."""
    text = path.read_text()
    if START not in text:
        path.write_text(text.rstrip() + f"\n\n{START}\n{END}\n")
    replace_block(path, START, END, render(load()))


# -- from run directories ----------------------------------------------------------------------------------
def convergence(sweep_dirs: list[Path], phase: str = "shared", strings: int = STRINGS) -> Path:
    """convergence.csv: per sweep's cortex (the reservoir; e-prop trained or not), language and size,
    between every two seeds on the strings they share (the ``shared`` phase: every replica reads
    replica 0's strings), linear CKA of the recorded activity and the grammar-state probe fitted on
    one seed and read out of the other through a linear map; between neighbouring sizes the same for
    the same seed."""
    import json

    from experiments.probes.sequence import load_sequence

    loaded, rows = {}, []
    for sweep_dir in sweep_dirs:
        for run in json.loads((sweep_dir / "sweep.json").read_text())["runs"]:
            run_dir = sweep_dir / "runs" / run["run_id"]
            if int(run["params"].get("phases.train.strings", strings)) != strings or not (run_dir / "metrics.json").exists():
                continue
            config = yaml.safe_load((run_dir / "config.yaml").read_text())
            kind = {"reservoir": "reservoir", "eprop": "e-prop"}.get(config["cortex"]["model"], config["cortex"]["model"])
            if not config["phases"][0]["plastic"]:
                kind += ", untrained"
            d = load_sequence(run_dir, phase)
            base, n = Path(run["base"]).name, int(config["cortex"]["n_units"])
            loaded[(kind, base, n)] = d
            for i, j in itertools.combinations(range(d["activity"].shape[0]), 2):
                rows.append({"cortex": kind, "base": base, "between": "seeds", "a": n, "b": n, "pair": f"{i}-{j}",
                             **_compare(d["activity"][i], d["activity"][j], d["targets"]["state"][i], d["active"][i])})
    for kind, base in sorted({k[:2] for k in loaded}):
        ns = sorted(n for k, b, n in loaded if (k, b) == (kind, base))
        for a, b in zip(ns, ns[1:]):
            da, db = loaded[(kind, base, a)], loaded[(kind, base, b)]
            rows.append({"cortex": kind, "base": base, "between": "sizes", "a": a, "b": b, "pair": "0",
                         **_compare(da["activity"][0], db["activity"][0], da["targets"]["state"][0], da["active"][0])})
    write_csv(STUDY / "convergence.csv", rows)
    return STUDY / "convergence.csv"


def _compare(xa, xb, state, active) -> dict:
    """CKA and state-probe transfer of two cortices' activity on the same steps."""
    from experiments.probes.sequence import linear_cka, probe_transfer

    steps = np.flatnonzero(active & (state >= 0))[:4000]
    within, transfer, chance = probe_transfer(xa[steps], xb[steps], state[steps])
    return {"cka": linear_cka(xa[steps], xb[steps]), "probe_within": within, "probe_transfer": transfer,
            "chance": chance, "steps": len(steps)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", choices=["collect", "convergence"])
    p.add_argument("sweep_dir", nargs="*", type=Path, help="collect: one sweep directory; convergence: one or more")
    p.add_argument("--write", action="store_true", help="re-render docs/results.md's universals section")
    p.add_argument("--figures", action="store_true", help="draw docs/figures/universals_*.png from the CSVs")
    a = p.parse_args(argv)
    if a.command == "collect":
        import scaling_collect
        print(*(scaling_collect.collect(d) for d in a.sweep_dir))
    elif a.command == "convergence":
        print(convergence(a.sweep_dir))
    if a.figures:
        import universals_figures
        print(*universals_figures.figures(load()))
    if a.write:
        write()
    if not (a.command or a.write or a.figures):
        print(render(load()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
