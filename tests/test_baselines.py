"""The baselines (``backend: baseline``): plugged in where a cortex plugs in and scored by the same
code, and the strict criterion of the 1997 LSTM paper that the shared scorer computes for all."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import experiments
from cortex import make_cortex, model_registry
from experiments.metrics.sequence import SequenceScorer
from experiments.worlds.grammars import GRAMMARS

NGRAM = "cortex={backend: baseline, model: ngram, order: %d}"


def run(config: str, cortex: str, *overrides: str, tmp_path):
    """Metrics of a shipped language config with its cortex block replaced by ``cortex``."""
    return experiments.run(f"configs/language/{config}.yaml", [cortex, "recording.sample_units=0", *overrides],
                           out=tmp_path / "run", plots=False).metrics


def test_validating_a_baseline_config_does_not_import_torch():
    code = ("import sys, experiments.config as c; c.load('configs/language/reber.yaml', "
            "['cortex={backend: baseline, model: lstm}', 'recording.sample_units=0']); "
            "import cortex.baselines.ngram; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_order_2_ngram_converges_to_the_exact_bigram_distribution(tmp_path):
    metrics = run("bigram", NGRAM % 2, "replicas=2", tmp_path=tmp_path)
    assert metrics["test"]["kl_to_optimal"] < 0.01
    assert metrics["test"]["strict_correct"] == 1.0


def test_order_1_ngram_is_at_chance_on_the_embedded_reber_long_range_test(tmp_path):
    metrics = run("embedded_reber", NGRAM % 1, "replicas=2", tmp_path=tmp_path)["test"]
    assert abs(metrics["longrange_accuracy"] - 0.5) < 0.06
    assert metrics["longrange_accuracy_chance"] == 0.5


def test_higher_orders_capture_the_reber_grammar_but_not_the_embedded_dependency(tmp_path):
    reber = run("reber", NGRAM % 4, "replicas=1", tmp_path=tmp_path / "r")["test"]
    embedded = run("embedded_reber", NGRAM % 4, "replicas=1", tmp_path=tmp_path / "e")["test"]
    assert reber["kl_to_optimal"] < 0.02  # Reber's state is fixed by the last 3 symbols
    assert abs(embedded["longrange_accuracy"] - 0.5) < 0.1


def ngram(order=2, smoothing="witten_bell", K=2, n=3):
    params_cls, _ = model_registry()[("baseline", "ngram")]
    cortex = make_cortex(params_cls(order=order, smoothing=smoothing), n_inputs=n, n_replicas=K, sample_units=0)
    cortex.reset(list(range(K)))
    return cortex


@pytest.mark.parametrize("smoothing", ["witten_bell", "add_k"])
def test_ngram_learns_only_while_plastic_and_padding_changes_nothing(smoothing):
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 3, (2, 300))
    model = ngram(smoothing=smoothing)
    model.run_sequence(stream)
    model.set_plasticity(False)
    probe = rng.integers(0, 3, (2, 50))
    first = model.run_sequence(probe).probs
    again = model.run_sequence(probe).probs
    np.testing.assert_allclose(first, again)  # frozen: same context, same prediction
    np.testing.assert_allclose(first.sum(-1), 1.0)
    # padding inserted between two calls changes nothing for the padded replica
    a, b = ngram(smoothing=smoothing), ngram(smoothing=smoothing)
    a.run_sequence(stream[:, :100]), b.run_sequence(stream[:, :100])
    active = np.ones((2, 10), bool)
    active[0] = False
    b.run_sequence(rng.integers(0, 3, (2, 10)), active)
    np.testing.assert_allclose(a.run_sequence(stream[:, 100:]).probs[0], b.run_sequence(stream[:, 100:]).probs[0])


def test_ngram_state_round_trips_and_run_is_not_supported():
    model = ngram(order=3)
    model.run_sequence(np.random.default_rng(1).integers(0, 3, (2, 200)))
    copy = ngram(order=3)
    copy.load_state(model.state())
    probe = np.random.default_rng(2).integers(0, 3, (2, 40))
    np.testing.assert_allclose(model.run_sequence(probe).probs, copy.run_sequence(probe).probs)
    with pytest.raises(NotImplementedError, match="no closed loop"):
        model.run(1, None, None)


def test_strict_correct_needs_every_legal_symbol_above_every_illegal_one_in_the_whole_string():
    grammar = GRAMMARS["embedded_reber"](GRAMMARS["embedded_reber"].Params())
    stream = grammar.sample_many(np.random.default_rng(0), 20)
    q = stream.next_dist[None]
    nxt = stream.next_symbols()[None]

    def score(probs):
        scorer = SequenceScorer(1, grammar.n_symbols, grammar.groups)
        scorer.update(probs, [stream], nxt)
        return scorer.result()["strict_correct"][0], scorer.chance()["strict_correct"][0]

    exact, chance = score(q)
    # every string completes except the last (its successor is the next string's start: unseen)
    assert exact == 1.0 and chance == 0.0
    # one position of the first string: an illegal symbol ties with a legal one -> that string fails
    spoiled = q.copy()
    legal = np.flatnonzero(q[0, 0] > 0)
    spoiled[0, 0] = 0.0
    spoiled[0, 0, legal] = 0.5 / len(legal)
    spoiled[0, 0, [s for s in range(grammar.n_symbols) if s not in legal][0]] = 0.5 / len(legal)
    spoiled[0, 0] /= spoiled[0, 0].sum()
    assert score(spoiled)[0] == pytest.approx(1 - 1 / 20)
    # a smoothed prediction keeping the order of legal over illegal still passes
    assert score(0.9 * q + 0.1 / grammar.n_symbols)[0] == 1.0


LSTM = "cortex={backend: baseline, model: lstm, regime: %s}"


def test_lstm_trained_to_convergence_meets_the_strict_criterion_where_one_pass_does_not(tmp_path):
    pytest.importorskip("torch")
    converged = run("embedded_reber", LSTM % "converge", "replicas=1", tmp_path=tmp_path / "c")["test"]
    one_pass = run("embedded_reber", LSTM % "one_pass", "replicas=1", tmp_path=tmp_path / "o")["test"]
    assert converged["strict_correct"] > 0.95 and converged["longrange_accuracy"] > 0.95
    assert one_pass["kl_to_optimal"] < 0.25 * one_pass["kl_to_optimal_chance"]  # it learns the inner grammar
    assert one_pass["strict_correct"] < 0.8


def test_lstm_continues_exactly_from_its_saved_state(tmp_path):
    pytest.importorskip("torch")
    from experiments.cli import main

    args = [LSTM % "converge", "recording.sample_units=4", "replicas=2", "phases.train.strings=60", "phases.test.strings=20"]
    whole = experiments.run("configs/language/reber.yaml", args, out=tmp_path / "whole", plots=False).metrics
    assert main(["run", str(tmp_path / "whole" / "config.yaml"), "--from", f"{tmp_path / 'whole'}:train", "--out", str(tmp_path / "again"), "--quiet",
                 "--no-plots"]) == 0
    import json

    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["test"]["cross_entropy"] == pytest.approx(whole["test"]["cross_entropy"], rel=1e-6)


def test_lstm_padding_changes_nothing_and_run_is_not_supported():
    pytest.importorskip("torch")
    params_cls, _ = model_registry()[("baseline", "lstm")]

    def make():
        cortex = make_cortex(params_cls(n_units=8, truncation=5), n_inputs=3, n_replicas=2, sample_units=2)
        cortex.reset([0, 1])
        return cortex

    rng = np.random.default_rng(0)
    stream = rng.integers(0, 3, (2, 60))
    a, b = make(), make()
    a.run_sequence(stream[:, :23]), b.run_sequence(stream[:, :23])
    active = np.ones((2, 7), bool)
    active[0] = False
    b.run_sequence(rng.integers(0, 3, (2, 7)), active)
    out_a, out_b = a.run_sequence(stream[:, 23:]), b.run_sequence(stream[:, 23:])
    np.testing.assert_allclose(out_a.probs[0], out_b.probs[0], rtol=1e-6)
    assert out_a.activity.shape == (2, 37, 2)
    with pytest.raises(NotImplementedError, match="no closed loop"):
        a.run(1, None, None)


def test_lstm_resumes_learning_from_where_a_frozen_stretch_left_it():
    """After a frozen stretch, learning starts from the running state: the first segment (predicted
    before any weight step) matches a model that stayed frozen over both stretches."""
    pytest.importorskip("torch")
    params_cls, _ = model_registry()[("baseline", "lstm")]

    def make():
        cortex = make_cortex(params_cls(n_units=8, truncation=4), n_inputs=3, n_replicas=1, sample_units=0)
        cortex.reset([3])
        cortex.set_plasticity(False)
        return cortex

    rng = np.random.default_rng(1)
    frozen, plastic = rng.integers(0, 3, (1, 30)), rng.integers(0, 3, (1, 30))
    paused = make()
    paused.run_sequence(frozen)
    paused.set_plasticity(True)
    learning = paused.run_sequence(plastic).probs
    still = make().run_sequence(np.concatenate([frozen, plastic], 1)).probs
    np.testing.assert_allclose(learning[:, :4], still[:, 30:34], rtol=1e-5)
    assert not np.allclose(learning[:, 8:], still[:, 38:], rtol=1e-5)  # and then it learns
