"""The capability ladder's own worlds: the bigram-only fsm rung and the longer-range embedded Reber
(``n_inner`` inner strings), checked against their exact annotations."""
from pathlib import Path

import numpy as np
import pytest

from experiments.config import load
from experiments.worlds import WORLDS
from experiments.worlds.grammars import GRAMMARS

ROOT = Path(__file__).resolve().parent.parent
LADDER = ("bigram", "reber", "embedded_reber", "embedded_reber_long", "anbn", "dyck", "agreement")


def shipped_world(config: str):
    """The grammar of a shipped config's world."""
    world = load(ROOT / f"configs/language/{config}.yaml").world
    return WORLDS[world.kind].cls(world.variant("base"))


def embedded(n_inner: int):
    cls = GRAMMARS["embedded_reber"]
    return cls(cls.Params(n_inner=n_inner))


def test_every_rung_is_a_shipped_config_with_the_same_budget():
    for name in LADDER:
        spec = load(ROOT / f"configs/language/{name}.yaml")
        train, test = spec.phases[0], spec.phases[1]
        assert (train.strings, train.plastic, test.strings, test.plastic) == (1000, True, 200, False), name
        assert (spec.replicas, spec.cortex.backend, spec.cortex.n_units) == (3, "rate", 1000), name


def test_bigram_rung_depends_on_the_current_symbol_only():
    """Every position's exact next-symbol distribution is a function of its symbol alone, and
    those rows differ (so first-order statistics are needed and suffice)."""
    grammar = shipped_world("bigram")
    stream = grammar.sample_many(np.random.default_rng(0), 2000)
    rows = {}
    for sym, dist in zip(stream.symbols, stream.next_dist):
        assert np.array_equal(rows.setdefault(int(sym), dist), dist), f"next_dist after {grammar.symbols[sym]} varies"
    assert len(rows) == grammar.n_symbols
    assert len({tuple(r) for r in rows.values()}) == grammar.n_symbols


@pytest.mark.parametrize("n_inner", [2, 3])
def test_longer_embedded_reber_repeats_the_outer_branch_across_n_inner_strings(n_inner):
    grammar = embedded(n_inner)
    stream = grammar.sample_many(np.random.default_rng(1), 1000)
    T, P, B, E = (grammar.symbols.index(c) for c in "TPBE")
    reber = GRAMMARS["reber"](GRAMMARS["reber"].Params())
    legal = set()
    for idx in np.split(np.arange(len(stream)), np.flatnonzero(np.diff(stream.string_id)) + 1):
        s = stream.symbols[idx]
        assert s[0] == B and s[1] == s[-2] and s[1] in (T, P) and s[-1] == E
        inner = s[2:-2]
        starts = np.flatnonzero(inner == B)  # B opens each inner Reber string and appears nowhere else
        assert len(starts) == n_inner and starts[0] == 0
        for piece in np.split(inner, starts[1:]):
            assert piece[-1] == E and (piece[:-1] != E).all()
            legal.add(tuple(piece))
        assert np.flatnonzero(stream.group[idx] >= 0).tolist() == [len(s) - 3]
        assert stream.deterministic[idx[-3]] and stream.alt[idx[-3]] == (P if s[-2] == T else T)
    for piece in legal:  # every inner piece is a string of the Reber automaton
        walk = reber.automaton
        state = walk.start
        for sym in piece:
            j = np.flatnonzero((walk.arc_symbol[state] == sym) & (walk.arc_cum[state] < np.inf))
            assert j.size == 1, f"{''.join(grammar.symbols[c] for c in piece)} is not a Reber string"
            state = walk.arc_to[state, j[0]]
        assert state == walk.end


@pytest.mark.parametrize("n_inner", [1, 2, 3])
def test_longer_embedded_reber_next_dist_matches_sampled_frequencies_per_state(n_inner):
    """The automaton state fixes next_dist; per state seen >= 300 times, sampled next-symbol
    frequencies lie within 5 binomial standard deviations of it."""
    grammar = embedded(n_inner)
    stream = grammar.sample_many(np.random.default_rng(7), 3000)
    following = stream.next_symbols()[:-1]
    state, dist = stream.state[:-1], stream.next_dist[:-1]
    tested = 0
    for s in np.unique(state):
        at = state == s
        assert (dist[at] == dist[at][0]).all()
        n = int(at.sum())
        if n < 300:
            continue
        tested += 1
        freq = np.bincount(following[at], minlength=grammar.n_symbols) / n
        p = dist[at][0]
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12), f"state {s}: {freq.round(3)} vs {p.round(3)}"
    assert tested >= 10 * n_inner


@pytest.mark.parametrize("n_inner", [1, 2, 3])
def test_longer_embedded_reber_entropy_rate_and_length(n_inner):
    """Exact entropy rate = the sampled mean optimal surprisal (5 standard errors); each inner
    string adds a Reber string's mean length (8 symbols) and its log(2) per fork."""
    grammar = embedded(n_inner)
    assert grammar.mean_length == pytest.approx(4 + 8 * n_inner)
    stream = grammar.sample_stream(np.random.default_rng(3), 100_000)
    following = stream.next_symbols()
    keep = stream.string_id != stream.string_id[-1]
    surprisal = -np.log(stream.next_dist[keep, following[keep]])
    ids = stream.string_id[keep]
    per_string, length = np.bincount(ids, surprisal), np.bincount(ids)
    mean = per_string.sum() / length.sum()
    stderr = np.std(per_string - mean * length) / np.sqrt(len(length)) / length.mean()
    assert abs(grammar.entropy_rate() - mean) <= 5 * stderr
    # forks: the outer T|P, and 6 of a Reber string's 8 symbols on average are chosen at a fork
    assert grammar.entropy_rate() == pytest.approx(np.log(2) * (1 + 6 * n_inner) / (4 + 8 * n_inner), abs=1e-9)


def test_one_inner_string_is_the_embedded_reber_grammar_unchanged():
    plain, one = GRAMMARS["embedded_reber"](GRAMMARS["embedded_reber"].Params()), embedded(1)
    a, b = (g.sample_many(np.random.default_rng(4), 200) for g in (plain, one))
    assert np.array_equal(a.symbols, b.symbols) and np.array_equal(a.state, b.state)
    assert a.state.max() == 19  # the numbering of the 1997 grammar's 20 states is kept
