"""Subject-verb number agreement across centre-embedded relative clauses.

N1 [that N2 [that N3 V3] V2] V1 E: each verb must agree in number with its own subject, and the
main verb V1 with a noun several words and clauses back (the agreement test of Linzen et al.
2016 and Lakretz et al. 2019, here in a toy language).

Two keys turn it into the structure-dependence test of McCoy, Frank & Linzen (2020):
``verb_agrees_with: nearest_noun`` swaps the hierarchical rule for a linear one (a verb agrees
with the last noun before it), and ``embedded_number`` ties each embedded noun's number to that
of the noun its clause modifies ("same": data both rules fit; "opposite": data that tell them
apart).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from experiments.worlds.grammar_base import Grammar, GrammarParams, GrammarString, assemble, chain_entropy_rate, entropy_nats, layout


class AgreementParams(GrammarParams):
    """Agreement grammar parameters."""

    n_nouns: int = Field(4, ge=1, le=1000, description="nouns per number (as many singular as plural)")
    n_verbs: int = Field(4, ge=1, le=1000, description="verbs per number (as many singular as plural)")
    max_depth: int = Field(2, ge=0, le=20, description="largest number of nested relative clauses in a sentence")
    p_embed: float = Field(0.5, ge=0, le=1, description="probability that a noun opens another relative clause (while below max_depth)")
    p_plural: float = Field(0.5, ge=0, le=1, description="probability that a noun is plural (with embedded_number "
                            "same or opposite only the main subject's is drawn)")
    verb_agrees_with: Literal["subject", "nearest_noun"] = Field(
        "subject", description="subject: each verb agrees with its own subject (hierarchical); nearest_noun: with "
                               "the last noun before it, in centre embedding the deepest (linear)")
    embedded_number: Literal["independent", "same", "opposite"] = Field(
        "independent", description="number of a noun in a relative clause given the noun the clause modifies: "
                                   "drawn with p_plural, always the same, or always the opposite")


class Agreement(Grammar):
    """Centre-embedded agreement grammar (``kind: agreement``).

    Symbols: ``N{i}sg`` (i < n_nouns), ``N{i}pl``, ``V{i}sg``, ``V{i}pl``, ``that``, ``E``.
    A sentence with m relative clauses reads N_0 that N_1 ... that N_m V_m ... V_1 V_0 E, where V_j
    agrees in number with N_j (``verb_agrees_with: subject``), or every V_j with N_m, the last
    noun before it (``nearest_noun``); m is geometric (continue with p_embed) capped at max_depth.
    The number of N_j (j > 0) is drawn with p_plural, or equals or flips that of N_{j-1}
    (``embedded_number``). ``depth``: subjects still waiting for their verb. ``state``: the number
    the rule gives a verb that came next (0 none, 1 singular, 2 plural): that of the subject on top
    of that stack, or with ``nearest_noun`` that of the last noun. Long-range test: groups ({singular verbs},
    {plural verbs}), marked where the next symbol is a verb. ``deterministic``: after a verb (the
    next verb's number, or E after the main verb, is fixed; the exact verb only if n_verbs = 1),
    and with tied numbers after 'that' (the noun, if n_nouns = 1).
    Alteration: the main verb V_0 with its number flipped (the dependency that crosses every
    embedding; with ``embedded_number: opposite`` and one clause, the verb the other rule gives).
    """

    Params = AgreementParams

    def __init__(self, params: AgreementParams):
        super().__init__(params)
        nn, nv = params.n_nouns, params.n_verbs
        self.symbols = (*(f"N{i}sg" for i in range(nn)), *(f"N{i}pl" for i in range(nn)),
                        *(f"V{i}sg" for i in range(nv)), *(f"V{i}pl" for i in range(nv)), "that", "E")
        self.verb0 = 2 * nn
        self.that, self.end = 2 * nn + 2 * nv, 2 * nn + 2 * nv + 1
        self.groups = (tuple(range(self.verb0, self.verb0 + nv)), tuple(range(self.verb0 + nv, self.verb0 + 2 * nv)))
        self.first_dist = np.zeros(len(self.symbols))
        self.first_dist[:nn] = (1.0 - params.p_plural) / nn
        self.first_dist[nn:2 * nn] = params.p_plural / nn
        d, p = params.max_depth, params.p_embed
        # P(m = j) = p^j (1 - p) below the cap; the cap takes the remaining mass
        self.depth_prior = np.r_[p ** np.arange(d) * (1.0 - p), p ** d]

    @property
    def mean_length(self) -> float:
        return float(3.0 * (self.depth_prior @ np.arange(len(self.depth_prior))) + 3.0)

    def entropy_rate(self) -> float:
        """Exact entropy rate (nats/symbol) of sentences laid end to end.

        The latent state is the position's kind and clause (noun j, 'that' j, verb of clause j, E)
        plus the stack of subject numbers; H(next symbol) and the next kind and clause do not
        depend on the numbers, so the chain on (kind, clause) alone has the stream's rate.
        """
        prm, d = self.params, self.params.max_depth
        noun, that, verb, end = np.arange(d + 1), d + 1 + np.arange(d), 2 * d + 1 + np.arange(d + 1), 3 * d + 2
        trans, entropy = np.zeros((end + 1, end + 1)), np.zeros(end + 1)
        p_that = np.where(noun < d, prm.p_embed, 0.0)
        trans[noun[:-1], that] = p_that[:-1]
        trans[noun, verb] = 1.0 - p_that
        trans[that, noun[1:]] = 1.0
        trans[verb[1:], verb[:-1]] = 1.0
        trans[verb[0], end] = trans[end, noun[0]] = 1.0
        after_noun = np.column_stack([p_that, np.repeat(((1.0 - p_that) / prm.n_verbs)[:, None], prm.n_verbs, 1)])
        entropy[noun] = entropy_nats(after_noun)
        entropy[that] = entropy[end] = entropy_nats(self.first_dist)  # a noun, drawn as a sentence's first
        if prm.embedded_number != "independent":
            entropy[that] = np.log(prm.n_nouns)  # its number is fixed, not which noun
        entropy[verb[1:]] = np.log(prm.n_verbs)  # the next verb's number is fixed, not which verb
        return chain_entropy_rate(trans, entropy)

    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` sentences end to end."""
        prm, nn, nv, v0 = self.params, self.params.n_nouns, self.params.n_verbs, self.verb0
        m = rng.choice(len(self.depth_prior), size=n_strings, p=self.depth_prior)
        plural = (rng.random((n_strings, prm.max_depth + 1)) < prm.p_plural).astype(np.int64)
        if prm.embedded_number != "independent":
            # each noun's number from the first's: flipped at every odd depth, or never
            flips = np.arange(prm.max_depth + 1) % 2 * (prm.embedded_number == "opposite")
            plural = plural[:, :1] ^ flips
        # the number the rule gives clause j's verb: its subject's, or the last noun's
        verb_number = plural
        if prm.verb_agrees_with == "nearest_noun":
            verb_number = np.repeat(plural[np.arange(n_strings), m][:, None], prm.max_depth + 1, 1)
        noun = rng.integers(nn, size=plural.shape) + nn * plural
        verb = v0 + rng.integers(nv, size=plural.shape) + nv * verb_number
        lengths = 3 * m + 3
        sid, pos, _ = layout(lengths)
        ms = m[sid]
        is_noun = (pos <= 2 * ms) & (pos % 2 == 0)
        is_that = (pos < 2 * ms) & (pos % 2 == 1)
        is_verb = (pos > 2 * ms) & (pos < 3 * ms + 2)
        # index of the clause a position belongs to: noun/that j, or the subject a verb agrees with
        clause = np.where(is_verb, 3 * ms + 1 - pos, pos // 2)
        clause = np.clip(clause, 0, prm.max_depth)
        symbols = np.full(len(pos), self.end)
        symbols[is_noun] = noun[sid[is_noun], clause[is_noun]]
        symbols[is_that] = self.that
        symbols[is_verb] = verb[sid[is_verb], clause[is_verb]]
        depth = np.where(is_noun | is_that, clause + 1, np.where(is_verb, clause, 0))
        top = np.clip(depth - 1, 0, None)
        # the number a verb would take here: after a noun or 'that' the last noun's (under either
        # rule: the sentence may close its clauses next), after a verb the next verb's
        agree = np.where(is_verb, verb_number[sid, top], plural[sid, top])
        state = np.where(depth > 0, 1 + agree, 0)

        next_dist = np.zeros((len(pos), len(self.symbols)))
        rows = np.arange(len(pos))[:, None]
        # after a noun: 'that' (if below the cap) or a verb agreeing with that noun
        may_embed = clause < prm.max_depth
        p_that = np.where(may_embed, prm.p_embed, 0.0)
        verb_set = v0 + nv * agree[:, None] + np.arange(nv)
        sel = is_noun
        next_dist[rows[sel], verb_set[sel]] = ((1.0 - p_that[sel]) / nv)[:, None]
        next_dist[sel, self.that] = p_that[sel]
        if prm.embedded_number == "independent":
            next_dist[is_that] = self.first_dist  # after 'that' comes a noun, drawn as a sentence's first
        else:  # a noun whose number that of the noun before fixes
            flip = int(prm.embedded_number == "opposite")
            noun_set = nn * (plural[sid, clause] ^ flip)[:, None] + np.arange(nn)
            next_dist[rows[is_that], noun_set[is_that]] = 1.0 / nn
        # after a verb: the next subject's verb, or E after the main verb
        sel = is_verb & (clause > 0)
        next_dist[rows[sel], verb_set[sel]] = 1.0 / nv
        next_dist[is_verb & (clause == 0), self.end] = 1.0
        next_dist[symbols == self.end] = self.first_dist

        following = np.append(symbols[1:], 0)
        verb_next = (following >= v0) & (following < v0 + 2 * nv)
        alt = np.full(len(pos), -1, dtype=np.int64)
        at = np.flatnonzero(pos == 3 * ms)  # just before the main verb
        main_number = verb_number[sid[at], 0]
        alt[at] = following[at] + nv * (1 - 2 * main_number)
        fixed = is_verb | (is_that & (prm.embedded_number != "independent"))
        return assemble(
            lengths, symbols, next_dist, state, depth,
            group=np.where(verb_next, (following - v0) // nv, -1),
            deterministic=fixed & ((next_dist > 0).sum(1) == 1), alt=alt,
        )
