"""The universals study (docs/results.md, "Universals"): its tables come from the committed CSVs, its
paired bias test separates a real difference from seed noise, its probe transfer reads a shared code
and not an unrelated one, and the quick look's smallest point runs."""
import json
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main as neurosteer
from sweep_helpers import run_point
from tool_helpers import load_tool

ROOT = Path(__file__).resolve().parent.parent


_load = load_tool


def test_results_md_universals_section_is_rendered_from_the_committed_csvs():
    tool = _load("universals_study")
    text = tool.RESULTS_MD.read_text()
    assert tool.START in text, "run: python tools/universals_study.py --write"
    section = text.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(tool.load()).strip(), "run: python tools/universals_study.py --write"


@pytest.mark.parametrize("sweep", ["bias", "eprop", "baselines", "lstm_converge", "spiking", "voice"])
def test_replicas_csv_holds_the_replicas_whose_means_results_csv_holds(sweep):
    tool = _load("universals_study")
    results = {r["run_id"]: r for r in tool.read_csv(tool.STUDY / sweep / "results.csv") if r["status"] == "done"}
    if not results:
        pytest.skip(f"studies/universals/{sweep} not committed")
    replicas = tool.read_csv(tool.STUDY / sweep / "replicas.csv")
    assert {r["run_id"] for r in replicas} == set(results)
    for run_id, row in results.items():
        mine = [r for r in replicas if r["run_id"] == run_id]
        assert len(mine) == 5
        for col in ("test.kl_to_optimal", "test.longrange_accuracy"):
            if row.get(col) not in (None, ""):
                assert np.mean([float(r[col]) for r in mine]) == pytest.approx(float(row[col]), abs=1e-9)


def test_the_paired_bias_test_needs_a_difference_beyond_the_seeds_spread():
    tool = _load("universals_study")
    a = {k: 0.9 + 0.01 * k for k in range(5)}
    better = {k: v - 0.05 for k, v in a.items()}           # every seed 0.05 worse: a bias
    noisy = {k: v + (0.08 if k % 2 else -0.08) for k, v in a.items()}  # mean 0.016 off, spread 0.09
    mean, se, n = tool.paired(a, better, higher_better=True)
    assert n == 5 and mean == pytest.approx(0.05) and tool.is_bias(mean, se, n)
    mean, se, n = tool.paired(a, noisy, higher_better=True)
    assert not tool.is_bias(mean, se, n)
    one = tool.paired({0: 0.9}, {0: 0.5}, higher_better=True)   # one seed: no interval, no bias
    assert one[2] == 1 and not tool.is_bias(*one)
    mean, _, _ = tool.paired(a, better, higher_better=False)  # for a KL, lower is better: the sign flips
    assert mean == pytest.approx(-0.05)
    assert tool.paired(a, {}, True)[2] == 0


def test_probe_transfer_reads_a_shared_code_and_not_an_unrelated_one():
    from experiments.probes.sequence import probe_transfer

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    code = np.eye(4)[y] + 0.3 * rng.normal(size=(2000, 4))
    xa, xb = code @ rng.normal(size=(4, 20)), code @ rng.normal(size=(4, 30))  # two mixings of one code
    within, transfer, chance = probe_transfer(xa, xb, y)
    assert chance == 0.25 and within > 0.9 and transfer > 0.9
    _, unrelated, _ = probe_transfer(xa, rng.normal(size=(2000, 30)), y)
    assert unrelated < 0.35


def test_the_quick_looks_smallest_point_runs(tmp_path):
    from experiments.sweep.run import plan

    runs = plan(ROOT / "configs" / "sweeps" / "universals_quick.yaml").runs
    assert len(runs) == 14
    ambiguous = [r for r in runs if Path(r.point.base).name == "agreement_ambiguous.yaml"]
    smallest = min(ambiguous, key=lambda r: r.resolved["cortex"]["n_units"])
    rule = run_point(smallest, tmp_path / "run")["disambiguating"]["per_replica"]["pair_accuracy"]
    assert len(rule) == 5 and all(0 <= x <= 1 for x in rule)


def test_the_bias_sweep_covers_every_language_at_every_size_and_data_point():
    from experiments.sweep.run import plan

    runs = plan(ROOT / "configs" / "sweeps" / "universals_bias.yaml").runs
    tool = _load("universals_study")
    assert {Path(r.point.base).name for r in runs} == set(tool.LABELS)
    assert len(runs) == len(tool.LABELS) * 5 * 4
    quick = {r.run_id for r in plan(ROOT / "configs" / "sweeps" / "universals_quick.yaml").runs}
    assert quick <= {r.run_id for r in runs}   # the quick look is a subset: the same run ids


def test_a_shared_strings_phase_gives_every_replica_the_first_replicas_strings(tmp_path):
    import h5py

    out = tmp_path / "run"
    assert neurosteer(["run", str(ROOT / "configs/universals/harmony_head_first.yaml"), "--out", str(out), "--quiet",
                       "--no-plots", "--set", "cortex.n_units=32", "--set", "phases.train.strings=30",
                       "--set", "phases.test.strings=20", "--set", "phases.shared.strings=20"]) == 0
    with h5py.File(out / "traces.h5") as f:
        test, shared = f["test"]["input"][()], f["shared"]["input"][()]
    assert (shared == shared[0]).all()          # one stream for every replica
    assert not (test == test[0]).all()          # the other phases keep their own
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(set(metrics["shared"]["per_replica"]["optimal_cross_entropy"])) == 1


def test_shared_strings_is_refused_outside_grammar_worlds(tmp_path, capsys):
    import yaml

    cfg = yaml.safe_load((ROOT / "configs/steering/train_and_shift.yaml").read_text())
    cfg["phases"][0]["shared_strings"] = True
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert neurosteer(["validate", str(path)]) == 2
    assert f"{path}: phases.0.shared_strings: only for grammar worlds" in capsys.readouterr().err
