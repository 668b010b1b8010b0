"""The word-order harmony world (``kind: phrases``): its enumerated derivations against an independent
top-down sampler, the branching vs centre-embedding contrast, and the four universals configs
matched in entropy rate, length and vocabulary."""
from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.cli import main
from experiments.config import load
from experiments.worlds import WORLDS
from experiments.worlds.grammars import GRAMMARS

ROOT = Path(__file__).resolve().parent.parent
UNIVERSALS = ("harmony_head_first", "harmony_head_last", "disharmony_pp_last", "disharmony_pp_first")
ORDERS = list(itertools.product(("head_first", "head_last"), repeat=3))  # (verb, noun, adposition phrase)
CAT = "NVPE"


def shipped(name: str):
    world = load(ROOT / f"configs/universals/{name}.yaml").world
    return WORLDS[world.kind].cls(world.variant("base"))


def make(orders, **params):
    vp, np_, pp = orders
    cls = GRAMMARS["phrases"]
    return cls(cls.Params(verb_phrase=vp, noun_phrase=np_, adposition_phrase=pp, **params))


def category_strings(grammar, stream) -> list[str]:
    cats = "".join(CAT[c] for c in grammar.symbol_cat[stream.symbols])
    return cats.replace("E", "E|").split("|")[:-1]


def top_down(rng: np.random.Generator, prm) -> str:
    """One sentence's categories from the rules as written, expanded recursively (no enumeration)."""
    def noun_phrase(depth):
        if depth < prm.max_depth and rng.random() < prm.p_pp:
            pp = adposition_phrase(depth)
            return "N" + pp if prm.noun_phrase == "head_first" else pp + "N"
        return "N"

    def adposition_phrase(depth):
        inner = noun_phrase(depth + 1)
        return "P" + inner if prm.adposition_phrase == "head_first" else inner + "P"

    subject = noun_phrase(0)
    obj = noun_phrase(0)
    return subject + ("V" + obj if prm.verb_phrase == "head_first" else obj + "V") + "E"


@pytest.mark.parametrize("orders", ORDERS, ids=["-".join(o[5:] for o in orders) for orders in ORDERS])
def test_enumeration_matches_an_independent_top_down_sampler(orders):
    """Sentence probabilities and P(next category | category prefix) from the enumeration agree with
    frequencies of sentences drawn by plain recursive expansion of the rules (5 binomial sd)."""
    grammar = make(orders, p_pp=0.4, max_depth=2)
    rng = np.random.default_rng(0)
    drawn = [top_down(rng, grammar.params) for _ in range(20_000)]
    exact = {"".join(CAT[c] for c in key): p for key, p in grammar.category_strings().items()}
    assert set(drawn) <= set(exact)
    assert sum(exact.values()) == pytest.approx(1.0)
    for text, count in Counter(drawn).items():
        p = exact[text]
        assert abs(count / len(drawn) - p) <= 5 * np.sqrt(p * (1 - p) / len(drawn)), text
    node_of = {"".join(CAT[c] for c in prefix): node for node, prefix in enumerate(grammar.prefixes)}
    counts: dict[str, Counter] = defaultdict(Counter)
    for text in drawn:
        for i in range(len(text)):
            counts[text[:i]][text[i]] += 1
    assert set(counts) == set(node_of)  # every prefix node is reached, and no other prefix
    tested = 0
    for prefix, counter in counts.items():
        n = sum(counter.values())
        if n < 300:
            continue
        tested += 1
        freq = np.array([counter[c] for c in CAT]) / n
        p = grammar.cat_dist[node_of[prefix]]
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12), f"after {prefix!r}: {freq.round(3)} vs {p.round(3)}"
    assert tested >= 10


@pytest.mark.parametrize("orders", ORDERS, ids=["-".join(o[5:] for o in orders) for orders in ORDERS])
def test_stream_annotations_follow_the_prefix_table(orders):
    """Rows are distributions, uniform over the words of a category; the sampled symbol is always
    possible; marked positions have their next category fixed; the alteration is another category."""
    grammar = make(orders)
    stream = grammar.sample_many(np.random.default_rng(1), 3000)
    rows, following = np.arange(len(stream) - 1), stream.next_symbols()[:-1]
    assert np.allclose(stream.next_dist.sum(1), 1.0)
    assert np.all(stream.next_dist[rows, following] > 0)
    cat_next = grammar.symbol_cat[following]
    marked = stream.group[:-1] >= 0
    assert np.array_equal(cat_next[marked], stream.group[:-1][marked])
    per_cat = stream.next_dist @ np.eye(4)[grammar.symbol_cat]
    in_sentence = grammar.symbol_cat[stream.symbols[:-1]] != 3
    assert np.array_equal(marked, np.isclose(per_cat[:-1].max(1), 1.0) & in_sentence)
    assert np.allclose(stream.next_dist, per_cat[:, grammar.symbol_cat] / grammar.cat_size[grammar.symbol_cat])
    altered = np.flatnonzero(stream.alt >= 0)
    assert len(altered) == 3000  # one per sentence: every sentence has a position with its category fixed
    assert np.all(stream.group[altered] >= 0)
    assert np.all(grammar.symbol_cat[stream.alt[altered]] != stream.group[altered])
    assert np.array_equal(stream.deterministic, (stream.next_dist == 1).any(1))
    ends = stream.symbols == grammar.symbols.index("E")
    assert np.all(stream.state[ends] == 0) and np.all(stream.depth[ends] == 0)
    # word identity is uniform within category: nouns of the first half vs the second
    nouns = stream.symbols[grammar.symbol_cat[stream.symbols] == 0]
    assert abs((nouns < 2).mean() - 0.5) < 5 * 0.5 / np.sqrt(len(nouns))


def test_harmony_branches_and_disharmony_centre_embeds():
    """Harmonic NP/PP orders give chains (no 'N N' inside a noun phrase), disharmonic ones centre
    embedding up to max_depth 2: N N N P P (postpositions after head-first nouns), P P N N N."""
    strings = {name: set(category_strings(g := shipped(name), g.sample_many(np.random.default_rng(2), 3000)))
               for name in UNIVERSALS}
    assert all("NN" not in s for s in strings["harmony_head_first"])
    # head last, object before verb: the subject's last noun meets the object's first, once
    assert all(s.count("NN") == 1 and "NNN" not in s and s.endswith("NVE") for s in strings["harmony_head_last"])
    assert "NPNPNVNPNPNE" in strings["harmony_head_first"] and "NPNPNNPNPNVE" in strings["harmony_head_last"]
    assert any("NNNPP" in s for s in strings["disharmony_pp_last"])
    assert "NNNPPVNNNPPE" in strings["disharmony_pp_last"]
    assert "PPNNNPPNNNVE" in strings["disharmony_pp_first"]
    # the cap: at most two adposition phrases per noun phrase, so no third P in a row, and no fourth
    # N where the nouns of one noun phrase stand together (after P P N N N, N V is an object)
    assert not any("PPP" in s or s.count("P") > 4 for v in strings.values() for s in v)
    assert not any("NNNN" in s for s in strings["disharmony_pp_last"])


def test_depth_counts_phrases_open_across_each_step():
    grammar = make(("head_first", "head_first", "head_last"))  # disharmony_pp_last
    stream = grammar.sample_many(np.random.default_rng(4), 2000)
    texts = category_strings(grammar, stream)
    starts = np.r_[0, np.cumsum([len(t) for t in texts])]
    i = texts.index("NNNPPVNE")
    # NP[N PP[NP[N PP[NP[N] P]] P]] VP[V NP[N]] E: the three nested phrases close one by one
    assert stream.depth[starts[i]:starts[i + 1]].tolist() == [1, 3, 4, 2, 0, 1, 0, 0]


def test_universals_configs_are_matched_in_rate_length_and_vocabulary():
    grammars = {name: shipped(name) for name in UNIVERSALS}
    first = grammars["harmony_head_first"]
    for name, g in grammars.items():
        assert g.symbols == first.symbols, name
        assert g.entropy_rate() == pytest.approx(first.entropy_rate(), abs=1e-9), name
        assert g.mean_length == pytest.approx(first.mean_length, abs=1e-12), name
    orders = {name: (g.params.verb_phrase, g.params.noun_phrase, g.params.adposition_phrase) for name, g in grammars.items()}
    assert orders["harmony_head_first"] == ("head_first",) * 3 and orders["harmony_head_last"] == ("head_last",) * 3
    # each disharmonic config differs from its harmonic partner in the adposition phrase only
    assert orders["disharmony_pp_last"] == ("head_first", "head_first", "head_last")
    assert orders["disharmony_pp_first"] == ("head_last", "head_last", "head_first")
    assert first.mean_length == pytest.approx(7.0)  # 2 + 2 noun phrases of 1 + 2 * E[#PP], E[#PP] = 0.75


def test_entropy_rate_by_hand_without_adposition_phrases():
    """max_depth 0: always N V N E (or N N V E), one of 4 words at each of three positions."""
    for vp in ("head_first", "head_last"):
        grammar = make((vp, "head_first", "head_last"), max_depth=0)
        assert grammar.mean_length == 4.0
        assert grammar.entropy_rate() == pytest.approx(3 * np.log(4) / 4, abs=1e-12)
    # one noun, one verb, p_pp 1 at max_depth 1: a single sentence, nothing to predict
    single = make(ORDERS[0], n_nouns=1, n_verbs=1, n_adpositions=1, p_pp=1.0, max_depth=1)
    assert len(single.category_strings()) == 1 and single.entropy_rate() == 0.0


def test_unknown_order_is_a_validation_error_naming_the_key(tmp_path, capsys):
    raw = yaml.safe_load((ROOT / "configs/universals/harmony_head_first.yaml").read_text())
    raw["world"]["noun_phrase"] = "head_middle"
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: world.noun_phrase: " in err and "head_first" in err, err
