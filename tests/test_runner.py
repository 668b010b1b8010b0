"""End to end through the CLI and the Python API: run directories, reproducibility, replicas,
failures that leave their traceback behind."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml

import experiments
from experiments.cli import main
from experiments.config import load
from experiments.protocols import PROTOCOLS
from experiments.worlds import WORLDS

TINY = """\
name: tiny_reber
seed: 5
replicas: {replicas}
world: {{kind: embedded_reber}}
cortex: {{backend: rate, model: reservoir, n_units: 48}}
phases:
  - {{name: train, strings: 60, plastic: true}}
  - {{name: test, strings: 20, plastic: false}}
recording: {{sample_units: 6, predictions_steps: 50}}
"""


def _write(tmp_path, replicas=2, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(TINY.format(replicas=replicas))
    return path


def test_run_writes_the_run_directory(tmp_path, capsys):
    cfg = _write(tmp_path)
    out = tmp_path / "run"
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert {"config.yaml", "meta.json", "metrics.json", "traces.h5"} <= {p.name for p in out.iterdir()}
    # the saved config is complete and reloads to the same experiment
    assert load(out / "config.yaml").resolved() == load(cfg).resolved()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "done" and meta["seed"] == 5 and meta["seeds"] == [5, 6]
    assert meta["backend"] == "rate" and meta["target"] == "numpy"
    assert set(meta["git"]) == {"hash", "dirty"} and meta["versions"]["numpy"]
    assert meta["wall_time_s"] > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["train", "test"]
    test = metrics["test"]
    for name in ("kl_to_optimal", "legal_mass", "longrange_accuracy", "surprisal_gap", "cross_entropy"):
        assert name in test and f"{name}_chance" in test and len(test["per_replica"][name]) == 2
    # the optimal cross entropy is the grammar's floor, not a predictor's score: no chance level
    assert test["optimal_cross_entropy"] < test["cross_entropy"] < test["cross_entropy_chance"]
    assert "optimal_cross_entropy_chance" not in test
    assert test["longrange_accuracy_chance"] == pytest.approx(0.5)
    with h5py.File(out / "traces.h5") as f:
        assert json.loads(f.attrs["phases"]) == ["train", "test"]
        assert f["test"].attrs["plastic"] == 0 and f["train"].attrs["kind"] == "sequence"
        K, T = f["test/input"].shape
        assert K == 2 and f["test/surprisal"].shape == (K, T) and f["test/activity"].shape == (K, T, 6)
        assert f["train/pred"].shape[1] == 50 and f["train/strings/cross_entropy"].shape == (2, 60)
        surprisal = f["test/surprisal"][...]
        assert np.nanmean(surprisal) == pytest.approx(test["cross_entropy"], rel=1e-3)


def test_same_seed_gives_identical_metrics(tmp_path):
    cfg = _write(tmp_path)
    a = experiments.run(cfg, out=tmp_path / "a", plots=False)
    experiments.run(cfg, out=tmp_path / "b", plots=False)
    assert (tmp_path / "a" / "metrics.json").read_text() == (tmp_path / "b" / "metrics.json").read_text()
    c = experiments.run(cfg, ["seed=9"], out=tmp_path / "c", plots=False)
    assert c.metrics["test"]["cross_entropy"] != a.metrics["test"]["cross_entropy"]


def test_replicas_equal_separate_runs_with_the_same_seeds(tmp_path):
    cfg = _write(tmp_path, replicas=3)
    batched = experiments.run(cfg, out=tmp_path / "batched", plots=False).metrics
    for k in range(3):
        single = experiments.run(cfg, [f"seed={5 + k}", "replicas=1"], out=tmp_path / f"single{k}", plots=False).metrics
        for phase in ("train", "test"):
            for name, values in single[phase]["per_replica"].items():
                assert batched[phase]["per_replica"][name][k] == pytest.approx(values[0], rel=1e-6, abs=1e-9), (phase, name, k)


def test_divergence_stops_the_run_with_the_step_in_error_txt(tmp_path, capsys):
    cfg = _write(tmp_path)
    out = tmp_path / "run"
    code = main(["run", str(cfg), "--out", str(out), "--quiet", "--no-plots",
                 "--set", "cortex.spectral_radius=100", "--set", "cortex.activation=linear"])
    assert code == 1
    err = capsys.readouterr().err
    assert "run failed" in err and "error.txt" in err
    text = (out / "error.txt").read_text()
    assert "NumericalError" in text and "at step" in text
    assert json.loads((out / "meta.json").read_text())["status"] == "failed"
    assert not (out / "metrics.json").exists()


def test_python_api_overrides_and_result(tmp_path):
    cfg = _write(tmp_path, replicas=1)
    result = experiments.run(cfg, ["cortex.n_units=24", "phases.train.strings=10"], out=tmp_path / "r", plots=False)
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["cortex"]["n_units"] == 24
    assert result.metrics["train"]["per_replica"]["kl_to_optimal"][0] is not None


def test_quiet_run_prints_the_run_directory_and_nothing_else(tmp_path, capsys):
    cfg = _write(tmp_path)
    out = tmp_path / "run"
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert capsys.readouterr().out == f"{out}\n"


def test_python_api_writes_the_same_run_directory_as_the_cli(tmp_path, capsys):
    cfg = _write(tmp_path, replicas=1)
    api = experiments.run(cfg, out=tmp_path / "api").run_dir
    assert main(["run", str(cfg), "--out", str(tmp_path / "cli"), "--quiet"]) == 0

    def files(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    assert files(api) == files(tmp_path / "cli")
    assert "report.md" in files(api) and any(name.startswith("plots/") for name in files(api))


@pytest.mark.parametrize("kind", sorted(WORLDS))
def test_every_world_kind_has_the_protocol_of_its_family(kind):
    """The runner builds ``PROTOCOLS[family]``: a world kind whose family has none could never run."""
    family = WORLDS[kind].family
    assert PROTOCOLS[family].family == family
