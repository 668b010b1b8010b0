"""Sequence metrics: the scores a user reads off for an optimal, a uniform and a wrong predictor."""
import numpy as np
import pytest

from experiments.metrics.sequence import SequenceScorer
from experiments.worlds.grammar_base import GrammarString
from experiments.worlds.grammars import GRAMMARS

CASES = {
    "reber": ("reber", {}),
    "embedded_reber": ("embedded_reber", {}),
    "anbn": ("anbn", {"min_n": 1, "max_n": 8}),
    "dyck": ("dyck", {"n_types": 2, "max_depth": 6}),
    "agreement": ("agreement", {"n_nouns": 3, "n_verbs": 2, "max_depth": 3}),
}
K = 2


def make(case):
    kind, params = CASES[case]
    return GRAMMARS[kind](GRAMMARS[kind].Params(**params))


def streams(grammar, n_symbols=3000, seed=0):
    """K streams cut to a common length, with the true next symbol of every position."""
    rng = np.random.default_rng(seed)
    full = [grammar.sample_stream(rng, n_symbols + 50) for _ in range(K)]
    nxt = np.stack([s.next_symbols()[:n_symbols] for s in full])
    return [s[:n_symbols] for s in full], nxt


def score(grammar, predict, chunk_len=500, threshold=None, **kw):
    """Feed ``predict(chunk) -> probs`` chunk by chunk; returns the scorer."""
    parts, nxt = streams(grammar, **kw)
    scorer = SequenceScorer(K, grammar.n_symbols, grammar.groups, length_threshold=threshold)
    for a in range(0, len(parts[0]), chunk_len):
        chunk = [p[a:a + chunk_len] for p in parts]
        scorer.update(predict(chunk), chunk, nxt[:, a:a + chunk_len])
    return scorer


def oracle(chunk):
    return np.stack([c.next_dist for c in chunk])


def uniform(chunk):
    return np.full((len(chunk), len(chunk[0]), chunk[0].next_dist.shape[1]), 1.0 / chunk[0].next_dist.shape[1])


@pytest.mark.parametrize("case", list(CASES))
def test_oracle_predictor_is_optimal(case):
    grammar = make(case)
    threshold = np.full(K, 9) if grammar.length_generalization else None
    res = score(grammar, oracle, threshold=threshold).result()
    assert np.allclose(res["kl_to_optimal"], 0, atol=1e-12)
    assert np.allclose(res["legal_mass"], 1)
    assert np.allclose(res["cross_entropy"], res["optimal_cross_entropy"])
    assert np.all(res["surprisal_gap"] > 20)  # the alternative has zero probability: clipped at 1e-12
    if grammar.groups:
        assert np.all(res["longrange_accuracy"] == 1)
    else:
        assert "longrange_accuracy" not in res
    if threshold is not None:
        assert np.all(res["length_generalization"] == 1)
    else:
        assert "length_generalization" not in res


@pytest.mark.parametrize("case", list(CASES))
def test_uniform_predictor_scores_exactly_chance(case):
    grammar = make(case)
    threshold = np.full(K, 9) if grammar.length_generalization else None
    scorer = score(grammar, uniform, threshold=threshold)
    res, chance = scorer.result(), scorer.chance()
    assert res.keys() == chance.keys()
    for key in res:
        np.testing.assert_allclose(res[key], chance[key], rtol=1e-12, err_msg=key)
    n = grammar.n_symbols
    assert np.allclose(chance["accuracy"], 1 / n) and np.allclose(chance["cross_entropy"], np.log(n))
    assert np.allclose(chance["surprisal_gap"], 0)
    if grammar.groups:  # all groups here are the same size: a uniform guess is right 1 in #groups
        assert np.allclose(chance["longrange_accuracy"], 1 / len(grammar.groups))
    if threshold is not None:  # every test position is a tie, and ties count as wrong
        assert np.all(chance["length_generalization"] == 0)


@pytest.mark.parametrize("case", ["embedded_reber", "anbn", "dyck", "agreement"])
def test_predictor_choosing_the_wrong_group_scores_zero(case):
    grammar = make(case)
    member = np.zeros((len(grammar.groups), grammar.n_symbols), bool)
    for g, symbols in enumerate(grammar.groups):
        member[g, list(symbols)] = True

    def wrong(chunk):
        probs = oracle(chunk).copy()
        for k, c in enumerate(chunk):
            for t in np.flatnonzero(c.group >= 0):
                other = member[(c.group[t] + 1) % len(grammar.groups)]
                probs[k, t] = 0.05 / grammar.n_symbols
                probs[k, t, other] += 0.95 / other.sum()
        return probs

    threshold = np.full(K, 0) if grammar.length_generalization else None
    res = score(grammar, wrong, threshold=threshold).result()
    assert np.all(res["longrange_accuracy"] == 0)
    if threshold is not None:
        assert np.all(res["length_generalization"] == 0)


def test_chunking_and_padding_do_not_change_scores():
    """One chunk, ragged chunks with padding, or chunks ending mid-string: the same numbers."""
    grammar = make("anbn")
    parts, nxt = streams(grammar, n_symbols=1200, seed=3)
    rng = np.random.default_rng(9)
    probs = rng.dirichlet(np.ones(grammar.n_symbols), size=(K, 1200))
    threshold = np.array([9, 13])

    whole = SequenceScorer(K, grammar.n_symbols, grammar.groups, threshold)
    whole.update(probs, parts, nxt)

    pieces = SequenceScorer(K, grammar.n_symbols, grammar.groups, threshold)
    cuts = [0, 7, 8, 300, 301, 777, 1200]
    for a, b in zip(cuts[:-1], cuts[1:]):
        pad = 5  # padded positions carry garbage and must be ignored
        chunk = [GrammarString.concat([p[a:b], p[0:pad]], renumber=False) for p in parts]
        pr = np.concatenate([probs[:, a:b], np.full((K, pad, grammar.n_symbols), np.nan)], axis=1)
        nx = np.concatenate([nxt[:, a:b], np.zeros((K, pad), int)], axis=1)
        active = np.concatenate([np.ones((K, b - a), bool), np.zeros((K, pad), bool)], axis=1)
        pieces.update(pr, chunk, nx, active)

    for key, value in whole.result().items():
        np.testing.assert_allclose(pieces.result()[key], value, rtol=1e-9, err_msg=key)
    one, many = whole.pop_strings(), pieces.pop_strings()
    in_order = [np.lexsort((r["string_id"], r["replica"])) for r in (one, many)]
    for key in one:
        np.testing.assert_allclose(many[key][in_order[1]], one[key][in_order[0]], rtol=1e-9, err_msg=key)
    assert len(whole.pop_strings()["replica"]) == 0  # popped records are forgotten


def test_per_string_records_cover_each_complete_string_once():
    grammar = make("agreement")
    parts, nxt = streams(grammar, n_symbols=800)
    scorer = SequenceScorer(K, grammar.n_symbols, grammar.groups)
    for a in range(0, 800, 64):
        chunk = [p[a:a + 64] for p in parts]
        scorer.update(oracle(chunk), chunk, nxt[:, a:a + 64])
    rec = scorer.pop_strings()
    for k in range(K):
        mine = rec["replica"] == k
        lengths = np.bincount(parts[k].string_id)[:-1]  # the last string is cut by the window
        assert np.array_equal(rec["string_id"][mine], np.arange(len(lengths)))
        assert np.array_equal(rec["string_len"][mine], lengths)
    assert np.allclose(rec["kl"], 0) and np.all(rec["all_correct"])


def test_hand_computed_values():
    """Two symbols, one string 'x y' (y ends it); exact next rows (0.5, 0.5) then first_dist (1, 0)."""
    s = GrammarString(
        symbols=np.array([0, 1]), next_dist=np.array([[0.5, 0.5], [1.0, 0.0]]), state=np.zeros(2, int),
        depth=np.zeros(2, int), group=np.array([1, -1]), deterministic=np.array([False, True]),
        alt=np.array([-1, 1]), string_id=np.zeros(2, int), string_len=np.full(2, 2))
    probs = np.array([[[0.8, 0.2], [0.6, 0.4]]])
    scorer = SequenceScorer(1, 2, groups=((0,), (1,)), length_threshold=np.array([1]))
    scorer.update(probs, [s], next_symbols=np.array([[1, 0]]))
    res = scorer.result()
    kl = (0.5 * np.log(0.5 / 0.8) + 0.5 * np.log(0.5 / 0.2) + np.log(1 / 0.6)) / 2
    assert res["kl_to_optimal"][0] == pytest.approx(kl)
    assert res["legal_mass"][0] == pytest.approx((1.0 + 0.6) / 2)
    assert res["cross_entropy"][0] == pytest.approx((-np.log(0.2) - np.log(0.6)) / 2)
    assert res["optimal_cross_entropy"][0] == pytest.approx(np.log(2) / 2)
    assert res["accuracy"][0] == pytest.approx(0.5)
    assert res["longrange_accuracy"][0] == 0
    assert res["surprisal_gap"][0] == pytest.approx(-np.log(0.4) + np.log(0.6))
    assert res["length_generalization"][0] == 0


def test_metrics_without_positions_are_nan_and_unknown_next_skips_only_what_needs_it():
    grammar = make("reber")
    scorer = SequenceScorer(K, grammar.n_symbols, grammar.groups, length_threshold=np.full(K, 1000))
    assert all(np.all(np.isnan(v)) for v in scorer.result().values())
    parts, nxt = streams(grammar, n_symbols=200)
    scorer.update(oracle(parts), parts, np.full_like(nxt, -1))
    res = scorer.result()
    assert np.allclose(res["kl_to_optimal"], 0)
    assert np.all(np.isnan(res["cross_entropy"])) and np.all(np.isnan(res["surprisal_gap"]))
    assert np.all(np.isnan(res["length_generalization"]))  # no string longer than 1000 symbols


BAD_INPUT = {
    "rows_do_not_sum_to_one": (lambda p: p * 0.5, "sums to"),
    "nan_prediction": (lambda p: np.where(np.arange(p.shape[1])[None, :, None] == 3, np.nan, p), "non-finite"),
    "wrong_alphabet_size": (lambda p: p[..., :-1], "shapes disagree"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_predictions_fail_fast(case):
    change, message = BAD_INPUT[case]
    grammar = make("reber")
    parts, nxt = streams(grammar, n_symbols=50)
    scorer = SequenceScorer(K, grammar.n_symbols, grammar.groups)
    with pytest.raises(ValueError, match=message):
        scorer.update(change(oracle(parts)), parts, nxt)


def test_consecutive_strings_sharing_an_id_are_refused():
    grammar = make("reber")
    rng = np.random.default_rng(0)
    glued = GrammarString.concat([grammar.sample(rng), grammar.sample(rng)], renumber=False)
    scorer = SequenceScorer(1, grammar.n_symbols, grammar.groups)
    with pytest.raises(ValueError, match="distinct ids"):
        scorer.update(glued.next_dist[None], [glued], glued.next_symbols()[None])
