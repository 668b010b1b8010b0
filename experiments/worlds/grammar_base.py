"""Shared pieces of the grammar worlds: the annotated string container and the base class.

Every grammar samples whole strings and annotates every position with the exact distribution of
the next symbol under the grammar's own parameters, so a learner can be scored against the
optimal predictor rather than against the noisy sampled symbol alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FIELDS = ("symbols", "next_dist", "state", "depth", "group", "deterministic", "alt", "string_id", "string_len", "voice")

#: ``state`` code of the positions of a distractor string (no grammar state describes them)
DISTRACTOR_STATE = -2


class GrammarBlock(BaseModel):
    """Base for every block of grammar parameters (a world's own and nested ones): frozen,
    strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GrammarParams(GrammarBlock):
    """Base of every grammar world's parameters: the keys all grammars share."""

    distractors: float = Field(0.0, ge=0.0, le=0.9, description=(
        "fraction of the stream's strings that are distractors, another species' calls in the same alphabet (uniform "
        "symbols, then the end symbol; the README's voice gate section), tagged voice 0; scored against their own "
        "distribution. 0: the grammar's own strings only (give test phases a variant with 0)"))


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
    - ``voice (L,) bool``: the source of the position's string: True for the grammar's own
      (conspecific) strings, False for distractors (``GrammarParams.distractors``). Optional when
      building one: all True.
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
    voice: np.ndarray | None = None

    def __post_init__(self):
        if self.voice is None:  # frozen: set once, here
            object.__setattr__(self, "voice", np.ones(len(self.symbols), bool))
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

    # ------------------------------------------------------------------ distractors (other voices)
    @property
    def end_symbol(self) -> int | None:
        """The symbol that ends every string (the shipped grammars call it ``E``), or None where
        strings do not all end with one symbol (then distractors cannot be made; config refuses them)."""
        return self.symbols.index("E") if "E" in self.symbols else None

    def distractor_end_rate(self) -> float:
        """h: after each symbol of a distractor's body, the chance that the end symbol comes next.
        Bodies are geometric (at least one symbol), so a distractor's mean length, end symbol
        included, 1 + 1 / h, is the grammar's ``mean_length`` (h = 1 where that is 2 or less)."""
        return 1.0 / max(self.mean_length - 1.0, 1.0)

    def boundary_dist(self) -> np.ndarray:
        """Exact distribution of a string's first symbol in a stream with distractors: the next
        string is the grammar's own with probability 1 - f, a distractor with f (not yet known)."""
        f, body = self.params.distractors, self._body_symbols()
        uniform = np.zeros(self.n_symbols)
        uniform[body] = 1.0 / len(body)
        return (1.0 - f) * np.asarray(self.first_dist, float) + f * uniform

    def _body_symbols(self) -> np.ndarray:
        return np.array([i for i in range(self.n_symbols) if i != self.end_symbol], np.int64)

    def sample_distractors(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` distractor strings end to end (``voice`` False): a body of symbols drawn
        uniformly from all but the end symbol, geometric in length (:meth:`distractor_end_rate`),
        then the end symbol. ``next_dist`` is their own exact distribution (after a body symbol:
        the end with h, each other symbol (1 - h) / (n - 1)), and :meth:`boundary_dist` after the
        end. ``state`` is DISTRACTOR_STATE; no depth, group, alteration; deterministic nowhere
        (but where h = 1, before the end)."""
        end, body, h = self.end_symbol, self._body_symbols(), self.distractor_end_rate()
        if end is None:
            raise ValueError(f"{type(self).__name__} strings do not all end with one symbol: no distractors")
        lengths = rng.geometric(h, n_strings) + 1 if n_strings else np.zeros(0, np.int64)
        sid, pos, slen = layout(lengths)
        last = pos == slen - 1
        symbols = np.where(last, end, body[rng.integers(0, len(body), len(sid))])
        in_body = np.zeros(self.n_symbols)
        in_body[body] = (1.0 - h) / len(body)
        in_body[end] = h
        next_dist = np.where(last[:, None], self.boundary_dist(), in_body)
        zeros = np.zeros(len(sid), np.int64)
        out = assemble(lengths, symbols, next_dist, np.full(len(sid), DISTRACTOR_STATE), zeros, zeros - 1,
                       (next_dist > 0).sum(1) == 1, zeros - 1)
        return GrammarString(**{name: getattr(out, name) for name in FIELDS if name != "voice"},
                             voice=np.zeros(len(sid), bool))

    def sample_mixed(self, rng: np.random.Generator, distractor_rng: np.random.Generator,
                     n_strings: int) -> GrammarString:
        """``n_strings`` strings end to end, each a distractor with probability
        ``params.distractors`` (drawn, with the distractors themselves, from ``distractor_rng``)
        and otherwise the grammar's own (from ``rng``, which thus draws exactly what
        ``sample_many(rng, m)`` would for the m own strings). Every string's last position
        predicts the next string's first symbol with :meth:`boundary_dist`. With no distractors
        this is ``sample_many(rng, n_strings)`` and ``distractor_rng`` is not used."""
        if self.params.distractors == 0:
            return self.sample_many(rng, n_strings)
        is_call = distractor_rng.random(n_strings) < self.params.distractors
        n_calls = int(is_call.sum())
        parts = [p for p in (self.sample_many(rng, n_strings - n_calls) if n_calls < n_strings else None,
                             self.sample_distractors(distractor_rng, n_calls) if n_calls else None) if p is not None]
        both = GrammarString.concat(parts)
        # string s of ``both`` (own strings first, then the calls) goes where its kind's next slot is
        source = np.empty(n_strings, np.int64)
        source[~is_call] = np.arange(n_strings - n_calls)
        source[is_call] = n_strings - n_calls + np.arange(n_calls)
        lengths = np.bincount(both.string_id, minlength=n_strings)
        starts = np.cumsum(lengths) - lengths
        sid, pos, _ = layout(lengths[source])
        order = starts[source][sid] + pos
        arrays = {name: getattr(both, name)[order] for name in FIELDS}
        arrays["string_id"] = sid
        last = pos == arrays["string_len"] - 1
        dist = arrays["next_dist"].copy()
        dist[last] = self.boundary_dist()
        arrays["next_dist"] = dist
        arrays["deterministic"] = np.where(last, (dist > 0).sum(1) == 1, arrays["deterministic"])
        return GrammarString(**arrays)

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
