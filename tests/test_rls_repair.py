"""The RLS readout survives float32 round-off that takes P's positive definiteness away (seen at 16
units after ~30,000 steps: non-finite weights), and a healthy P is never touched."""
import json
from pathlib import Path

import numpy as np
import pytest

import experiments
from cortex.base import NumericalWarning
from cortex.readout import ReadoutParams, RLSReadout

ROOT = Path(__file__).resolve().parent.parent


MAP = np.random.default_rng(7).normal(size=(20, 4)) * 0.5   # the linear map every row follows


def _rows(rng, K, B, F, n_out):
    x = rng.normal(size=(K, B, F))
    return x, x @ MAP[:F, :n_out] + 0.1 * rng.normal(size=(K, B, n_out)), np.ones((K, B), bool)


def test_an_indefinite_p_is_repaired_and_learning_goes_on():
    rng = np.random.default_rng(0)
    K, F, n_out = 2, 12, 3
    r = RLSReadout(K, F, n_out, ReadoutParams(rls_reg=1.0), dtype=np.float32)
    x, y, on = _rows(rng, K, 64, F, n_out)
    r.learn(x, y, on)
    v = rng.normal(size=F)
    v /= np.linalg.norm(v)
    r.P[1] -= (5.0 * np.outer(v, v)).astype(np.float32)   # replica 1's P now has an eigenvalue near -5
    x, y, on = _rows(rng, K, 64, F, n_out)
    x[1] += 3 * v                                          # and its rows excite that direction
    with pytest.warns(NumericalWarning, match="replica 1 had lost positive definiteness"):
        out = r.learn(x, y, on)
    assert r.repairs == 1   # replica 0's healthy P was left alone and np.isfinite(out).all() and np.isfinite(r.weights).all()
    P = np.tril(r.P[1]).astype(float)
    assert np.linalg.eigvalsh(P + np.tril(P, -1).T).min() >= 0
    x, y, on = _rows(rng, K, 256, F, n_out)                # and it goes on learning the map
    r.learn(x, y, on)
    x, y, _ = _rows(rng, K, 256, F, n_out)
    assert np.mean((r.predict(x)[1] - y[1]) ** 2) < 0.05   # noise variance 0.01; the map's output ~3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_healthy_p_is_never_repaired(dtype):
    rng = np.random.default_rng(1)
    r = RLSReadout(3, 20, 4, ReadoutParams(), dtype=dtype)
    for _ in range(20):
        r.learn(*_rows(rng, 3, 64, 20, 4))
    assert r.repairs == 0


def test_a_runs_numerical_warnings_are_listed_in_its_meta_json(tmp_path, monkeypatch):
    learn = RLSReadout.learn

    def learn_and_warn(self, *args):
        import warnings
        warnings.warn("RLS readout: P of replica 0 had lost positive definiteness (test)", NumericalWarning)
        return learn(self, *args)

    monkeypatch.setattr(RLSReadout, "learn", learn_and_warn)
    run = experiments.run(ROOT / "configs/language/reber.yaml", ["cortex.n_units=16", "replicas=1", "phases.train.strings=20",
                                                                  "phases.test.strings=5"], out=tmp_path / "run", plots=False)
    meta = json.loads((run.run_dir / "meta.json").read_text())
    assert meta["status"] == "done"
    assert len(meta["warnings"]) == 1 and meta["warnings"][0].startswith("RLS readout: P of replica 0 had lost")
    assert meta["warnings"][0].endswith(")") and "(x" in meta["warnings"][0]   # counted, not repeated
