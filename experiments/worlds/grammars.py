"""Grammar worlds: the registry from YAML ``world.kind`` to grammar class.

Each grammar has a nested ``Params`` model (its YAML keys), ``symbols``, ``groups``,
``first_dist``, ``length_generalization``, and ``sample(rng)`` / ``sample_many(rng, n)`` /
``sample_stream(rng, n_symbols)`` returning an annotated GrammarString whose ``next_dist`` is the
exact optimal prediction under that grammar's parameters, and ``entropy_rate()``, the exact
entropy rate of that stream (nats/symbol).
"""
from __future__ import annotations

from experiments.worlds.grammar_agreement import Agreement
from experiments.worlds.grammar_base import Grammar, GrammarParams, GrammarString
from experiments.worlds.grammar_counting import AnBn, Dyck
from experiments.worlds.grammar_fsm import Fsm
from experiments.worlds.grammar_phrases import Phrases
from experiments.worlds.grammar_reber import EmbeddedReber, Reber

GRAMMARS: dict[str, type[Grammar]] = {
    "reber": Reber,
    "embedded_reber": EmbeddedReber,
    "anbn": AnBn,
    "dyck": Dyck,
    "agreement": Agreement,
    "fsm": Fsm,
    "phrases": Phrases,
}

__all__ = ["GRAMMARS", "Grammar", "GrammarParams", "GrammarString",
           "Reber", "EmbeddedReber", "AnBn", "Dyck", "Agreement", "Fsm", "Phrases"]
