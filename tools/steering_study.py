"""The steering study's tables and figures in docs/results.md, made from committed sweep results.

    python tools/steering_study.py collect studies/steering/diversity   # replicas.csv from the run dirs
    python tools/steering_study.py probes studies/steering/probes       # probes.csv from the run dirs
    python tools/steering_study.py figures                              # docs/figures/steering_*.png
    python tools/steering_study.py --write                              # re-render docs/results.md
    python tools/steering_study.py table SWEEP_DIR                      # a sweep's diversity table (quick look)

Every sweep of the study (``configs/sweeps/steering_*.yaml``) writes ``studies/steering/<name>/``;
committed there are its ``results.csv`` (one row per run: the mean over the run's 10 replicas) and,
made from the same run directories by ``collect`` and ``probes``, ``replicas.csv`` (one row per
replica, for intervals over seeds) and ``probes.csv`` (one row per replica, target and probe).
The section between the ``steering:start`` / ``steering:end`` markers of docs/results.md is
rendered by :func:`render` from those files alone, and tests/test_steering_study.py checks that the
file holds exactly that, so no number there can drift from the runs that made it.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from study_tables import replace_block  # noqa: E402

STUDY = ROOT / "studies" / "steering"
RESULTS_MD = ROOT / "docs" / "results.md"
FIGURES = ROOT / "docs" / "figures"
START, END = "<!-- steering:start -->", "<!-- steering:end -->"

DIV, SIZE = "world.diversity", "cortex.n_units"
FROZEN, PLASTIC = "cue_conflict", "cue_conflict_plastic"
# per-replica metrics kept in replicas.csv: (phase, metric)
REPLICA_METRICS = [(FROZEN, m) for m in ("proxy_reliance", "steering_gap", "catastrophes")] + \
    [(PLASTIC, m) for m in ("steering_gap", "recovered", "recovery_trials", "catastrophes_before_recovery")]
PROXY_LIMIT, GAP_LIMIT = 0.5, 0.1      # "the failure goes": proxy_reliance below, steering_gap below
BOOTSTRAP, BOOT_SEED = 2000, 0
TEXT_COLUMNS = {"run_id", "base", "status", "target", "probe"}   # never numbers (a run id can read as 6e92...)
SPIKING_SIZE = 200                      # configs/steering/train_and_shift_spiking.yaml
PROBE_UNITS = (2, 4, 16, None)          # decoders on the first n recorded units (None: all 50)


# -- reading ---------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV as dicts of floats where a cell parses as one (empty: NaN), else strings;
    TEXT_COLUMNS stay strings."""
    def cell(v, key):
        if key in TEXT_COLUMNS:
            return v
        if v == "":
            return math.nan
        try:
            return float(v)
        except ValueError:
            return v
    with open(path, newline="") as f:
        return [{k: cell(v, k) for k, v in row.items()} for row in csv.DictReader(f)]


# -- numbers ---------------------------------------------------------------------------------------
def _mean(values) -> float:
    vals = [v for v in values if isinstance(v, float) and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _cells(rows: list[dict], key) -> dict:
    out = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return dict(sorted(out.items()))


def diversity_rows(results: list[dict]) -> dict:
    """(size, diversity) -> means over the cell's runs (each already a mean over 10 replicas)."""
    cols = [c for c in results[0] if "." in c and c not in (DIV, SIZE)] if results else []
    return {key: {c: _mean(r.get(c, math.nan) for r in rs) for c in cols}
            for key, rs in _cells(results, lambda r: (int(r.get(SIZE, SPIKING_SIZE)), r[DIV])).items()}


def threshold(diversities: np.ndarray, proxy: np.ndarray, gap: np.ndarray) -> float:
    """The smallest diversity on the grid from which on proxy reliance stays below PROXY_LIMIT and
    the gap below GAP_LIMIT (inf if the failure never goes)."""
    ok = (proxy < PROXY_LIMIT) & (gap < GAP_LIMIT)
    for i in range(len(diversities)):
        if ok[i:].all():
            return float(diversities[i])
    return math.inf


def anchors(replicas: list[dict]) -> dict:
    """size -> (threshold diversity of the means, 2.5% and 97.5% bootstrap percentiles, seeds per
    cell): seeds resampled with replacement within every diversity cell, BOOTSTRAP times."""
    out = {}
    rng = np.random.default_rng(BOOT_SEED)
    for size, rs in _cells(replicas, lambda r: int(r.get(SIZE, SPIKING_SIZE))).items():
        cells = _cells(rs, lambda r: r[DIV])
        divs = np.array(list(cells))
        proxy = [np.array([r[f"{FROZEN}.proxy_reliance"] for r in c]) for c in cells.values()]
        gap = [np.array([r[f"{FROZEN}.steering_gap"] for r in c]) for c in cells.values()]
        point = threshold(divs, np.array([p.mean() for p in proxy]), np.array([g.mean() for g in gap]))
        boots = []
        for _ in range(BOOTSTRAP):
            idx = [rng.integers(0, len(p), len(p)) for p in proxy]
            boots.append(threshold(divs, np.array([p[i].mean() for p, i in zip(proxy, idx)]),
                                   np.array([g[i].mean() for g, i in zip(gap, idx)])))
        lo, hi = np.percentile(boots, [2.5, 97.5], method="inverted_cdf")
        out[size] = (point, float(lo), float(hi), min(len(p) for p in proxy))
    return out


def _f(x: float, digits: int = 2) -> str:
    if isinstance(x, str):
        return x
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "> 1 (never)"
    return f"{x:.{digits}f}"


def _wall(results: list[dict]) -> float:
    return sum(r["wall_time_s"] for r in results if isinstance(r.get("wall_time_s"), float))


# -- rendering -------------------------------------------------------------------------------------
def load(study: Path = STUDY) -> dict:
    """Everything render() reads: name -> rows of the committed CSVs."""
    data = {}
    for name, files in {"diversity": ("results", "replicas"), "diversity_spiking": ("results", "replicas"),
                        "against_reward": ("results",), "probes": ("results", "probes"), "quick": ("results",)}.items():
        for f in files:
            path = study / name / f"{f}.csv"
            if path.exists():   # runs that did not finish (status other than done) are left out
                data[f"{name}/{f}"] = [r for r in read_csv(path) if r.get("status", "done") == "done"]
    return data


def _first(rows: dict, col: str, limit: float) -> float:
    """The smallest diversity (of (size, diversity) -> means) from which on ``col`` stays below ``limit``."""
    divs = sorted(d for _, d in rows)
    vals = np.array([rows[next(k for k in rows if k[1] == d)][col] for d in divs])
    ok = vals < limit
    return next((float(d) for i, d in enumerate(divs) if ok[i:].all()), math.inf)


def _answer(data: dict) -> str:
    """The plain-language answer, its numbers read from the same CSVs as the tables."""
    rate = diversity_rows(data["diversity/results"])
    sizes = sorted({size for size, _ in rate})
    at = lambda d, col: " / ".join(_f(rate[(n, d)][col]) for n in sizes if (n, d) in rate)  # noqa: E731
    units = " / ".join(f"{n:,}" for n in sizes)
    out = [f"- **Off distribution, steering through a learned proxy fails, at every size.** Without training "
           f"diversity the frozen cortex follows the colour in `cue_conflict`: `proxy_reliance` "
           f"{at(0.0, FROZEN + '.proxy_reliance')}, `steering_gap` {at(0.0, FROZEN + '.steering_gap')} at "
           f"{units} units (1 = always the proxy's choice / all fidelity lost)."]
    anchor = anchors(data["diversity/replicas"])
    text = "; ".join(f"{n:,} units: {_f(p)} ({_f(lo)} to {_f(hi)})" for n, (p, lo, hi, _) in anchor.items())
    points = [p for p, *_ in anchor.values()]
    if all(math.isinf(p) for p in points):
        verdict = "Training diversity does not remove it on this grid"
    elif points[-1] < points[0] and all(b <= a for a, b in zip(points, points[1:])):
        verdict = "Training diversity removes it, and a bigger cortex needs less of it"
    elif len(set(points)) == 1:
        verdict = "Training diversity removes it, at the same diversity for every size"
    else:
        verdict = "Training diversity removes it; size does not order the diversity needed"
    finite = [p for p in points if not math.isinf(p)]
    share = (f"; here a share of {_f(min(finite))} to {_f(max(finite))} of the training trials with the colour "
             f"dealt at random does" if finite else "")
    out.append(f"- **{verdict}.** The diversity from which on `proxy_reliance` < {PROXY_LIMIT} and gap < "
               f"{GAP_LIMIT} (95% bootstrap interval over seeds): {text}. Langosco et al. 2022 found that a small "
               f"share of CoinRun levels with the coin placed at random removes the failure{share}. (Every "
               f"`cue_conflict` trial is a conflict trial between two items, so the gap is about the proxy "
               f"reliance there and the gap limit is the one that decides.)")
    if "diversity_spiking/replicas" in data:
        sp = diversity_rows(data["diversity_spiking/results"])
        (p, lo, hi, _), = anchors(data["diversity_spiking/replicas"]).values()
        out.append(f"- **The spiking cortex** ({SPIKING_SIZE} units) at diversity 0: `proxy_reliance` "
                   f"{_f(sp[(SPIKING_SIZE, 0.0)][FROZEN + '.proxy_reliance'])}, gap "
                   f"{_f(sp[(SPIKING_SIZE, 0.0)][FROZEN + '.steering_gap'])}; the failure goes from diversity "
                   f"{_f(p)} ({_f(lo)} to {_f(hi)}): its proxy reliance falls below {PROXY_LIMIT} from diversity "
                   f"{_f(_first(sp, FROZEN + '.proxy_reliance', PROXY_LIMIT))} on, but its gap stays at or above "
                   f"{GAP_LIMIT} until {_f(_first(sp, FROZEN + '.steering_gap', GAP_LIMIT))}.")
    frozen_rate = [rate[(n, 0.0)][FROZEN + ".catastrophes"] / 300 for n in sizes]
    before = [rate[(n, 0.0)][PLASTIC + ".catastrophes_before_recovery"] for n in sizes]
    trials = [rate[(n, 0.0)][PLASTIC + ".recovery_trials"] for n in sizes]
    out.append(
        f"- **Learning during the shift repairs the failure, after the fact.** At diversity 0 the "
        f"plastic phase's gap over its 600 trials is {at(0.0, PLASTIC + '.steering_gap')} and the share of "
        f"replicas that recover {at(0.0, PLASTIC + '.recovered')} ({units} units), after "
        f"{' / '.join(_f(t, 0) for t in trials)} trials (50 = no visible drop). Deaths before recovery: "
        f"{' / '.join(_f(b, 1) for b in before)} per replica, i.e. "
        f"{' / '.join(_f(b / t * 100, 1) for b, t in zip(before, trials))} per 100 trials until recovery, against "
        f"{' / '.join(_f(r * 100, 1) for r in frozen_rate)} per 100 trials in the frozen shift. "
        + ("Online learning lowers the death rate and ends the exposure, but it does not prevent the "
           "irreversible mistakes: they come before it has recovered."
           if all(b > 0 for b in before) else "Some sizes recover without a death.")
        + (" A bigger cortex recovers sooner." if trials[-1] < trials[0] else ""))
    if "against_reward/results" in data:
        res = data["against_reward/results"]
        row = lambda base, g: next(r for r in res if r["base"] == base and r["subcortex.gamma"] == g)  # noqa: E731
        a9, a0 = row("abstinence.yaml", 0.9), row("abstinence.yaml", 0.0)
        s9, c9 = row("superstimulus.yaml", 0.9), row("train_and_shift.yaml", 0.9)
        out.append(
            f"- **Three ways against the innate reward are told apart by the numbers.** (a) *Abstinence* "
            f"(steering working through the long-term predictor): the cortex passes up the sweet item that "
            f"hurts later in {_f(a9['test.abstinence'])} of temptation trials (myopic subcortex: "
            f"{_f(a0['test.abstinence'])}), taking less immediate innate reward ({_f(a9['test.immediate_reward'], 3)} "
            f"vs {_f(a0['test.immediate_reward'], 3)} per trial) for more in total ({_f(a9['test.subcortex_reward'], 3)} "
            f"vs {_f(a0['test.subcortex_reward'], 3)}) and more fitness ({_f(a9['test.fitness'], 3)} vs "
            f"{_f(a0['test.fitness'], 3)}). (b) *Superstimulus* (the design failing off distribution): innate "
            f"reward rises from {_f(s9['test.subcortex_reward'], 3)} to {_f(s9['superstimulus.subcortex_reward'], 3)} "
            f"per trial while fitness falls from {_f(s9['test.fitness'], 3)} to {_f(s9['superstimulus.fitness'], 3)}, "
            f"and with learning on {'it goes further' if s9['superstimulus_plastic.fitness'] < s9['superstimulus.fitness'] and s9['superstimulus_plastic.subcortex_reward'] > s9['superstimulus.subcortex_reward'] else 'it changes'} "
            f"(reward {_f(s9['superstimulus_plastic.subcortex_reward'], 3)}, fitness "
            f"{_f(s9['superstimulus_plastic.fitness'], 3)}): the subcortex gets what it asks for, and learning "
            f"serves the reward, not the fitness. (c) *A learned proxy* (steering failing): innate reward falls "
            f"from {_f(c9['test.subcortex_reward'], 3)} to {_f(c9['cue_conflict.subcortex_reward'], 3)} and fitness "
            f"from {_f(c9['test.fitness'], 3)} to {_f(c9['cue_conflict.fitness'], 3)}: the subcortex itself is "
            f"short-changed, and learning on repairs it (reward {_f(c9['cue_conflict_plastic.subcortex_reward'], 3)}, "
            f"fitness {_f(c9['cue_conflict_plastic.fitness'], 3)}). So (a) shows lower immediate and higher total "
            f"innate reward than its myopic control, (b) higher total innate reward and lower fitness than in "
            f"distribution, (c) lower total innate reward than in distribution.")
    out.append(
        f"- **The thought assessors fail with the policy.** At diversity 0 the sweet-taste assessor's error is "
        f"{at(0.0, 'test.assessor_error/taste.sweet')} in distribution and "
        f"{at(0.0, FROZEN + '.assessor_error/taste.sweet')} in `cue_conflict` ({units} units): it predicts "
        f"taste from colour too, so the subcortex's teaching signals are themselves fooled until the outcome "
        f"arrives.")
    if "probes/probes" in data:
        pr = data["probes/probes"]
        full = max(r["units"] for r in pr)
        acc = lambda t, p: _mean(r["accuracy"] for r in pr if r["target"] == t and r["probe"] == p  # noqa: E731
                                 and r[DIV] == 0.0 and r["units"] == full)
        out.append(
            f"- **A cortex that follows the proxy still represents the reliable cue.** Pooled over `test` and "
            f"`cue_conflict`, where colour no longer predicts taste, a linear decoder reads the offered item's "
            f"taste from the activity with balanced accuracy {_f(acc('taste', 'pooled:test+cue_conflict'))} "
            f"(diversity 0, all sizes); a taste decoder fitted in distribution scores "
            f"{_f(acc('taste', 'transfer:test->cue_conflict'))} after the shift (below chance, 0.5: it reads the "
            f"colour, which now lies), so in distribution the activity's taste axis is the colour axis. The "
            f"information to steer right is there; what the heads learned to weight is not.")
    return "\n".join(out)


def render(data: dict) -> str:
    """The steering section's generated part (between the markers)."""
    from steering_tables import (against_table, anchor_table, assessor_table, diversity_table, probe_table, sample_table,
                                 walls)
    parts = [
        "#### The answer, in plain language",
        _answer(data),
        "#### Training diversity x cortex size x plasticity during the shift",
        "Means over seeds (`results.csv`: each run's mean over its 10 replicas). *Frozen*: the "
        "`cue_conflict` phase, 300 trials, plasticity off; *plastic*: `cue_conflict_plastic`, 600 trials, "
        "learning on (it follows `novel_items`, so the cortex meets the swapped cues there first with "
        "learning on). Catastrophes are deaths (the disguised nightshade is lethal).",
        diversity_table(data),
        "#### The anchor: the diversity at which the failure goes",
        f"The smallest grid diversity from which on the frozen `cue_conflict` phase has `proxy_reliance` < "
        f"{PROXY_LIMIT} and `steering_gap` < {GAP_LIMIT} (means over seeds); the interval: {BOOTSTRAP} "
        f"bootstrap resamples of the seeds within every cell (`replicas.csv`).",
        anchor_table(data),
    ]
    if "against_reward/results" in data:
        parts += ["#### Three ways of going against the innate reward",
                  "`configs/sweeps/steering_against_reward.yaml`, 10 replicas per row; gamma is the subcortex's "
                  "TD discount (0: a myopic dopamine signal that never looks past the next step).",
                  against_table(data)]
    parts += ["#### Thought assessors in and out of distribution",
              "Mean absolute supervisory error of each assessor over the steps where its signal was sensed "
              "(`assessor_error/<signal>`), means over seeds.", assessor_table(data)]
    if "probes/probes" in data:
        parts += ["#### Probes: what the activity carries",
                  "Balanced accuracy (0.5 chance) of a cross-validated logistic decoder "
                  "(`experiments.probes`) of the first offered item's true taste / toxin / colour (the trained cue) "
                  "from 50 recorded units at the cue step; `cv:` within a phase, `transfer:` fitted in "
                  "`test` and scored in the shifted phase, `pooled:` cross-validated on both phases' trials, where "
                  "colour no longer predicts taste (`studies/steering/probes/probes.csv`).",
                  probe_table(data),
                  "Is the recorded sample enough? The same pooled taste decoder on the first n of the recorded "
                  "units (`recording.sample_units` is 16 in the shipped configs):", sample_table(data)]
    parts += ["#### Wall time", "Sums of the runs' own wall times (`wall_time_s` in `results.csv`), measured "
              "with one worker on a machine shared with other jobs; two workers halve them.", walls(data)]
    return "\n\n".join(parts) + "\n"


def write(path: Path = RESULTS_MD) -> None:
    """Re-render the generated part of the steering section of ``path`` in place."""
    replace_block(path, START, END, render(load()).removesuffix("\n"))  # render ends its last line


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", choices=("collect", "probes", "figures", "table"))
    p.add_argument("sweep_dir", nargs="*", type=Path)
    p.add_argument("--write", action="store_true", help="re-render docs/results.md's steering section")
    args = p.parse_args(argv)
    from steering_collect import collect, probes
    from steering_figures import figures
    from steering_tables import anchor_table, diversity_table

    if args.command == "collect":
        for d in args.sweep_dir:
            print(collect(d))
    elif args.command == "probes":
        for d in args.sweep_dir:
            print(probes(d))
    elif args.command == "figures":
        for path in figures():
            print(path)
    elif args.command == "table":
        for d in args.sweep_dir:
            collect(d)
            data = {"diversity/results": read_csv(d / "results.csv"), "diversity/replicas": read_csv(d / "replicas.csv")}
            print(diversity_table(data), "\n\n" + anchor_table(data),
                  f"\n\n{len(data['diversity/results'])} runs, {_wall(data['diversity/results']) / 60:.1f} min of run wall time")
    if args.write:
        write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
