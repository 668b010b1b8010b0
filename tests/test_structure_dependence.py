"""Structure dependence (McCoy, Frank & Linzen 2020): the agreement grammar with a hierarchical or a
linear rule and tied noun numbers, its exact annotations and entropy rates, the minimal-pair
accuracy that reads off which rule a learner adopted, and the configs that ask the question."""
from collections import Counter, defaultdict
from pathlib import Path
import json

import numpy as np
import pytest

import experiments
from experiments.metrics.sequence import SequenceScorer
from experiments.worlds.grammar_base import GrammarString
from experiments.worlds.grammars import GRAMMARS

REPO = Path(__file__).resolve().parent.parent
SHIPPED = {"n_nouns": 4, "n_verbs": 4, "max_depth": 2, "p_embed": 0.5}
DISAMBIGUATING = {"n_nouns": 4, "n_verbs": 4, "embedded_number": "opposite", "max_depth": 1, "p_embed": 1.0}
RULES = ("subject", "nearest_noun")
NUMBERS = ("independent", "same", "opposite")


def make(**params):
    return GRAMMARS["agreement"](GRAMMARS["agreement"].Params(**params))


def sentences(grammar, stream):
    """Each string of ``stream`` as (its positions, its words)."""
    for idx in np.split(np.arange(len(stream)), np.flatnonzero(np.diff(stream.string_id)) + 1):
        yield idx, [grammar.symbols[s] for s in stream.symbols[idx]]


def number(word: str) -> str:
    return word[-2:]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("numbers", NUMBERS)
def test_entropy_rate_is_the_limit_of_the_sampled_optimal_cross_entropy(rule, numbers):
    """Over >= 200,000 positions the mean -log p_exact(next symbol) lies within 5 standard errors
    of entropy_rate, for every rule and number mode (skewed p_plural, so the modes differ)."""
    grammar = make(**SHIPPED, p_plural=0.3, verb_agrees_with=rule, embedded_number=numbers)
    rate = grammar.entropy_rate()
    stream = grammar.sample_stream(np.random.default_rng(4), 200_000)
    following = stream.next_symbols()
    keep = stream.string_id != stream.string_id[-1]  # the last string's successor is not drawn
    surprisal = -np.log(stream.next_dist[keep, following[keep]])
    ids = stream.string_id[keep]
    per_string, length = np.bincount(ids, surprisal), np.bincount(ids)
    mean = per_string.sum() / length.sum()
    stderr = np.std(per_string - mean * length) / np.sqrt(len(length)) / length.mean()
    assert abs(rate - mean) <= 5 * stderr + 1e-12, f"entropy_rate {rate:.5f}, sampled {mean:.5f} +- {stderr:.5f}"


def test_the_two_rules_are_a_matched_pair_and_tied_numbers_carry_no_entropy():
    rates = {(r, n): make(**SHIPPED, verb_agrees_with=r, embedded_number=n).entropy_rate() for r in RULES for n in NUMBERS}
    for n in NUMBERS:
        assert rates["subject", n] == pytest.approx(rates["nearest_noun", n], abs=1e-12)
    # an embedded noun: one of 8 with independent numbers, one of 4 when its number is fixed; one
    # embedded noun per sentence in expectation (p_embed 0.5, max_depth 2: 0.5 + 0.25 = 0.75)
    grammar = make(**SHIPPED)
    embedded_per_symbol = 0.75 / grammar.mean_length
    assert rates["subject", "independent"] - rates["subject", "same"] == pytest.approx(np.log(2) * embedded_per_symbol, abs=1e-12)
    assert rates["subject", "same"] == pytest.approx(rates["subject", "opposite"], abs=1e-12)
    # the disambiguating test language, N0 that N1 V1 V0 E: N0 one of 8, then N1 (its number
    # fixed), V1 and V0 (theirs fixed) one of 4 each; 'that' and E are certain
    test = make(**DISAMBIGUATING)
    assert test.entropy_rate() == pytest.approx((np.log(8) + 3 * np.log(4)) / 6, abs=1e-12)


def test_with_the_same_numbers_both_rules_give_the_very_same_stream():
    """Training data consistent with both rules: not just the same verbs, the same annotations."""
    one, two = (make(**SHIPPED, embedded_number="same", verb_agrees_with=r).sample_many(np.random.default_rng(2), 400)
                for r in RULES)
    for name in ("symbols", "next_dist", "state", "depth", "group", "deterministic", "alt"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("numbers", NUMBERS)
def test_next_dist_matches_sampled_conditional_frequencies(rule, numbers):
    """Prefixes seen >= 300 times: each next symbol's frequency within 5 binomial standard
    deviations of next_dist, and next_dist a function of the prefix alone (one noun and two verbs
    per number so that prefixes recur)."""
    grammar = make(n_nouns=1, n_verbs=2, max_depth=2, p_embed=0.5, p_plural=0.3, verb_agrees_with=rule, embedded_number=numbers)
    stream = grammar.sample_many(np.random.default_rng(7), 6000)
    following = stream.next_symbols()
    counts, rows = defaultdict(Counter), {}
    for idx, _ in list(sentences(grammar, stream))[:-1]:
        string = tuple(stream.symbols[idx])
        for j, i in enumerate(idx):
            prefix = string[: j + 1]
            counts[prefix][following[i]] += 1
            if prefix in rows:
                assert np.array_equal(rows[prefix], stream.next_dist[i]), prefix
            rows[prefix] = stream.next_dist[i]
    tested = 0
    for prefix, counter in counts.items():
        n = sum(counter.values())
        if n >= 300:
            tested += 1
            freq = np.bincount(list(counter.elements()), minlength=grammar.n_symbols) / n
            p = rows[prefix]
            assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12), prefix
    assert tested >= 8


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("numbers", NUMBERS)
def test_annotations_are_well_formed(rule, numbers):
    """Rows are distributions, the next symbol is possible and the alt impossible, the alt is the
    main verb with its number flipped, state is the number the rule gives a verb, and the verbs
    are the long-range groups."""
    grammar = make(**SHIPPED, p_plural=0.3, verb_agrees_with=rule, embedded_number=numbers)
    stream = grammar.sample_many(np.random.default_rng(3), 500)
    following = stream.next_symbols()
    assert np.allclose(stream.next_dist.sum(1), 1.0)
    assert np.all(stream.next_dist[np.arange(len(stream) - 1), following[:-1]] > 0)
    for idx, words in sentences(grammar, stream):
        j = int(np.flatnonzero(stream.alt[idx] >= 0)[0])
        main, swapped = words[j + 1], grammar.symbols[stream.alt[idx[j]]]
        assert j + 1 == len(words) - 2 and swapped[:-2] == main[:-2] and number(swapped) != number(main)
        assert stream.next_dist[idx[j], stream.alt[idx[j]]] == 0
        for i, w in zip(idx[:-1], words[1:]):
            if w.startswith("V"):  # state: the number of the verb that comes next
                assert stream.state[i] == 1 + (number(w) == "pl")
                assert stream.group[i] == (number(w) == "pl")


def test_linear_rule_verbs_all_agree_with_the_last_noun():
    grammar = make(**SHIPPED, verb_agrees_with="nearest_noun")
    stream = grammar.sample_many(np.random.default_rng(5), 500)
    crossed = 0
    for idx, words in sentences(grammar, stream):
        nouns = [w for w in words if w.startswith("N")]
        for k, w in enumerate(words):
            if w.startswith("V"):
                last_noun = [x for x in words[:k] if x.startswith("N")][-1]
                assert number(w) == number(last_noun) == number(nouns[-1])
        crossed += number(nouns[0]) != number(nouns[-1])
    assert crossed > 50  # sentences where the hierarchical rule would have given another main verb


def test_same_numbers_give_one_number_per_sentence_and_opposite_ones_alternate():
    for rule in RULES:
        stream = (grammar := make(**SHIPPED, verb_agrees_with=rule, embedded_number="same")).sample_many(
            np.random.default_rng(1), 500)
        both = set()
        for _, words in sentences(grammar, stream):
            numbers = {number(w) for w in words if w[0] in "NV"}
            assert len(numbers) == 1
            both |= numbers
        assert both == {"sg", "pl"}
    grammar = make(**SHIPPED, embedded_number="opposite")
    for _, words in sentences(grammar, grammar.sample_many(np.random.default_rng(1), 300)):
        nouns = [number(w) for w in words if w.startswith("N")]
        assert all(a != b for a, b in zip(nouns, nouns[1:]))


def test_in_the_disambiguating_variant_the_alt_is_the_linear_rules_verb():
    grammar = make(**DISAMBIGUATING)
    stream = grammar.sample_many(np.random.default_rng(9), 300)
    for idx, words in sentences(grammar, stream):
        assert len(words) == 6 and words[1] == "that" and number(words[0]) != number(words[2])
        j = int(np.flatnonzero(stream.alt[idx] >= 0)[0])
        assert j == 3 and words[4].startswith("V")
        assert number(words[4]) == number(words[0])  # the true main verb: the subject's number
        assert number(grammar.symbols[stream.alt[idx[j]]]) == number(words[2])  # the alt: the nearest noun's


def _pair_scores(p_true, p_alt):
    """pair_accuracy of a hand-made predictor on one two-position string whose second position
    is a minimal pair (true symbol 0, alt 1)."""
    n = 3
    chunk = GrammarString(
        symbols=np.array([2, 0]), next_dist=np.array([[0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]), state=np.zeros(2, int),
        depth=np.zeros(2, int), group=np.full(2, -1), deterministic=np.zeros(2, bool), alt=np.array([1, -1]),
        string_id=np.zeros(2, int), string_len=np.full(2, 2))
    probs = np.array([[[p_true, p_alt, 1.0 - p_true - p_alt], [1 / n] * n]])
    scorer = SequenceScorer(1, n, groups=())
    scorer.update(probs, [chunk], next_symbols=np.array([[0, -1]]))
    return scorer.result()["pair_accuracy"][0], scorer.chance()["pair_accuracy"][0]


def test_pair_accuracy_on_hand_made_probabilities():
    assert _pair_scores(0.6, 0.1) == (1.0, 0.5)  # prefers the true symbol
    assert _pair_scores(0.1, 0.6)[0] == 0.0  # prefers the alt
    assert _pair_scores(1 / 3, 1 / 3)[0] == 0.5  # uniform: a tie counts half
    assert _pair_scores(0.3, 0.3 * (1 + 1e-12))[0] == 0.5  # equal up to rounding: still a tie
    assert _pair_scores(0.3, 0.3 * (1 + 1e-6))[0] == 0.0


def test_pair_accuracy_is_the_share_of_pairs_won_and_nan_without_pairs():
    grammar = make(**DISAMBIGUATING)
    stream = grammar.sample_many(np.random.default_rng(0), 40)
    nxt = stream.next_symbols()[None, :-1]
    chunk = [stream[:-1]]
    # the linear rule's predictor: the exact distribution with the main verb's number flipped on
    # the first 10 sentences, so it prefers the alt there and the true verb elsewhere
    probs = stream.next_dist[:-1].copy()
    at = np.flatnonzero(stream.alt[:-1] >= 0)
    assert len(at) == 40
    for i in at[:10]:
        probs[i] = 0.0
        probs[i, stream.alt[i]] = 1.0
    scorer = SequenceScorer(1, grammar.n_symbols, grammar.groups)
    scorer.update(probs[None], chunk, nxt)
    assert scorer.result()["pair_accuracy"][0] == pytest.approx(30 / 40)
    assert scorer.chance()["pair_accuracy"][0] == 0.5
    empty = SequenceScorer(1, grammar.n_symbols, grammar.groups)
    empty.update(probs[None, :3], [stream[:3]], nxt[:, :3])  # N0 that N1: no minimal pair yet
    assert np.isnan(empty.result()["pair_accuracy"][0]) and np.isnan(empty.result()["surprisal_gap"][0])


def test_readme_documents_pair_accuracy():
    readme = (REPO / "README.md").read_text()
    assert "| `pair_accuracy` |" in readme and "universals/agreement_ambiguous.yaml" in readme


def test_ambiguous_config_end_to_end_writes_the_disambiguating_pair_accuracy(tmp_path):
    config = REPO / "configs" / "universals" / "agreement_ambiguous.yaml"
    run = experiments.run(config, ["cortex.n_units=32", "replicas=2", "phases.train.strings=30", "phases.test.strings=10",
                                   "phases.shared.strings=10", "phases.disambiguating.strings=20"], out=tmp_path / "run", quiet=True, plots=False)
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert list(metrics) == ["train", "test", "shared", "disambiguating"]
    block = metrics["disambiguating"]
    assert 0 <= block["pair_accuracy"] <= 1 and block["pair_accuracy_chance"] == 0.5
    assert len(block["per_replica"]["pair_accuracy"]) == 2
    assert block["entropy_rate"] == pytest.approx(make(**DISAMBIGUATING).entropy_rate(), abs=1e-12)
    assert 0 <= metrics["test"]["pair_accuracy"] <= 1
