"""The exact entropy rate a grammar reports: the limit of its sampled optimal cross-entropy, analytic
where it can be worked by hand, and written to metrics.json beside the sampled value."""
from pathlib import Path

import json

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

import experiments
from experiments.worlds.grammars import GRAMMARS

REPO = Path(__file__).resolve().parent.parent
H = lambda *p: -sum(x * np.log(x) for x in p)  # noqa: E731 - entropy in nats of one distribution

# the shipped configs' worlds, their variants, and small or cyclic cases beside them
CASES = {
    "reber": ("reber", {}),
    "reber_skewed": ("reber", {"p_first": 0.8}),
    "embedded_reber": ("embedded_reber", {}),
    "agreement_shipped": ("agreement", {"n_nouns": 4, "n_verbs": 4, "max_depth": 2, "p_embed": 0.5}),
    "agreement_deep": ("agreement", {"n_nouns": 4, "n_verbs": 4, "max_depth": 3, "p_embed": 0.7}),
    "agreement_flat": ("agreement", {"max_depth": 0, "p_plural": 0.2}),
    "anbn": ("anbn", {"min_n": 2, "max_n": 7}),
    "dyck": ("dyck", {}),
    "dyck_one_type": ("dyck", {"n_types": 1, "max_depth": 2, "p_open": 0.3, "p_end": 0.4}),
    "phrases_shipped": ("phrases", {}),
    "phrases_disharmonic_deep": ("phrases", {"verb_phrase": "head_last", "noun_phrase": "head_last", "adposition_phrase": "head_first",
                                             "p_pp": 0.7, "max_depth": 3, "n_adpositions": 3}),
    "fsm": ("fsm", {"start": "s0", "transitions": {
        "s0": [{"symbol": "a", "to": "s1"}], "s1": [{"symbol": "b", "to": "s2"}],
        "s2": [{"symbol": "a", "to": "s1"}, {"symbol": "c", "to": "s3", "weight": 1.5}, {"symbol": "e", "to": "s4", "weight": 0.5}],
        "s3": [{"symbol": "d", "to": "end"}], "s4": [{"symbol": "f", "to": "end"}]}}),
    "fsm_cyclic": ("fsm", {"start": "A", "transitions": {
        "A": [{"symbol": "x", "to": "A", "weight": 3}, {"symbol": "y", "to": "B"}],
        "B": [{"symbol": "x", "to": "A"}, {"symbol": "y", "to": "B"}]}}),
}
CYCLIC_RATE = 2 / 3 * H(0.75, 0.25) + 1 / 3 * np.log(2)  # symbol chain x/y: P(x|x) = 3/4, P(x|y) = 1/2


def make(kind, params):
    cls = GRAMMARS[kind]
    return cls(cls.Params(**params))


@pytest.mark.parametrize("case", list(CASES))
def test_entropy_rate_is_the_limit_of_the_sampled_optimal_cross_entropy(case):
    """Over >= 200,000 positions the mean -log p_exact(next symbol) is within 5 standard errors of
    entropy_rate. Strings are independent, so the error is that of a ratio of per-string sums."""
    grammar = make(*CASES[case])
    rate = grammar.entropy_rate()
    stream = grammar.sample_stream(np.random.default_rng(3), 200_000)
    following = stream.next_symbols()
    last = stream.string_id == stream.string_id[-1]  # its successor is not drawn yet
    surprisal = -np.log(stream.next_dist[~last, following[~last]])
    ids = stream.string_id[~last]
    per_string, length = np.bincount(ids, surprisal), np.bincount(ids)
    mean = per_string.sum() / length.sum()
    stderr = np.std(per_string - mean * length) / np.sqrt(len(length)) / length.mean()
    assert abs(rate - mean) <= 5 * stderr + 1e-12, f"entropy_rate {rate:.5f}, sampled {mean:.5f} +- {stderr:.5f}"


def test_entropy_rate_of_hand_computable_automata():
    # strings "b" or "ac" with equal chance: 1.5 symbols, one coin per string (the position after
    # the last symbol, predicting the next string's first), so ln 2 / 1.5 per symbol
    two_strings = make("fsm", {"start": "s", "transitions": {
        "s": [{"symbol": "a", "to": "t"}, {"symbol": "b", "to": "end"}], "t": [{"symbol": "c", "to": "end"}]}})
    assert two_strings.entropy_rate() == pytest.approx(np.log(2) / 1.5, abs=1e-9)
    assert make(*CASES["fsm_cyclic"]).entropy_rate() == pytest.approx(CYCLIC_RATE, abs=1e-9)
    # fair-fork Reber: a coin after every symbol but the last two (E is then certain, and so is the
    # next string's B)
    reber = make("reber", {})
    assert reber.entropy_rate() == pytest.approx(np.log(2) * (reber.mean_length - 2) / reber.mean_length, abs=1e-9)
    # agreement without embedding: noun (one of 2 x 4), verb (one of 4 of the noun's number), E
    flat = make(*CASES["agreement_flat"])
    assert flat.entropy_rate() == pytest.approx((H(0.2, 0.8) + np.log(4) + np.log(4)) / 3, abs=1e-9)


def test_purely_cyclic_fsm_closes_a_string_at_each_return_to_the_start():
    cyclic = make(*CASES["fsm_cyclic"])
    # the same automaton with its returns to the start written as 'end': the very same stream
    explicit = make("fsm", {"start": "A", "transitions": {
        "A": [{"symbol": "x", "to": "end", "weight": 3}, {"symbol": "y", "to": "B"}],
        "B": [{"symbol": "x", "to": "end"}, {"symbol": "y", "to": "B"}]}})
    a, b = (g.sample_many(np.random.default_rng(0), 500) for g in (cyclic, explicit))
    for name in ("symbols", "next_dist", "state", "string_id", "string_len"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    last = np.r_[np.diff(a.string_id) != 0, True]
    assert cyclic.symbols == ("x", "y") and (a.symbols[last] == 0).all() and (a.symbols[~last] == 1).all()
    assert cyclic.mean_length == pytest.approx(1.5)  # x (3/4), or y's then x: 1 + (1/4) * 2


def test_cyclic_fsm_that_cannot_return_to_the_start_names_the_states():
    with pytest.raises(ValidationError, match="state\\(s\\) B can never reach 'end' \\(no transition goes there\\) nor return to the start state 'A'"):
        GRAMMARS["fsm"].Params(start="A", transitions={"A": [{"symbol": "x", "to": "A"}, {"symbol": "y", "to": "B"}],
                                                      "B": [{"symbol": "y", "to": "B"}]})


def test_start_listed_as_long_range_state_is_tested_after_each_string_end():
    grammar = make("fsm", {"start": "A", "transitions": {"A": [{"symbol": "x", "to": "A"}, {"symbol": "y", "to": "A"}]},
                           "long_range": {"groups": [["x"], ["y"]], "states": ["A"]}})
    stream = grammar.sample_many(np.random.default_rng(1), 50)
    assert (stream.group[:-1] == stream.symbols[1:]).all()  # every position predicts x vs y


def _run(tmp_path, config: Path, overrides: list[str]) -> dict:
    run = experiments.run(config, ["cortex.n_units=16", "replicas=2", "phases.train.strings=20", *overrides],
                          out=tmp_path / config.stem)
    return json.loads((run.run_dir / "metrics.json").read_text())


def test_metrics_json_has_the_exact_rate_beside_the_sampled_one(tmp_path):
    metrics = _run(tmp_path, REPO / "configs" / "language" / "agreement.yaml", ["phases.test.strings=400"])
    for phase, variant in (("test", "agreement_shipped"), ("test_long", "agreement_deep")):
        block = metrics[phase]
        exact = make(*CASES[variant]).entropy_rate()
        assert block["entropy_rate"] == pytest.approx(exact, abs=1e-12)
        assert block["per_replica"]["entropy_rate"] == pytest.approx([exact, exact], abs=1e-12)
        assert block["optimal_cross_entropy"] == pytest.approx(exact, abs=0.1)  # sampled on the phase's stream
        assert "entropy_rate_chance" not in block


def test_cyclic_fsm_config_runs_and_reports_its_rate(tmp_path):
    config = tmp_path / "cyclic.yaml"
    config.write_text(yaml.safe_dump({
        "name": "cyclic", "seed": 0, "replicas": 1, "world": {"kind": "fsm", **CASES["fsm_cyclic"][1]},
        "cortex": {"backend": "rate", "model": "reservoir", "n_units": 16},
        "phases": [{"name": "train", "strings": 20, "plastic": True}, {"name": "test", "strings": 20, "plastic": False}],
    }))
    metrics = _run(tmp_path, config, [])
    assert metrics["test"]["entropy_rate"] == pytest.approx(CYCLIC_RATE, abs=1e-12)


def test_readme_defines_entropy_rate():
    readme = (REPO / "README.md").read_text()
    assert "| `entropy_rate` |" in readme
