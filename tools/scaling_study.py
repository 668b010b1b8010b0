"""The scaling study's tables and figures in docs/results.md ("Language"), made from committed CSVs.

    python tools/scaling_study.py collect studies/scaling/size   # replicas.csv from the run dirs (scaling_collect.py)
    python tools/scaling_study.py probes studies/scaling/size studies/scaling/spiking   # probes.csv, cka.csv from traces.h5 (scaling_collect.py)
    python tools/scaling_study.py table studies/scaling/size     # a quick look at one sweep
    python tools/scaling_study.py seed-full                      # studies/scaling/full/results.csv: the thinned points
    python tools/scaling_study.py --write                        # re-render docs/results.md's section
    python tools/scaling_study.py --figures                      # docs/figures/scaling_*.png (scaling_figures.py)

The text between ``language:start`` / ``language:end`` of docs/results.md is ``render(load())``:
tests/test_scaling_study.py checks that it is what the committed CSVs give. Plotting reads the
CSVs only; only scaling_collect.py reads run directories. Fits and criteria: tools/scaling_fits.py;
the tables: tools/scaling_tables.py; the sentences: tools/scaling_verdicts.py; the CSV and table
helpers shared with the other studies: tools/study_tables.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from study_tables import baseline_name, fmt, num, read_csv, replace_block  # noqa: E402

STUDY = ROOT / "studies" / "scaling"
RESULTS_MD = ROOT / "docs" / "results.md"
FIGURES = ROOT / "docs" / "figures"
START, END = "<!-- language:start -->", "<!-- language:end -->"
SWEEPS = ("size", "large", "huge", "data", "data_small", "data_large", "data_huge", "baselines", "baselines_data", "lstm_converge",
          "spiking", "spiking_ladder", "spiking_ladder_large", "spiking_ladder_huge", "spiking_projected",
          "spiking_ridge", "spiking_ridge_ladder", "spiking_ridge_scaled", "ridge", "ridge_memory", "ridge_memory_low",
          "ridge_heldout")
# the spiking LIF cortex with full RLS: embedded Reber, and the other rungs (100-1,600 neurons; 4,000)
SPIKING_SWEEPS = ("spiking", "spiking_ladder", "spiking_ladder_large")
SPIKING_PROJECTED = "spiking_projected"   # embedded Reber on the spiking cortex with the projected readout
# Past 4,000 neurons full RLS does not fit (8,000 x 5 replicas: 13 GB for P alone): there the ladder
# reads RLS on a fixed projection to PROJECTED_AT[neurons] dimensions, the other rungs from
# SPIKING_PROJECTED_LADDER, embedded Reber from SPIKING_PROJECTED's points of that dim.
PROJECTED_AT = {8000: 4096}
SPIKING_PROJECTED_LADDER = "spiking_ladder_huge"
# the spiking cortex with full RLS at other ridges than the ladder's 30 (is its fall with size the readout's?):
# agreement at 400 / 4,000 neurons x 3 / 300 / 3,000, five more rungs at 4,000 x 300, every rung with the
# ridge scaled with the network (30 x neurons / 400) at 100 and 1,600
SPIKING_RIDGE = ("spiking_ridge", "spiking_ridge_ladder", "spiking_ridge_scaled")
# the rate cortex at other ridges per feature than its rung configs' own (0.001; agreement 0.25): the finite-state
# rungs x 0.01-10, the memory rungs x 0.0001, three of them x 0.00001
RATE_RIDGE = ("ridge", "ridge_memory", "ridge_memory_low")
# the rate size axis (16-16,384 units, STRINGS strings) with one ridge per rung for every size, chosen on
# RATE_RIDGE's seeds 0-4 (scaling_readout.chosen_ridge) and run on seeds 5-9
HELDOUT = "ridge_heldout"
SIZE_SWEEPS = ("size", "large", "huge")   # the size axis at STRINGS strings: 16-4,096, 16,384, 65,536 units
DATA_SWEEPS = ("data", "data_small", "data_large", "data_huge")   # the data axis: 50 / 200 / 5,000 strings (1,000: the size sweeps)
RATE_SWEEPS = SIZE_SWEEPS + DATA_SWEEPS   # the rate cortex's points of cortex_scaling.yaml
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
SPIKING_RUNGS = {"embedded_reber_spiking.yaml": "embedded_reber.yaml"}   # a spiking config -> the rung it runs
BACKENDS = ("rate", "spiking")


def rung_of(base: str) -> str:
    """The rung (a key of RUNGS) a base config runs, whichever the backend."""
    return SPIKING_RUNGS.get(base, base)


# -- loading the committed CSVs -----------------------------------------------------------------------
def load(study: Path = STUDY) -> dict:
    """Every committed CSV of the study, by sweep name (missing sweeps give empty lists): per sweep
    its done rows of results.csv ("results"), its failed rows ("failed": points that ran and broke,
    shown as missing until a re-run makes them done) and replicas.csv. Rows of status missing or
    running (a sweep stopped before it reached them) are points not run yet: left out."""
    data = {}
    for name in SWEEPS:
        rows = read_csv(study / name / "results.csv")
        if rows and "base" not in rows[0]:   # a sweep of one base has no base column: sweep.json's runs name it
            bases = {run["run_id"]: Path(run["base"]).name
                     for run in json.loads((study / name / "sweep.json").read_text())["runs"]}
            rows = [{**r, "base": bases[r["run_id"]]} for r in rows]
        data[name] = {"results": [r for r in rows if r["status"] == "done"],
                      "failed": [r for r in rows if r["status"] == "failed"],
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
    for name in SIZE_SWEEPS:
        for r in data[name]["replicas"]:
            if r["base"] == rung:   # both sweeps train on STRINGS strings
                out.setdefault(int(r["cortex.n_units"]), []).append(num(r[_col(rung)]))
    return out


def heldout_seeds(data: dict, rung: str) -> dict[int, dict[int, float]]:
    """HELDOUT's points of a rung: size -> seed -> the rung's metric."""
    out: dict[int, dict[int, float]] = {}
    for r in data[HELDOUT]["replicas"]:
        if r["base"] == rung:
            out.setdefault(int(r["cortex.n_units"]), {})[int(r["seed"]) + int(r["replica"])] = num(r[_col(rung)])
    return out


def heldout_points(data: dict, rung: str) -> dict[int, list[float]]:
    """HELDOUT's points of a rung as size_points gives the ladder's: size -> every seed's value."""
    return {n: list(seeds.values()) for n, seeds in heldout_seeds(data, rung).items()}


def _ladder_rows(data: dict, kind: str) -> list[tuple[str, dict]]:
    """(sweep, row) of the spiking ladder's `kind` rows ("replicas" or "failed"): full RLS up to
    4,000 neurons, the projected readout of PROJECTED_AT above."""
    rows = [(name, r) for name in SPIKING_SWEEPS + (SPIKING_PROJECTED_LADDER,) for r in data[name][kind]]
    return rows + [(SPIKING_PROJECTED, r) for r in data[SPIKING_PROJECTED][kind]
                   if PROJECTED_AT.get(int(r["cortex.n_units"])) == int(r["cortex.readout.dim"])]


def spiking_points(data: dict, rung: str) -> dict[int, list[float]]:
    """Spiking LIF cortex, STRINGS training strings: neurons -> every seed's value of the rung's metric."""
    out: dict[int, list[float]] = {}
    for _, r in _ladder_rows(data, "replicas"):
        if rung_of(r["base"]) == rung:
            out.setdefault(int(r["cortex.n_units"]), []).append(num(r[_col(rung)]))
    return out


def spiking_missing(data: dict) -> dict[tuple[str, int], str]:
    """(rung, neurons) -> the error of each spiking ladder point that ran and did not finish."""
    return {(rung_of(r["base"]), int(r["cortex.n_units"])): data[name]["errors"].get(r["run_id"], f"status {r['status']}")
            for name, r in _ladder_rows(data, "failed")}


def data_points(data: dict, rung: str, size: int = DATA_SIZE) -> dict[int, list[float]]:
    """Rate cortex at `size` units: training strings -> every seed's value (STRINGS from the size axis)."""
    out = {STRINGS: size_points(data, rung).get(size, [])}
    for name in DATA_SWEEPS:
        for r in data[name]["replicas"]:
            if r["base"] == rung and int(r["cortex.n_units"]) == size:
                out.setdefault(int(r["phases.train.strings"]), []).append(num(r[_col(rung)]))
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


def baseline_rows(data: dict, kind: str = "results") -> list[dict]:
    return data["baselines"][kind] + data["lstm_converge"][kind]


def baseline_means(data: dict, rung: str) -> dict[str, float]:
    """Baseline name (ngram order k, lstm regime) -> mean of the rung's metric at STRINGS strings."""
    return {baseline_name(r["cortex"]): num(r[_col(rung)]) for r in baseline_rows(data) if r["base"] == rung}


def baseline_curves(data: dict, rung: str) -> dict[str, dict[int, float]]:
    """Baseline name -> {training strings: mean of the rung's metric} (STRINGS from the baselines sweep)."""
    out: dict = {}
    for name, strings in (("baselines", lambda r: STRINGS), ("lstm_converge", lambda r: STRINGS),
                          ("baselines_data", lambda r: int(r["phases.train.strings"]))):
        for r in data[name]["results"]:
            if r["base"] == rung:
                out.setdefault(baseline_name(r["cortex"]), {})[strings(r)] = num(r[_col(rung)])
    return out


BASELINE_SWEEPS = ("baselines", "baselines_data", "lstm_converge")   # STRINGS strings where a row has no strings


def baseline_points(data: dict, rung: str, name: str) -> dict[int, list[float]]:
    """One baseline ('LSTM one_pass', '3-gram'): training strings -> every seed's value of the
    rung's metric, from the baseline sweeps' replicas.csv."""
    out: dict[int, list[float]] = {}
    for sweep in BASELINE_SWEEPS:
        for r in data[sweep]["replicas"]:
            if r["base"] == rung and baseline_name(r["cortex"]) == name:
                out.setdefault(int(r.get("phases.train.strings") or STRINGS), []).append(num(r[_col(rung)]))
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
            return num(r.get(_col(rung) + "_chance"))
    return float("nan")


def render(data: dict) -> str:
    """The generated part of docs/results.md's language section."""
    from scaling_tables import (cka_table, criterion_table, data_table, fit_table, lstm_table, probe_table, size_table,
                                spiking_size_table, strict_table, strings_or_units_table, wall_table)
    from scaling_readout import heldout_table, ridge_summary, ridge_table, spiking_readout_table
    from scaling_verdicts import (backend_summary, criterion_summary, lstm_summary, missing_note, spiking_probe_summary,
                                  spiking_readout_summary, spiking_verdict, strings_or_units_summary, verdict)

    out = ["#### The answer per rung (rate cortex, 5 seeds per point, 1,000 training strings unless said)", "",
           *[verdict(data, r) for r in RUNGS], "",
           "#### The answer per rung, spiking cortex (Brian2 LIF, 5 seeds per point, 1,000 training strings; size in neurons)", "",
           *[spiking_verdict(data, r) for r in RUNGS], "",
           "#### Per backend: which rungs improve with size", "", *backend_summary(data), "",
           "#### Ladder against size (mean +- s.d. over seeds; baselines at 1,000 strings, 5 seeds)", "", size_table(data), "",
           *(["The rate cortex's readout ridge per feature (5 seeds, the same seeds in every column; "
              "`cortex_scaling_ridge*.yaml`; the ladder's ridge, each rung config's own: the size sweeps' runs):",
              "", ridge, "", ridge_summary(data, "rate"), ""]
             if (ridge := ridge_table(data, "rate")) else []),
           *(["The rate size axis at one ridge per rung for every size, the ridge with the best mean over 1,024 / 4,096 / "
              "16,384 units on the ridge sweeps' seeds 0-4, measured on seeds 5-9 (`cortex_scaling_ridge_heldout.yaml`; "
              "mean +- s.d. over the 5 seeds):", "", held, ""]
             if (held := heldout_table(data)) else []),
           "Spiking cortex (the network of `embedded_reber_spiking.yaml` on every rung; mean +- s.d. over seeds; "
           "full RLS up to 4,000 neurons, "
           + ", ".join(f"RLS on a fixed projection to {d:,} dimensions at {n:,} (`cortex_scaling_spiking_ladder_huge.yaml`; "
                       f"embedded Reber: `cortex_scaling_spiking_projected.yaml`)" for n, d in PROJECTED_AT.items())
           + "):", "",
           spiking_size_table(data), "",
           "The spiking cortex's readout at fixed size, and at 8,000 neurons (embedded Reber, 5 seeds, the same seeds in both "
           "columns; `cortex_scaling_spiking_projected.yaml`):", "", spiking_readout_table(data), "",
           spiking_readout_summary(data), "",
           *(["The spiking cortex's readout ridge (full RLS, 5 seeds, the same seeds in every column; "
              "`cortex_scaling_spiking_ridge*.yaml`; ridge 30: the ladder's runs):",
              "", ridge, "", ridge_summary(data, "spiking"), ""]
             if (ridge := ridge_table(data, "spiking")) else []),
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
    replace_block(path, START, END, render(load()))


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
                print(f"{RUNGS[rung][0]:40s} {r.get('cortex.n_units', r.get('cortex', '')):>8} {_col(rung)} {fmt(num(r[_col(rung)]))}")
    if a.write:
        write()
    if a.figures:
        from scaling_figures import figures

        print(*figures())
    return 0


if __name__ == "__main__":
    sys.exit(main())
