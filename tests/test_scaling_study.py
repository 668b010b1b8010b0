"""The scaling study (docs/results.md, "Language"): its tables come from the committed CSVs, its
fits recover known curves, its quick look's smallest point runs, and its probes behave."""
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main as neurosteer

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- docs/results.md is what the committed CSVs give ---------------------------------------------------
def test_results_md_language_section_is_rendered_from_the_committed_csvs():
    tool = _load("scaling_study")
    text = tool.RESULTS_MD.read_text()
    section = text.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(tool.load()).strip(), "run: python tools/scaling_study.py --write"


@pytest.mark.parametrize("sweep", ["size", "large", "data", "baselines", "baselines_data", "lstm_converge", "spiking"])
def test_replicas_csv_holds_the_replicas_whose_means_results_csv_holds(sweep):
    tool = _load("scaling_study")
    results = {r["run_id"]: r for r in tool.read_csv(tool.STUDY / sweep / "results.csv") if r["status"] == "done"}
    replicas = tool.read_csv(tool.STUDY / sweep / "replicas.csv")
    if not results:
        pytest.skip(f"studies/scaling/{sweep} not committed")
    assert {r["run_id"] for r in replicas} == set(results)
    for run_id, row in results.items():
        mine = [r for r in replicas if r["run_id"] == run_id]
        for col in ("test.kl_to_optimal", "test.longrange_accuracy"):
            if row.get(col) not in (None, ""):
                assert np.mean([float(r[col]) for r in mine]) == pytest.approx(float(row[col]), abs=1e-9)


def test_the_full_grid_resumes_from_the_thinned_sweeps_committed_results(tmp_path):
    from experiments.sweep.run import pending_jobs, plan

    tool = _load("scaling_study")
    seeded = {r["run_id"] for r in tool.read_csv(tool.STUDY / "full" / "results.csv")}
    thinned = {r["run_id"] for n in ("size", "large", "data") for r in tool.read_csv(tool.STUDY / n / "results.csv")}
    assert seeded == thinned
    out = tmp_path / "full"   # a clone: results.csv only, no run directories
    out.mkdir()
    (out / "results.csv").write_text((tool.STUDY / "full" / "results.csv").read_text())
    runs = plan(ROOT / "configs" / "sweeps" / "cortex_scaling.yaml").runs
    assert len(runs) == 196
    assert {j["run_id"] for j in pending_jobs(out, runs)} == {r.run_id for r in runs} - seeded


# -- fits and criteria ----------------------------------------------------------------------------------
def test_the_fits_recover_a_known_power_law_and_a_known_sigmoid():
    fits = _load("scaling_fits")
    sizes = np.repeat([16, 64, 256, 1024, 4096], 5)
    err = 0.8 * sizes ** -0.3 * np.exp(np.random.default_rng(0).normal(0, 0.02, sizes.size))
    got = fits.power_law(sizes, 1 - err, higher_better=True)
    assert got["b"] == pytest.approx(-0.3, abs=3 * got["b_se"] + 0.01)
    x = np.log2(sizes)
    y = 0.5 + 0.45 / (1 + np.exp(-(x - 7) / 1.2)) + np.random.default_rng(1).normal(0, 0.005, x.size)
    s = fits.sigmoid(sizes, y, chance=0.5)
    assert s["top"] == pytest.approx(0.95, abs=0.02) and s["x50"] == pytest.approx(7, abs=0.3)
    assert fits.best_fit(sizes, y, True, 0.5)["model"] == "sigmoid"


def test_first_meeting_names_the_first_point_or_none():
    fits = _load("scaling_fits")
    points = {16: [0.5, 0.6], 256: [0.96, 0.94], 1024: [0.99]}
    assert fits.first_meeting(points, 0.95, True) == 256
    assert fits.first_meeting(points, 0.999, True) is None
    assert fits.first_meeting({16: [0.3], 64: [0.04]}, 0.05, False) == 64


# -- the quick look's smallest point and the probes -----------------------------------------------------
def test_the_quick_looks_smallest_point_runs(tmp_path):
    from experiments.sweep.run import plan

    runs = plan(ROOT / "configs" / "sweeps" / "cortex_scaling_quick.yaml").runs
    smallest = min(runs, key=lambda r: r.resolved["cortex"]["n_units"])
    argv = ["run", str(smallest.point.base), "--out", str(tmp_path / "run"), "--quiet"]
    for o in smallest.point.overrides:
        argv += ["--set", o]
    assert neurosteer(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["test"]["per_replica"]["kl_to_optimal"]) == 5


def test_probes_decode_the_embedded_branch_and_cka_is_a_similarity(tmp_path):
    from experiments.probes.sequence import linear_cka, probe_sequence_run

    out = tmp_path / "run"
    assert neurosteer(["run", str(ROOT / "configs/language/embedded_reber.yaml"), "--out", str(out), "--quiet",
                       "--set", "cortex.n_units=64", "--set", "replicas=1", "--set", "recording.sample_units=64",
                       "--set", "phases.train.strings=300", "--set", "phases.test.strings=100"]) == 0
    rows = {r["target"]: r for r in probe_sequence_run(out)}
    assert set(rows) == {"state", "branch"}
    assert rows["branch"]["chance"] == 0.5 and rows["branch"]["score"] > 0.7   # the cortex carries T/P
    X = np.random.default_rng(0).normal(size=(200, 10))
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(10, 10)))
    assert linear_cka(X, X @ Q * 3) == pytest.approx(1.0)         # invariant to rotation and scale
    assert linear_cka(X, np.random.default_rng(2).normal(size=(200, 10))) < 0.2
    assert not math.isnan(rows["state"]["score"])
