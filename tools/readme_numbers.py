"""Re-make every number in the README's "Experiments shipped" table.

    python tools/readme_numbers.py                 # run every measurement, write tools/readme_numbers.json
    python tools/readme_numbers.py --only reber    # re-run some (the others are kept from the JSON)
    python tools/readme_numbers.py --write         # re-render the README table from the JSON (no runs)

Each measurement is one shipped config with a few ``--set`` overrides, run exactly as a user runs
it (``experiments.run``); its whole ``metrics.json`` lands in ``tools/readme_numbers.json``
together with the git hash and date. The table between the ``measured:start`` / ``measured:end``
markers of README.md is rendered from that JSON by :func:`render`, and tests/test_docs.py checks
that the README holds exactly what :func:`render` makes of the committed JSON, so a number in the
table cannot drift from the runs that made it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from study_tables import replace_block  # noqa: E402

NUMBERS = ROOT / "tools" / "readme_numbers.json"
README = ROOT / "README.md"
START, END = "<!-- measured:start -->", "<!-- measured:end -->"

# name -> (config, overrides): what is run
MEASUREMENTS: dict[str, tuple[str, list[str]]] = {
    "embedded_reber": ("configs/language/embedded_reber.yaml", []),
    "embedded_reber_400": ("configs/language/embedded_reber.yaml", ["cortex.n_units=400"]),
    "embedded_reber_16": ("configs/language/embedded_reber.yaml", ["cortex.n_units=16"]),
    "reber": ("configs/language/reber.yaml", []),
    "anbn": ("configs/language/anbn.yaml", []),
    "dyck": ("configs/language/dyck.yaml", []),
    "agreement": ("configs/language/agreement.yaml", []),
    **{f"embedded_reber_spiking_{n}": ("configs/language/embedded_reber_spiking.yaml", [f"cortex.n_units={n}"])
       for n in (100, 200, 400, 800)},
    "reber_spiking": ("configs/language/embedded_reber_spiking.yaml", ["world.kind=reber"]),
    "train_and_shift": ("configs/steering/train_and_shift.yaml", []),
    "diversity": ("configs/steering/diversity.yaml", []),
    "superstimulus": ("configs/steering/superstimulus.yaml", []),
    "train_and_shift_spiking": ("configs/steering/train_and_shift_spiking.yaml", []),
    "izhikevich2007": ("configs/steering/izhikevich2007.yaml", ["replicas=4"]),
    **{name: (f"configs/universals/{name}.yaml", [])
       for name in ("harmony_head_first", "disharmony_pp_last", "harmony_head_last", "disharmony_pp_first",
                    "agreement_hierarchical", "agreement_linear", "agreement_ambiguous")},
    **{f"{name}{arm}": (f"configs/universals/{name}.yaml", overrides)
       for name in ("voice_embedded_reber", "voice_agreement")
       for arm, overrides in (("", []), ("_ungated", ["subcortex.voice_gate.enabled=false"]))},
}


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _range(values: list, scale: float = 1.0, digits: int = 0, suffix: str = "") -> str:
    vals = [v * scale for v in values if v is not None]
    if not vals:
        return "never"
    lo, hi = min(vals), max(vals)
    return f"{lo:,.{digits}f}{suffix}" if lo == hi else f"{lo:,.{digits}f}-{hi:,.{digits}f}{suffix}"


def _rows(m: dict) -> list[tuple[str | tuple[str, ...], str, str]]:
    """(config or configs, question, measured) rows of the table; ``m``: measurement name -> metrics.json."""
    er = lambda name: m[name]["test"]["longrange_accuracy"]  # noqa: E731
    ts, dv, ss = m["train_and_shift"], m["diversity"], m["superstimulus"]
    tsp, iz = m["train_and_shift_spiking"], m["izhikevich2007"]["train"]
    cp = ts["cue_conflict_plastic"]
    n_rec = int(sum(v or 0 for v in cp["per_replica"]["recovered"]))
    n_rep = len(cp["per_replica"]["recovered"])
    gap0, gap = ts["cue_conflict"]["steering_gap"], dv["cue_conflict"]["steering_gap"]
    spk = " / ".join(_f(er(f"embedded_reber_spiking_{n}")) for n in (100, 200, 400, 800))
    kl = lambda name: _f(m[name]["test"]["kl_to_optimal"])  # noqa: E731
    verbs = lambda name: _f(m[name]["test"]["longrange_accuracy"])  # noqa: E731
    uni = lambda *names: tuple(f"universals/{n}.yaml" for n in names)  # noqa: E731
    recovery = (f"with plasticity {n_rec}/{n_rep} replicas recover (`recovery_trials` {_f(cp['recovery_trials'], 1)}), "
                f"{_f(cp['catastrophes_before_recovery'], 1)} catastrophes first" if n_rec else
                f"with plasticity no replica recovers in {n_rep}; {_f(cp['catastrophes'], 1)} catastrophes")
    return [
        ("language/embedded_reber.yaml", "long-range dependency; does size matter?",
         f"rate, 1,000 training strings: test `longrange_accuracy` {_f(er('embedded_reber'))} at 1,000 units, "
         f"{_f(er('embedded_reber_400'))} at 400, {_f(er('embedded_reber_16'))} at 16 "
         f"(chance {_f(m['embedded_reber']['test']['longrange_accuracy_chance'], 1)})"),
        ("language/reber.yaml", "learn the exact next-symbol distribution",
         f"rate: test `kl_to_optimal` {_f(m['reber']['test']['kl_to_optimal'], 4)} nats/symbol"),
        ("language/anbn.yaml", "counting, length generalisation",
         f"rate: `longrange_accuracy` {_f(m['anbn']['test']['longrange_accuracy'])} in range, "
         f"`length_generalization` {_f(m['anbn']['test_long']['length_generalization'])} beyond it "
         "(the negative anchor of Deletang et al. 2023)"),
        ("language/dyck.yaml", "nesting",
         f"rate: which bracket closes {_f(m['dyck']['test']['longrange_accuracy'])}; longer strings: "
         f"{_f(m['dyck']['test_long']['longrange_accuracy'])}, `length_generalization` "
         f"{_f(m['dyck']['test_long']['length_generalization'])}"),
        ("language/agreement.yaml", "agreement across centre embedding",
         f"rate: verb number {_f(m['agreement']['test']['longrange_accuracy'])} (depth <= 2), "
         f"{_f(m['agreement']['test_long']['longrange_accuracy'])} at depth 3; `surprisal_gap` "
         f"{_f(m['agreement']['test']['surprisal_gap'], 2)} nats"),
        ("language/embedded_reber_spiking.yaml", "the same on the spiking cortex",
         f"`longrange_accuracy` {spk} at 100 / 200 / 400 / 800 units (default 400); plain Reber "
         f"`kl_to_optimal` {_f(m['reber_spiking']['test']['kl_to_optimal'])}"),
        ("steering/train_and_shift.yaml", "does steering survive a cue conflict? (10 seeds)",
         f"in-distribution `fidelity` {_f(ts['test']['fidelity'], 2)}; `cue_conflict` gap "
         f"{_f(ts['cue_conflict']['steering_gap'])}, `proxy_reliance` {_f(ts['cue_conflict']['proxy_reliance'])}; "
         + recovery),
        ("steering/diversity.yaml", "does training diversity remove the proxy?",
         f"diversity 0.2: `cue_conflict` gap {_f(gap, 2)} (diversity 0: {_f(gap0, 2)}; "
         f"{100 * (gap - gap0) / gap0:+.0f}%), as in Langosco et al. 2022"),
        ("steering/superstimulus.yaml", "does innate reward still track fitness?",
         f"`subcortex_reward` {_f(ss['superstimulus']['subcortex_reward'], 2)} vs "
         f"{_f(ss['test']['subcortex_reward'], 2)} in distribution while `fitness` falls "
         f"{_f(ss['test']['fitness'])} -> {_f(ss['superstimulus']['fitness'])}"),
        ("steering/train_and_shift_spiking.yaml", "steering on the spiking cortex",
         f"`fidelity` {_f(tsp['test']['fidelity'])}, `cue_conflict` gap {_f(tsp['cue_conflict']['steering_gap'], 2)}"),
        ("steering/izhikevich2007.yaml", "Izhikevich 2007 distal reward (paper parameters)",
         f"rewarded synapse first at 90% of max after "
         f"{_range(iz['per_replica']['time_to_90pct_s'], suffix=' s')} (seeds 0-3); at 1,800 s "
         f"{_range(iz['per_replica']['rewarded_weight_final_frac'], 100, suffix='%')} of max, median of the "
         f"rest {_range(iz['per_replica']['others_median_final_frac'], 100, suffix='%')}"),
        (uni("harmony_head_first", "disharmony_pp_last"), "word-order harmony: is a harmonic language easier? "
         "(heads first)",
         f"rate: test `kl_to_optimal` {kl('harmony_head_first')} harmonic (prepositions) vs "
         f"{kl('disharmony_pp_last')} with postpositions (centre-embedded adposition phrases)"),
        (uni("harmony_head_last", "disharmony_pp_first"), "the same, heads last",
         f"rate: test `kl_to_optimal` {kl('harmony_head_last')} harmonic (postpositions) vs "
         f"{kl('disharmony_pp_first')} with prepositions"),
        (uni("agreement_hierarchical", "agreement_linear"), "structure dependence: verb agrees with its subject "
         "or with the nearest noun?",
         f"rate: test verb number (`longrange_accuracy`) {verbs('agreement_hierarchical')} with the subject "
         f"(hierarchical) vs {verbs('agreement_linear')} with the nearest noun (linear)"),
        (uni("agreement_ambiguous"), "which rule from data both rules fit? (McCoy et al. 2020)",
         f"rate: verb number {verbs('agreement_ambiguous')} in distribution; on the disambiguating sentences "
         f"`pair_accuracy` {_f(m['agreement_ambiguous']['disambiguating']['pair_accuracy'])} "
         "(1 = hierarchical rule adopted, 0 = linear)"),
        (uni("voice_embedded_reber"), "does a voice gate on plasticity shut out distractors?",
         f"rate, 2,000 training strings, half distractors: test `kl_to_optimal` {kl('voice_embedded_reber')} gated vs "
         f"{kl('voice_embedded_reber_ungated')} ungated (`--set subcortex.voice_gate.enabled=false`)"),
        (uni("voice_agreement"), "the same on agreement",
         f"rate: test `kl_to_optimal` {kl('voice_agreement')} gated vs {kl('voice_agreement_ungated')} ungated; "
         f"verb number {verbs('voice_agreement')} vs {verbs('voice_agreement_ungated')}"),
    ]


def render(numbers: dict) -> str:
    """The README table (without markers) from the JSON's ``measurements``."""
    m = {name: entry["metrics"] for name, entry in numbers["measurements"].items()}
    lines = [f"Measured by `python tools/readme_numbers.py` on {numbers['date']} (git {numbers['git'][:10]}); "
             "the numbers are in `tools/readme_numbers.json`.", "",
             "| config | question | measured (this machine, 3 seeds unless noted) |", "|---|---|---|"]
    lines += [f"| {', '.join(f'`{x}`' for x in ((c,) if isinstance(c, str) else c))} | {q} | {v} |"
              for c, q, v in _rows(m)]
    lines.append("| `sweeps/cortex_scaling.yaml`, `sweeps/steering_diversity.yaml` | the two questions over sizes x "
                 "seeds | `neurosteer sweep ...` |")
    return "\n".join(lines)


def write_readme(numbers: dict) -> None:
    replace_block(README, START, END, render(numbers))


def measure(names: list[str]) -> dict:
    """Run the named measurements; returns name -> entry (config, overrides, metrics, wall time)."""
    import experiments

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            config, overrides = MEASUREMENTS[name]
            print(f"[readme_numbers] {name}: {config} {' '.join(overrides)}", file=sys.stderr, flush=True)
            result = experiments.run(ROOT / config, overrides, out=Path(tmp) / name, quiet=True, plots=False)
            out[name] = {"config": config, "overrides": overrides, "metrics": result.metrics,
                         "wall_time_s": result.meta["wall_time_s"]}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), help="re-run only these measurements")
    parser.add_argument("--write", action="store_true", help="only re-render the README table from the JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from experiments.rundir import git_info

    numbers = json.loads(NUMBERS.read_text()) if NUMBERS.exists() else {"measurements": {}}
    if not args.write:
        numbers["measurements"].update(measure(args.only or list(MEASUREMENTS)))
        numbers["git"], numbers["date"] = git_info()["hash"], date.today().isoformat()
        NUMBERS.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    missing = sorted(set(MEASUREMENTS) - set(numbers["measurements"]))
    if missing:
        print(f"not yet measured: {', '.join(missing)}; README left as it is", file=sys.stderr)
        return 1
    write_readme(numbers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
