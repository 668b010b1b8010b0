"""Finite-state grammars: a probabilistic automaton engine and the user-defined ``fsm`` grammar.

Each symbol may leave a state at most once, so the state after any prefix is known exactly and
the next-symbol distribution of that state is the exact optimal prediction.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from experiments.worlds.grammar_base import (Grammar, GrammarBlock, GrammarParams, GrammarString, assemble, chain_entropy_rate, entropy_nats,
                                            random_illegal_alt)

END = "end"


class Automaton:
    """A probabilistic finite automaton with one absorbing end.

    ``arcs[s]`` lists ``(symbol_id, target, probability)`` leaving state ``s``; a target equal to
    ``len(arcs)`` is the end (the string is finished after emitting that arc's symbol).
    """

    def __init__(self, n_symbols: int, start: int, arcs: list[list[tuple[int, int, float]]]):
        n_states, width = len(arcs), max(len(a) for a in arcs)
        self.start, self.end = start, n_states
        self.arc_symbol = np.zeros((n_states, width), dtype=np.int64)
        self.arc_to = np.full((n_states, width), n_states, dtype=np.int64)
        # unused arc slots get an unreachable threshold so the search below never picks them
        self.arc_cum = np.full((n_states, width), np.inf)
        self.dist = np.zeros((n_states + 1, n_symbols))
        self.trans = np.zeros((n_states, n_states + 1))
        for s, out in enumerate(arcs):
            probs = np.array([p for _, _, p in out], dtype=float)
            probs /= probs.sum()
            for j, ((sym, to, _), p) in enumerate(zip(out, probs)):
                self.arc_symbol[s, j], self.arc_to[s, j] = sym, to
                self.dist[s, sym] += p
                self.trans[s, to] += p
            self.arc_cum[s, : len(out)] = np.cumsum(probs)
            self.arc_cum[s, len(out) - 1] = 1.0  # guard against rounding: u < 1 always finds an arc
        self.dist[self.end] = self.dist[start]  # after the end comes the next string's first symbol

    def walk(self, rng: np.random.Generator, n_strings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample ``n_strings`` strings in parallel.

        Returns symbols (L,), state after each symbol (L,; ``self.end`` after the last) and the
        string lengths (n_strings,), strings laid end to end.
        """
        state = np.full(n_strings, self.start)
        alive = np.arange(n_strings)
        who, syms, states = [], [], []
        while alive.size:
            s = state[alive]
            j = (rng.random(alive.size)[:, None] >= self.arc_cum[s]).sum(1)
            sym, to = self.arc_symbol[s, j], self.arc_to[s, j]
            who.append(alive)
            syms.append(sym)
            states.append(to)
            state[alive] = to
            alive = alive[to != self.end]
        who = np.concatenate(who)
        order = np.argsort(who, kind="stable")  # recorded step by step; regroup string by string
        return np.concatenate(syms)[order], np.concatenate(states)[order], np.bincount(who, minlength=n_strings)

    def mean_length(self) -> float:
        """Expected number of symbols per string."""
        n = len(self.trans)
        steps = np.linalg.solve(np.eye(n) - self.trans[:, :n], np.ones(n))
        return float(steps[self.start])


class AutomatonGrammar(Grammar):
    """A grammar given by an Automaton. Subclasses set ``automaton`` and optionally
    ``state_depth`` ((S+1,) int), ``longrange_state`` ((S+1,) bool) and ``symbol_group`` ((n,) int)."""

    automaton: Automaton

    def _finish_setup(self, state_depth=None, longrange_state=None, symbol_group=None):
        n_codes = self.automaton.end + 1
        self.first_dist = self.automaton.dist[self.automaton.start].copy()
        self.state_depth = np.zeros(n_codes, dtype=np.int64) if state_depth is None else np.asarray(state_depth)
        self.longrange_state = np.zeros(n_codes, bool) if longrange_state is None else np.asarray(longrange_state)
        self.symbol_group = np.full(self.n_symbols, -1) if symbol_group is None else np.asarray(symbol_group)

    @property
    def mean_length(self) -> float:
        return self.automaton.mean_length()

    @property
    def end_symbol(self) -> int | None:
        """The one symbol on the arcs into the end, or None where several symbols end strings."""
        a = self.automaton
        ends = np.unique(a.arc_symbol[np.isfinite(a.arc_cum) & (a.arc_to == a.end)])
        return int(ends[0]) if len(ends) == 1 else None

    def entropy_rate(self) -> float:
        """Exact entropy rate (nats/symbol) of the stream of strings laid end to end: the chain on
        the states after each symbol, where the end restarts at the start state's arcs."""
        a = self.automaton
        trans = np.vstack([a.trans, a.trans[a.start]])  # after the end, the next string starts
        return chain_entropy_rate(trans, entropy_nats(a.dist))

    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` strings end to end. ``state`` is the automaton state index after each
        symbol (``len(states)`` after a string's last symbol); ``deterministic`` marks states with
        a single way out."""
        symbols, state, lengths = self.automaton.walk(rng, n_strings)
        next_dist = self.automaton.dist[state]
        following = np.append(symbols[1:], 0)
        group = np.where(self.longrange_state[state], self.symbol_group[following], -1)
        return assemble(
            lengths, symbols, next_dist, state, self.state_depth[state], group,
            deterministic=(next_dist > 0).sum(1) == 1,
            alt=self._alternations(rng, next_dist, state, following, lengths),
        )

    def _alternations(self, rng, next_dist, state, following, lengths) -> np.ndarray:
        """Default critical alteration: a random position, a random illegal symbol."""
        return random_illegal_alt(rng, next_dist, lengths)


class Arc(GrammarBlock):
    """One transition of a user-defined finite-state grammar."""

    symbol: str = Field(min_length=1, max_length=32, description="symbol emitted when this transition is taken")
    to: str = Field(min_length=1, description="target state name, or 'end' to finish the string after this symbol")
    weight: float = Field(1.0, gt=0, le=1e6, description="relative weight; the weights leaving a state are normalised to probabilities")


class LongRange(GrammarBlock):
    """Which states test a long-range dependency, and the candidate groups of the next symbol."""

    groups: list[list[str]] = Field(min_length=2, description="candidate groups of symbols; the learner must put most mass on the right group")
    states: list[str] = Field(min_length=1, description="states after which the next symbol is scored against the groups")


class FsmParams(GrammarParams):
    """A finite-state grammar written in YAML."""

    start: str = Field(description="name of the state every string starts in")
    transitions: dict[str, list[Arc]] = Field(
        description="for each state name, its outgoing transitions [{symbol, to, weight}]; the target 'end' finishes the string; "
        "each symbol may leave a state only once, so the state after any prefix is known; with no 'end' anywhere (a purely "
        "cyclic automaton) each transition back to the start state finishes a string")
    long_range: LongRange | None = Field(None, description="optional {groups: [[symbols], ...], states: [names]}: long-range test positions")

    @model_validator(mode="after")
    def _check_machine(self):
        names = list(self.transitions)
        if not names:
            raise ValueError("transitions: no states given, so the alphabet is empty")
        if END in self.transitions:
            raise ValueError(f"transitions.{END}: '{END}' is the reserved finishing target and cannot have transitions")
        if self.start not in self.transitions:
            raise ValueError(f"start: unknown state '{self.start}' (states: {', '.join(names)})")
        for name, out in self.transitions.items():
            if not out:
                raise ValueError(f"transitions.{name}: state has no outgoing transitions")
            seen = set()
            for j, arc in enumerate(out):
                if arc.to != END and arc.to not in self.transitions:
                    raise ValueError(f"transitions.{name}.{j}.to: unknown target state '{arc.to}' (states: {', '.join(names)}, or '{END}')")
                if arc.symbol in seen:
                    raise ValueError(f"transitions.{name}.{j}.symbol: '{arc.symbol}' already leaves state '{name}'; "
                                     "each symbol may leave a state once, so the state after a prefix is known")
                seen.add(arc.symbol)
        cyclic = self.cyclic
        goal = self.start if cyclic else END
        finishing, grew = set(), True
        while grew:  # states that can reach the goal in one or more steps, grown backwards from it
            new = {n for n, out in self.transitions.items() if n not in finishing and any(a.to == goal or a.to in finishing for a in out)}
            finishing |= new
            grew = bool(new)
        stuck = [n for n in names if n not in finishing]
        if stuck:
            if cyclic:
                raise ValueError(f"transitions: state(s) {', '.join(stuck)} can never reach '{END}' (no transition goes there) "
                                 f"nor return to the start state '{self.start}', so their strings never finish")
            raise ValueError(f"transitions: state(s) {', '.join(stuck)} can never reach '{END}', so their strings never finish")
        if self.long_range is not None:
            self._check_long_range()
        return self

    @property
    def cyclic(self) -> bool:
        """No transition goes to 'end': each return to the start state finishes a string."""
        return not any(a.to == END for out in self.transitions.values() for a in out)

    def _check_long_range(self):
        alphabet = {a.symbol for out in self.transitions.values() for a in out}
        grouped = {}
        for g, members in enumerate(self.long_range.groups):
            if not members:
                raise ValueError(f"long_range.groups.{g}: group is empty")
            for sym in members:
                if sym not in alphabet:
                    raise ValueError(f"long_range.groups.{g}: '{sym}' is not a symbol of this grammar")
                if sym in grouped:
                    raise ValueError(f"long_range.groups.{g}: '{sym}' is already in group {grouped[sym]}; groups must not overlap")
                grouped[sym] = g
        for j, name in enumerate(self.long_range.states):
            if name not in self.transitions:
                raise ValueError(f"long_range.states.{j}: unknown state '{name}'")
            loose = [a.symbol for a in self.transitions[name] if a.symbol not in grouped]
            if loose:
                raise ValueError(f"long_range.states.{j}: state '{name}' can emit {', '.join(loose)}, which is in no group")


class Fsm(AutomatonGrammar):
    """User-defined finite-state grammar (``kind: fsm``).

    Alphabet: symbols in order of first appearance in ``transitions``. ``state``: index of the
    state in ``transitions`` order (``len(transitions)`` after a string's last symbol). A purely
    cyclic automaton (no transition to 'end') is read as if its transitions back to the start
    state went to 'end': strings are laid end to end from the start state either way, so the
    stream is the same and each return to the start state closes a string.
    Alteration: a random position and a random symbol of zero probability there.
    """

    Params = FsmParams

    def __init__(self, params: FsmParams):
        super().__init__(params)
        names = list(params.transitions)
        index = {name: i for i, name in enumerate(names)} | {END: len(names)}
        to = index | {params.start: len(names)} if params.cyclic else index
        self.symbols = tuple(dict.fromkeys(a.symbol for out in params.transitions.values() for a in out))
        sym_id = {s: i for i, s in enumerate(self.symbols)}
        arcs = [[(sym_id[a.symbol], to[a.to], a.weight) for a in params.transitions[n]] for n in names]
        self.automaton = Automaton(len(self.symbols), index[params.start], arcs)
        longrange_state, symbol_group = None, None
        if params.long_range is not None:
            self.groups = tuple(tuple(sym_id[s] for s in g) for g in params.long_range.groups)
            longrange_state = np.zeros(len(names) + 1, bool)
            longrange_state[[index[n] for n in params.long_range.states]] = True
            # after a string's end the next symbol leaves the start state, so it is tested as there
            longrange_state[len(names)] = longrange_state[index[params.start]]
            symbol_group = np.full(len(self.symbols), -1)
            for g, members in enumerate(self.groups):
                symbol_group[list(members)] = g
        self._finish_setup(longrange_state=longrange_state, symbol_group=symbol_group)
