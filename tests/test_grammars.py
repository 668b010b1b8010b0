"""Grammar worlds: the annotations a learner is scored against must be exact and well formed."""
from collections import Counter, defaultdict

import numpy as np
import pytest
from pydantic import ValidationError

from experiments.worlds.grammars import GRAMMARS, GrammarString

FSM_SPEC = {  # (ab)^n c d | (ab)^n e f: the symbol after the loop decides the last one
    "start": "s0",
    "transitions": {
        "s0": [{"symbol": "a", "to": "s1"}],
        "s1": [{"symbol": "b", "to": "s2"}],
        "s2": [{"symbol": "a", "to": "s1", "weight": 1.0}, {"symbol": "c", "to": "s3", "weight": 1.5},
               {"symbol": "e", "to": "s4", "weight": 0.5}],
        "s3": [{"symbol": "d", "to": "end"}],
        "s4": [{"symbol": "f", "to": "end"}],
    },
    "long_range": {"groups": [["d"], ["f"]], "states": ["s3", "s4"]},
}

# grammar cases small enough that most prefixes recur often in a few thousand strings
CASES = {
    "reber": ("reber", {}),
    "embedded_reber": ("embedded_reber", {}),
    "anbn": ("anbn", {"min_n": 1, "max_n": 4}),
    "dyck_small": ("dyck", {"n_types": 2, "max_depth": 3, "p_open": 0.4, "p_end": 0.6}),
    "agreement_small": ("agreement", {"n_nouns": 1, "n_verbs": 2, "max_depth": 2, "p_embed": 0.4, "p_plural": 0.3}),
    "fsm": ("fsm", FSM_SPEC),
    "phrases_small": ("phrases", {"verb_phrase": "head_last", "noun_phrase": "head_first", "adposition_phrase": "head_last",
                                  "n_nouns": 1, "n_verbs": 1, "n_adpositions": 1, "p_pp": 0.4}),
}


def make(case: str):
    kind, params = CASES[case]
    cls = GRAMMARS[kind]
    return cls(cls.Params(**params))


def names(grammar, symbols) -> str:
    return "".join(grammar.symbols[s] for s in symbols)


def split(stream: GrammarString) -> list[np.ndarray]:
    """Positions of each string in a stream."""
    return np.split(np.arange(len(stream)), np.flatnonzero(np.diff(stream.string_id)) + 1)


@pytest.mark.parametrize("case", list(CASES))
def test_next_dist_matches_sampled_conditional_frequencies(case):
    """For every prefix seen at least 300 times, the empirical frequency of each next symbol lies
    within 5 binomial standard deviations of next_dist (exactly equal where next_dist is 0 or 1),
    and next_dist depends on the prefix only."""
    grammar = make(case)
    stream = grammar.sample_many(np.random.default_rng(7), 6000)
    following = stream.next_symbols()
    counts: dict[tuple, Counter] = defaultdict(Counter)
    rows: dict[tuple, np.ndarray] = {}
    for idx in split(stream)[:-1]:  # the last string has no successor to close it
        string = tuple(stream.symbols[idx])
        for j, i in enumerate(idx):
            prefix = string[: j + 1]
            counts[prefix][following[i]] += 1
            if prefix in rows:
                assert np.array_equal(rows[prefix], stream.next_dist[i]), f"next_dist differs for prefix {names(grammar, prefix)}"
            rows[prefix] = stream.next_dist[i]
    tested = 0
    for prefix, counter in counts.items():
        n = sum(counter.values())
        if n < 300:
            continue
        tested += 1
        freq = np.bincount(list(counter.elements()), minlength=grammar.n_symbols) / n
        p = rows[prefix]
        tol = 5 * np.sqrt(p * (1 - p) / n) + 1e-12
        assert np.all(np.abs(freq - p) <= tol), f"prefix {names(grammar, prefix)}: sampled {freq.round(3)} vs exact {p.round(3)}"
    assert tested >= 8, "too few recurring prefixes to test"


@pytest.mark.parametrize("case", list(CASES))
def test_annotations_are_well_formed(case):
    """Rows are distributions; the symbol that comes next is always possible; alterations are
    impossible; every string ends with a first_dist row; ids and lengths describe the strings."""
    grammar = make(case)
    stream = grammar.sample_many(np.random.default_rng(3), 500)
    rows = np.arange(len(stream))
    assert np.allclose(stream.next_dist.sum(1), 1.0)
    following = stream.next_symbols()
    assert np.all(stream.next_dist[rows[:-1], following[:-1]] > 0)
    altered = stream.alt >= 0
    assert np.all(stream.next_dist[altered, stream.alt[altered]] == 0)
    assert np.all(stream.alt[altered] != following[altered])
    pieces = split(stream)
    assert len(pieces) == 500 and np.array_equal(np.unique(stream.string_id), np.arange(500))
    for idx in pieces:
        assert np.all(stream.string_len[idx] == len(idx))
        assert np.array_equal(stream.next_dist[idx[-1]], grammar.first_dist)
        assert altered[idx].sum() <= 1
    assert np.allclose(grammar.first_dist.sum(), 1.0)
    assert np.all(grammar.first_dist[stream.symbols[[p[0] for p in pieces]]] > 0)
    marked = stream.group >= 0
    for g in np.unique(stream.group[marked]):
        assert set(following[marked & (stream.group == g)]) <= set(grammar.groups[g])


@pytest.mark.parametrize("case", list(CASES))
def test_mean_length_matches_samples(case):
    grammar = make(case)
    stream = grammar.sample_many(np.random.default_rng(5), 4000)
    lengths = np.bincount(stream.string_id)
    assert abs(lengths.mean() - grammar.mean_length) < 5 * lengths.std() / np.sqrt(len(lengths))


@pytest.mark.parametrize("case", list(CASES))
def test_same_seed_same_stream(case):
    grammar = make(case)
    one, two = (grammar.sample_stream(np.random.default_rng(11), 300) for _ in range(2))
    assert len(one) >= 300
    assert np.array_equal(one.symbols, two.symbols) and np.array_equal(one.alt, two.alt)


def test_reber_textbook_examples_are_sampled_with_their_exact_probability():
    grammar = make("reber")
    stream = grammar.sample_many(np.random.default_rng(0), 20000)
    seen = Counter()
    prob = {}
    for idx in split(stream):
        text = names(grammar, stream.symbols[idx])
        seen[text] += 1
        # P(string) = P(first symbol) * product of next_dist along the string
        p = grammar.first_dist[stream.symbols[idx[0]]] * np.prod(stream.next_dist[idx[:-1], stream.symbols[idx[1:]]])
        prob[text] = p
    assert prob["BPVVE"] == pytest.approx(0.5**3)
    assert prob["BTSSXXTVVE"] == pytest.approx(0.5**8)
    assert seen["BPVVE"] / 20000 == pytest.approx(0.125, abs=0.01)
    assert all(text[0] == "B" and text[-1] == "E" for text in seen)


def test_embedded_reber_repeats_the_outer_branch_and_alters_it():
    grammar = make("embedded_reber")
    stream = grammar.sample_many(np.random.default_rng(1), 2000)
    T, P = grammar.symbols.index("T"), grammar.symbols.index("P")
    examples = set()
    for idx in split(stream):
        s = stream.symbols[idx]
        examples.add(names(grammar, s))
        assert s[1] == s[-2] and s[1] in (T, P)
        # the long-range test sits on the inner E, and its alteration is the other branch symbol
        assert np.flatnonzero(stream.group[idx] >= 0).tolist() == [len(s) - 3]
        assert stream.alt[idx[-3]] == (P if s[-2] == T else T)
        assert stream.deterministic[idx[-3]]
    assert "BTBPVPSETE" in examples


def test_anbn_counts_and_splits_lengths_between_variants():
    short, long = GRAMMARS["anbn"](GRAMMARS["anbn"].Params(min_n=1, max_n=5)), GRAMMARS["anbn"](GRAMMARS["anbn"].Params(min_n=6, max_n=9))
    for grammar, lo, hi in ((short, 1, 5), (long, 6, 9)):
        stream = grammar.sample_many(np.random.default_rng(2), 300)
        for idx in split(stream):
            text = names(grammar, stream.symbols[idx])
            n = text.count("a")
            assert lo <= n <= hi and text == "a" * n + "b" * n + "E"
            # every b is a long-range, deterministic test; the last a is not (the length prior decides)
            assert np.array_equal(stream.group[idx] >= 0, np.array([c == "b" for c in text]))
            assert not stream.deterministic[idx[n - 1]]
            altered = int(np.flatnonzero(stream.alt[idx] >= 0)[0])
            bad = text[: altered + 1] + grammar.symbols[stream.alt[idx[altered]]]
            assert bad.endswith("bb") or (bad.endswith("E") and bad.count("b") == n - 1)


def test_dyck_closes_the_right_bracket_and_alters_a_close():
    grammar = GRAMMARS["dyck"](GRAMMARS["dyck"].Params(n_types=3, max_depth=5, p_open=0.5, p_end=0.4))
    stream = grammar.sample_many(np.random.default_rng(4), 300)
    opens, closes = grammar.symbols[:3], grammar.symbols[3:6]
    for idx in split(stream):
        stack, text = [], names(grammar, stream.symbols[idx])
        for j, c in enumerate(text[:-1]):
            if c in opens:
                stack.append(opens.index(c))
            else:
                assert closes.index(c) == stack.pop()
            assert stream.depth[idx[j]] == len(stack) <= 5
        assert text[-1] == "E" and not stack
        j = int(np.flatnonzero(stream.alt[idx] >= 0)[0])
        assert text[j + 1] in closes and grammar.symbols[stream.alt[idx[j]]] in closes


def test_agreement_verbs_agree_and_the_main_verb_is_altered():
    grammar = make("agreement_small")
    stream = grammar.sample_many(np.random.default_rng(6), 500)
    for idx in split(stream):
        words = [grammar.symbols[s] for s in stream.symbols[idx]]
        nouns = [w for w in words if w.startswith("N")]
        verbs = [w for w in words if w.startswith("V")]
        assert words[-1] == "E" and len(nouns) == len(verbs) == words.count("that") + 1
        assert [v[-2:] for v in reversed(verbs)] == [n[-2:] for n in nouns]
        j = int(np.flatnonzero(stream.alt[idx] >= 0)[0])
        main, swapped = words[j + 1], grammar.symbols[stream.alt[idx[j]]]
        assert j + 1 == len(words) - 2 and swapped[:-2] == main[:-2] and swapped[-2:] != main[-2:]


def test_fsm_long_range_groups_follow_the_loop_exit():
    grammar = make("fsm")
    stream = grammar.sample_many(np.random.default_rng(8), 300)
    assert grammar.symbols == ("a", "b", "c", "e", "d", "f")
    for idx in split(stream):
        text = names(grammar, stream.symbols[idx])
        assert text[-2:] in ("cd", "ef")
        assert stream.group[idx[-2]] == (0 if text[-1] == "d" else 1)


@pytest.mark.parametrize("kind", list(GRAMMARS))
def test_params_are_documented_and_strict(kind):
    params = GRAMMARS[kind].Params
    assert "kind" not in params.model_fields and "variants" not in params.model_fields
    assert all(f.description for f in params.model_fields.values())
    with pytest.raises(ValidationError, match="typo_key"):
        params(**CASES.get(kind, (kind, FSM_SPEC if kind == "fsm" else {}))[1], typo_key=1)


BAD_PARAMS = {
    "anbn_min_above_max": ("anbn", {"min_n": 5, "max_n": 3}, "min_n"),
    "dyck_length_explodes": ("dyck", {"p_open": 0.95, "max_depth": 60}, "p_open"),
    "agreement_bad_probability": ("agreement", {"p_embed": 1.5}, "p_embed"),
    "fsm_unknown_target": ("fsm", {"start": "s", "transitions": {"s": [{"symbol": "x", "to": "nowhere"}]}}, "transitions.s.0.to"),
    "fsm_never_ends": ("fsm", {"start": "s", "transitions": {"s": [{"symbol": "x", "to": "t"}], "t": [{"symbol": "y", "to": "t"}]}},
                       "can never reach 'end'"),
    "fsm_zero_weight": ("fsm", {"start": "s", "transitions": {"s": [{"symbol": "x", "to": "end", "weight": 0}]}}, "weight"),
    "fsm_empty_alphabet": ("fsm", {"start": "s", "transitions": {}}, "alphabet is empty"),
    "fsm_unknown_start": ("fsm", {"start": "q", "transitions": {"s": [{"symbol": "x", "to": "end"}]}}, "start"),
    "fsm_symbol_twice": ("fsm", {"start": "s", "transitions": {"s": [{"symbol": "x", "to": "end"}, {"symbol": "x", "to": "s"}]}},
                         "transitions.s.1.symbol"),
    "fsm_end_has_transitions": ("fsm", {"start": "s", "transitions": {"s": [{"symbol": "x", "to": "end"}],
                                                                      "end": [{"symbol": "y", "to": "s"}]}}, "transitions.end"),
    "fsm_group_unknown_symbol": ("fsm", {**FSM_SPEC, "long_range": {"groups": [["d"], ["z"]], "states": ["s3"]}}, "long_range.groups.1"),
    "fsm_group_misses_symbol": ("fsm", {**FSM_SPEC, "long_range": {"groups": [["d"], ["f"]], "states": ["s2"]}}, "long_range.states.0"),
}


@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_bad_params_are_rejected_naming_the_key(case):
    kind, params, key = BAD_PARAMS[case]
    with pytest.raises(ValidationError) as info:
        GRAMMARS[kind].Params(**params)
    located = [".".join(map(str, e["loc"])) + ": " + e["msg"] for e in info.value.errors()]
    assert any(key in text for text in located), located
