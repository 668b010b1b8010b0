"""Shared pieces of the grammar worlds: the annotated string container and the base class.

Every grammar samples whole strings and annotates every position with the exact distribution of
the next symbol under the grammar's own parameters, so a learner can be scored against the
optimal predictor rather than against the noisy sampled symbol alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from pydantic import BaseModel, ConfigDict

FIELDS = ("symbols", "next_dist", "state", "depth", "group", "deterministic", "alt", "string_id", "string_len")


class GrammarParams(BaseModel):
    """Base for grammar parameter blocks: frozen, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class GrammarString:
    """One or more strings laid end to end, annotated position by position.

    All arrays have the same length L (symbols, end markers included). Row ``i`` describes the
    situation right after symbol ``i`` has been seen. Arrays are read-only.

    - ``symbols (L,) int``: symbol ids (index into the grammar's ``symbols``).
    - ``next_dist (L, n) float``: exact P(symbol i+1 | symbols up to i). At a string's last
      position it is the grammar's ``first_dist`` (strings are concatenated into one stream).
    - ``state (L,) int``: latent grammar state code after symbol i (see each grammar).
    - ``depth (L,) int``: counter value, stack depth or embedding depth after symbol i.
    - ``group (L,) int``: where symbol i+1 tests a long-range dependency, the index into the
      grammar's ``groups`` of the group holding it; -1 elsewhere.
    - ``deterministic (L,) bool``: the language itself (not a length or depth prior) fixes
      symbol i+1 given the prefix.
    - ``alt (L,) int``: at one position per string (where the grammar has one), a symbol that,
      put at i+1 instead of the true one, makes the string minimally ungrammatical; -1 elsewhere.
    - ``string_id (L,) int`` and ``string_len (L,) int``: which string a position belongs to,
      and that string's length in symbols.
    """

    symbols: np.ndarray
    next_dist: np.ndarray
    state: np.ndarray
    depth: np.ndarray
    group: np.ndarray
    deterministic: np.ndarray
    alt: np.ndarray
    string_id: np.ndarray
    string_len: np.ndarray

    def __post_init__(self):
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"GrammarString arrays differ in length: {lengths}")
        for f in fields(self):
            getattr(self, f.name).flags.writeable = False

    def __len__(self) -> int:
        return len(self.symbols)

    def __getitem__(self, index: slice) -> GrammarString:
        """Positions ``index`` (a slice) of every array, as a new GrammarString."""
        if not isinstance(index, slice):
            raise TypeError("GrammarString supports slices only, e.g. stream[1000:2000]")
        return GrammarString(**{name: getattr(self, name)[index] for name in FIELDS})

    def next_symbols(self) -> np.ndarray:
        """The true symbol after each position, (L,) int; -1 after the last (not yet generated)."""
        return np.append(self.symbols[1:], -1)

    @classmethod
    def concat(cls, parts: list[GrammarString], renumber: bool = True) -> GrammarString:
        """Lay ``parts`` end to end.

        With ``renumber`` each part's string ids are shifted past the previous part's, so
        consecutive strings never share an id (the sequence scorer relies on that). Use
        ``renumber=False`` to rejoin slices of one stream.
        """
        ids, next_free = [], 0
        for part in parts:
            sid = part.string_id
            if renumber and len(sid):
                sid = sid - sid.min() + next_free
                next_free = int(sid.max()) + 1
            ids.append(sid)
        merged = {name: np.concatenate([getattr(p, name) for p in parts]) for name in FIELDS if name != "string_id"}
        return cls(string_id=np.concatenate(ids), **merged)


class Grammar:
    """Base class of the grammar worlds. Subclasses set the attributes below and ``sample_many``.

    Attributes: ``symbols`` (alphabet; index = symbol id), ``groups`` (long-range candidate
    groups as tuples of symbol ids; empty if the grammar has no long-range test), ``first_dist``
    (exact distribution of a string's first symbol), ``length_generalization`` (whether the
    grammar is meant to be tested on strings longer than those trained on).
    """

    Params: type[GrammarParams] = GrammarParams
    length_generalization: bool = False
    phase_length = "strings"  # phases of grammar worlds are measured in strings
    symbols: tuple[str, ...] = ()
    groups: tuple[tuple[int, ...], ...] = ()
    first_dist: np.ndarray

    def __init__(self, params: GrammarParams):
        self.params = params

    @property
    def n_symbols(self) -> int:
        """Alphabet size."""
        return len(self.symbols)

    @property
    def mean_length(self) -> float:
        """Expected string length in symbols (end marker included) under these parameters."""
        raise NotImplementedError

    def entropy_rate(self) -> float | None:
        """Exact entropy rate of the stream (nats/symbol): the stationary mean of H(next symbol |
        state), strings laid end to end as ``sample_stream`` lays them (the boundary position,
        which predicts the next string's first symbol, counts). None where not computed."""
        return None

    def sample(self, rng: np.random.Generator) -> GrammarString:
        """One string, annotated (see GrammarString)."""
        return self.sample_many(rng, 1)

    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` independent strings laid end to end, with ``string_id`` 0..n_strings-1."""
        raise NotImplementedError

    def sample_stream(self, rng: np.random.Generator, n_symbols: int) -> GrammarString:
        """Whole strings, end to end, until at least ``n_symbols`` symbols (ids numbered from 0)."""
        parts, total = [], 0
        while total < n_symbols:
            part = self.sample_many(rng, max(1, math.ceil((n_symbols - total) / self.mean_length)))
            parts.append(part)
            total += len(part)
        return GrammarString.concat(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


def entropy_nats(dist: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row of ``dist`` (..., n)."""
    dist = np.asarray(dist, dtype=float)
    return -(dist * np.log(np.where(dist > 0, dist, 1.0))).sum(-1)


def chain_entropy_rate(trans: np.ndarray, entropy: np.ndarray) -> float:
    """Entropy rate (nats/symbol) of a symbol stream driven by a Markov chain on its states.

    ``trans`` (S, S): P(state after the next symbol | state now), rows summing to 1; the chain
    must have a single recurrent class (true of string grammars, whose strings all end and
    restart). ``entropy`` (S,): H(next symbol | state) in nats. Returns sum_s pi(s) entropy(s),
    pi the stationary distribution.
    """
    trans = np.asarray(trans, dtype=float)
    n = len(trans)
    # pi (P - I) = 0 with sum(pi) = 1: one balance equation is redundant, swap it for the sum
    a = trans.T - np.eye(n)
    a[-1] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    return float(pi @ np.asarray(entropy, dtype=float))


def layout(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For strings of ``lengths``: per position its string index, its position in the string,
    and the string's length, each (sum(lengths),) int."""
    lengths = np.asarray(lengths, dtype=np.int64)
    sid = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return sid, np.arange(len(sid)) - starts[sid], lengths[sid]


def assemble(lengths, symbols, next_dist, state, depth, group, deterministic, alt) -> GrammarString:
    """Build a GrammarString from per-position arrays of strings with the given ``lengths``."""
    sid, _, slen = layout(lengths)
    as_int = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
    return GrammarString(
        symbols=as_int(symbols), next_dist=np.asarray(next_dist, dtype=float), state=as_int(state),
        depth=as_int(depth), group=as_int(group), deterministic=np.asarray(deterministic, dtype=bool),
        alt=as_int(alt), string_id=sid, string_len=slen,
    )


def pick_one_per_string(rng: np.random.Generator, candidate: np.ndarray, string_id: np.ndarray) -> np.ndarray:
    """Indices of one uniformly chosen candidate position per string (strings without one skipped)."""
    keys = np.where(candidate, rng.random(len(candidate)), -1.0)
    order = np.lexsort((keys, string_id))
    ends = np.flatnonzero(np.r_[string_id[order][1:] != string_id[order][:-1], True])
    chosen = order[ends]  # the largest key of each string
    return chosen[keys[chosen] >= 0]


def random_illegal_alt(rng: np.random.Generator, next_dist: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """alt array for regular grammars: in each string a random position (not the last) gets a
    random symbol of zero probability there; strings where every symbol is always legal get none."""
    sid, pos, slen = layout(lengths)
    illegal = next_dist == 0
    where = pick_one_per_string(rng, (pos < slen - 1) & illegal.any(1), sid)
    alt = np.full(len(sid), -1, dtype=np.int64)
    # random keys above 1 on illegal symbols, 0 on legal ones: the argmax is a uniform illegal pick
    keys = np.where(illegal[where], 1.0 + rng.random((len(where), next_dist.shape[1])), 0.0)
    alt[where] = keys.argmax(1)
    return alt
