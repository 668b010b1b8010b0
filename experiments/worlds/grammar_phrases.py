"""Word-order harmony: a phrase-structure grammar whose heads come first or last per phrase type.

Languages tend to be harmonic: a verb before its object goes with adpositions before their noun
phrase and nouns before their modifiers (or all of these the other way round; Greenberg 1963,
Dryer 1992). One processing account: with the noun phrase and the adposition phrase ordered
alike, a noun phrase with nested adposition phrases reads as a right- or left-branching chain,
"N P N P N", which a finite-state reader follows; ordered unlike, the same structure is centre
embedded, "N N N P P" or "P P N N N", and reading it means counting, as in a^n b^n. This world
lets a learner be trained on either and compared at equal entropy rate, length and vocabulary.
"""
from __future__ import annotations

import itertools
from typing import Literal

import numpy as np
from pydantic import Field

from experiments.worlds.grammar_base import Grammar, GrammarParams, GrammarString, assemble, layout, pick_one_per_string

Order = Literal["head_first", "head_last"]
NOUN, VERB, ADPOSITION, END = range(4)  # word categories, in the order of the symbols and groups


class PhrasesParams(GrammarParams):
    """Word-order harmony grammar parameters."""

    verb_phrase: Order = Field("head_first", description="VP -> V NP (head_first) or NP V (head_last)")
    noun_phrase: Order = Field("head_first", description="NP -> N [PP] (head_first) or [PP] N (head_last)")
    adposition_phrase: Order = Field("head_first", description="PP -> P NP (head_first, prepositions) or NP P (head_last, postpositions)")
    n_nouns: int = Field(4, ge=1, le=1000, description="nouns (N0, N1, ...), drawn uniformly")
    n_verbs: int = Field(4, ge=1, le=1000, description="verbs (V0, ...), drawn uniformly")
    n_adpositions: int = Field(2, ge=1, le=1000, description="adpositions (P0, ...), drawn uniformly")
    p_pp: float = Field(0.5, ge=0, le=1, description="probability that a noun phrase has an adposition phrase (while below max_depth)")
    max_depth: int = Field(2, ge=0, le=20, description=(
        "largest number of adposition phrases a noun phrase can be inside; at the cap a noun phrase has none"))


# A derivation fragment: (probability, categories, phrase spans as (start, stop) in its categories).
Fragment = tuple[float, tuple[int, ...], tuple[tuple[int, int], ...]]


def _concat(parts: tuple[Fragment, ...]) -> Fragment:
    prob, cats, spans = 1.0, (), ()
    for p, c, s in parts:
        spans += tuple((a + len(cats), b + len(cats)) for a, b in s)
        cats += c
        prob *= p
    return prob, cats, spans


def _phrase(*children: list[Fragment], weight: float = 1.0) -> list[Fragment]:
    """Every combination of the children's fragments, in order, as one phrase (a span over all)."""
    out = []
    for combo in itertools.product(*children):
        p, c, s = _concat(combo)
        out.append((weight * p, c, s + ((0, len(c)),)))
    return out


def _word(cat: int) -> list[Fragment]:
    return [(1.0, (cat,), ())]


class Phrases(Grammar):
    """Phrase-structure grammar of word-order harmony (``kind: phrases``).

    S -> NP VP E; VP -> V NP or NP V; NP -> N [PP] or [PP] N, with a PP with probability p_pp while
    the NP is inside fewer than max_depth PPs; PP -> P NP or NP P. Symbols ``N{i}``, ``V{i}``,
    ``P{i}``, ``E``; words are uniform within their category. Harmonic NP and PP orders give
    branching chains (N P N P N); disharmonic ones centre embedding (N N N P P, P P N N N).

    The category-level derivations are finite, so they are enumerated with their probabilities and
    ``next_dist`` is read from a table over category prefixes (summed over every derivation
    consistent with the prefix, so unresolved parses are marginalised). ``state``: the id of the
    category prefix (0: empty, i.e. at a sentence's start and after E). ``depth``: phrases (NP, PP,
    VP) open across the step, i.e. holding both symbol i and symbol i+1, in the sampled tree (where
    a head comes last the prefix may not yet tell how many are open). Long-range test: groups
    (nouns, verbs, adpositions, (E,)), marked wherever the sentence's prefix fixes the next
    category (the closing Ps of a centre embedding, the V after a subject, ...; not after E).
    ``deterministic``: the next symbol itself is fixed (E, or a category of one word). Alteration:
    at one position per sentence where the category is fixed, a random word of another category.
    """

    Params = PhrasesParams

    def __init__(self, params: PhrasesParams):
        super().__init__(params)
        sizes = np.array([params.n_nouns, params.n_verbs, params.n_adpositions, 1])
        self.symbols = (*(f"N{i}" for i in range(sizes[0])), *(f"V{i}" for i in range(sizes[1])),
                        *(f"P{i}" for i in range(sizes[2])), "E")
        self.cat_size, self.cat_base = sizes, np.r_[0, np.cumsum(sizes)[:-1]]
        self.symbol_cat = np.repeat(np.arange(4), sizes)
        self.groups = tuple(tuple(range(b, b + n)) for b, n in zip(self.cat_base, sizes))
        self._enumerate()
        self.first_dist = self.node_dist[0].copy()

    # -- the enumeration -------------------------------------------------------------------------
    def _noun_phrase(self, depth: int) -> list[Fragment]:
        prm = self.params
        if depth >= prm.max_depth:
            return _phrase(_word(NOUN))
        pp = self._adposition_phrase(depth)
        with_pp = _phrase(_word(NOUN), pp, weight=prm.p_pp) if prm.noun_phrase == "head_first" else \
            _phrase(pp, _word(NOUN), weight=prm.p_pp)
        return _phrase(_word(NOUN), weight=1.0 - prm.p_pp) + with_pp

    def _adposition_phrase(self, depth: int) -> list[Fragment]:
        inner = self._noun_phrase(depth + 1)
        if self.params.adposition_phrase == "head_first":
            return _phrase(_word(ADPOSITION), inner)
        return _phrase(inner, _word(ADPOSITION))

    def derivations(self) -> list[Fragment]:
        """Every category-level derivation of a sentence: (probability, categories, phrase spans);
        derivations of probability 0 (p_pp of 0 or 1) are left out."""
        obj = self._noun_phrase(0)
        vp = _phrase(_word(VERB), obj) if self.params.verb_phrase == "head_first" else _phrase(obj, _word(VERB))
        out = [_concat(combo) for combo in itertools.product(self._noun_phrase(0), vp, _word(END))]
        return [d for d in out if d[0] > 0]

    def _enumerate(self) -> None:
        deriv = self.derivations()
        self.deriv_prob = np.array([p for p, _, _ in deriv])
        self.deriv_prob /= self.deriv_prob.sum()
        self.deriv_len = np.array([len(c) for _, c, _ in deriv])
        self.deriv_start = np.r_[0, np.cumsum(self.deriv_len)[:-1]]
        node_of: dict[tuple[int, ...], int] = {(): 0}
        mass: list[np.ndarray] = [np.zeros(4)]
        flat_cat, flat_node, flat_depth = [], [], []
        for (_, cats, spans), p in zip(deriv, self.deriv_prob):
            mass[0][cats[0]] += p
            for i, cat in enumerate(cats):
                prefix = cats[: i + 1]
                if cat == END:
                    node = 0  # after E the next sentence starts: the empty prefix
                else:
                    node = node_of.setdefault(prefix, len(node_of))
                    if node == len(mass):
                        mass.append(np.zeros(4))
                    mass[node][cats[i + 1]] += p
                flat_cat.append(cat)
                flat_node.append(node)
                flat_depth.append(sum(a <= i and b >= i + 2 for a, b in spans))
        self.flat_cat, self.flat_node, self.flat_depth = (np.array(a, dtype=np.int64) for a in (flat_cat, flat_node, flat_depth))
        self.prefixes = tuple(sorted(node_of, key=node_of.get))  # node id -> category prefix
        cat_dist = np.array(mass)
        cat_dist /= cat_dist.sum(1, keepdims=True)
        self.cat_dist = cat_dist  # (nodes, 4): P(next category | category prefix)
        self.node_dist = (cat_dist / self.cat_size)[:, self.symbol_cat]
        fixed = cat_dist.max(1) >= 1.0 - 1e-12
        self.node_fixed_cat = np.where(fixed, cat_dist.argmax(1), -1)
        self.node_deterministic = fixed & (self.cat_size[cat_dist.argmax(1)] == 1)

    # -- exact quantities ------------------------------------------------------------------------
    @property
    def mean_length(self) -> float:
        return float(self.deriv_prob @ self.deriv_len)

    def category_strings(self) -> dict[tuple[int, ...], float]:
        """Probability of each distinct category string (derivations with the same string summed)."""
        out: dict[tuple[int, ...], float] = {}
        for p, start, n in zip(self.deriv_prob, self.deriv_start, self.deriv_len):
            key = tuple(self.flat_cat[start:start + n])
            out[key] = out.get(key, 0.0) + float(p)
        return out

    def entropy_rate(self) -> float:
        """Exact entropy rate (nats/symbol) of sentences laid end to end: sentences are independent
        and end with E, so the rate is E[H(sentence)] / E[length], with H(sentence) the entropy of
        its category string plus, per position, the log of the number of words in its category."""
        probs = np.array(list(self.category_strings().values()))
        h_cats = -float(probs @ np.log(probs))
        per_deriv = np.add.reduceat(np.log(self.cat_size[self.flat_cat]), self.deriv_start)
        return (h_cats + float(self.deriv_prob @ per_deriv)) / self.mean_length

    # -- sampling --------------------------------------------------------------------------------
    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` sentences end to end: derivations drawn from the enumeration, then words."""
        which = rng.choice(len(self.deriv_prob), size=n_strings, p=self.deriv_prob)
        lengths = self.deriv_len[which]
        sid, pos, slen = layout(lengths)
        flat = self.deriv_start[which][sid] + pos
        cat = self.flat_cat[flat]
        word = np.minimum((rng.random(len(flat)) * self.cat_size[cat]).astype(np.int64), self.cat_size[cat] - 1)
        symbols = self.cat_base[cat] + word
        node = self.flat_node[flat]
        next_dist = self.node_dist[node]
        group = np.where(cat == END, -1, self.node_fixed_cat[node])  # within a sentence only
        alt = np.full(len(flat), -1, dtype=np.int64)
        where = pick_one_per_string(rng, (pos < slen - 1) & (group >= 0), sid)
        illegal = next_dist[where] == 0  # at a fixed category every word of another category
        keys = np.where(illegal, 1.0 + rng.random(illegal.shape), 0.0)
        alt[where] = keys.argmax(1)
        return assemble(lengths, symbols, next_dist, state=node, depth=self.flat_depth[flat], group=group,
                        deterministic=self.node_deterministic[node], alt=alt)
