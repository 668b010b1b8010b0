"""Grammars beyond finite state: counting (a^n b^n) and nesting (Dyck bracket languages).

These are the tasks of Deletang et al. (ICLR 2023): train on short strings, score on longer ones.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from experiments.worlds.grammar_base import Grammar, GrammarParams, GrammarString, assemble, chain_entropy_rate, entropy_nats, layout

MAX_MEAN_LENGTH = 1e6  # symbols; beyond this a stream of a few strings would not fit in memory


class AnBnParams(GrammarParams):
    """a^n b^n parameters."""

    min_n: int = Field(1, ge=1, le=10_000, description="smallest n (number of a's, and of b's) in a string")
    max_n: int = Field(10, ge=1, le=10_000, description="largest n; n is uniform on [min_n, max_n]")

    @model_validator(mode="after")
    def _check_range(self):
        if self.min_n > self.max_n:
            raise ValueError(f"min_n ({self.min_n}) must not exceed max_n ({self.max_n})")
        return self


class AnBn(Grammar):
    """Counting language a^n b^n E (``kind: anbn``), n uniform on [min_n, max_n].

    ``state``: 0 while reading a's, 1 while reading b's, 2 after E. ``depth``: a's read minus
    b's read. After k a's the chance of the first b is P(n = k | n >= k) under the uniform prior.
    Long-range test: groups ({b}, {E}) at every b, where the count says whether another b comes;
    those positions (and E, always followed by a) are deterministic. Alteration, chosen at random
    per string: E one step too early (instead of the last b) or one b too many (instead of E).
    """

    Params = AnBnParams
    symbols = ("a", "b", "E")
    groups = ((1,), (2,))
    length_generalization = True
    first_dist = np.array([1.0, 0.0, 0.0])

    @property
    def mean_length(self) -> float:
        return float(self.params.min_n + self.params.max_n + 1)

    def entropy_rate(self) -> float:
        """Exact entropy rate (nats/symbol) of strings laid end to end. Only the position after
        the k-th a is uncertain (another a or the first b); it occurs in a string with P(n >= k),
        so the stationary mean is that expected entropy per string over the mean length."""
        lo, hi = self.params.min_n, self.params.max_n
        k = np.arange(1, hi + 1)
        p_b = np.where(k >= lo, 1.0 / (hi - k + 1), 0.0)
        reached = (hi - np.maximum(k, lo) + 1) / (hi - lo + 1)
        return float(reached @ entropy_nats(np.column_stack([p_b, 1.0 - p_b])) / self.mean_length)

    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` strings a^n b^n E end to end."""
        lo, hi = self.params.min_n, self.params.max_n
        n = rng.integers(lo, hi + 1, size=n_strings)
        lengths = 2 * n + 1
        sid, pos, _ = layout(lengths)
        m = n[sid]
        in_a, in_b = pos < m, (pos >= m) & (pos < 2 * m)
        symbols = np.where(in_a, 0, np.where(in_b, 1, 2))
        read_a = pos + 1
        p_b = np.where(read_a >= lo, 1.0 / np.maximum(hi - read_a + 1, 1), 0.0)
        more_b = pos + 1 < 2 * m  # after this b another b follows
        next_dist = np.zeros((len(pos), 3))
        next_dist[in_a, 0], next_dist[in_a, 1] = 1.0 - p_b[in_a], p_b[in_a]
        next_dist[in_b, 1], next_dist[in_b, 2] = more_b[in_b], ~more_b[in_b]
        next_dist[~in_a & ~in_b] = self.first_dist
        early = rng.random(n_strings) < 0.5
        starts = np.cumsum(lengths) - lengths
        alt = np.full(len(pos), -1, dtype=np.int64)
        alt[starts + np.where(early, 2 * n - 2, 2 * n - 1)] = np.where(early, 2, 1)
        return assemble(
            lengths, symbols, next_dist,
            state=np.where(in_a, 0, np.where(in_b, 1, 2)),
            depth=np.where(in_a, pos + 1, np.where(in_b, 2 * m - pos - 1, 0)),
            group=np.where(in_b, np.where(more_b, 0, 1), -1),
            deterministic=~in_a, alt=alt,
        )


def dyck_mean_length(p_open: float, p_end: float, max_depth: int) -> float:
    """Expected Dyck string length in symbols (end marker included)."""
    # steps[d]: expected steps to go from depth d back to d - 1; at max_depth the top must close,
    # below it: steps = 1 + p_open * (steps[d + 1] + steps[d])
    steps = 1.0
    for _ in range(max_depth - 1):
        steps = (1.0 + p_open * steps) / (1.0 - p_open)
    # each excursion from the empty stack is one opening plus steps[1]; their number is geometric
    return float((1.0 + steps) / p_end + 1.0)


class DyckParams(GrammarParams):
    """Dyck language parameters."""

    n_types: int = Field(2, ge=1, le=8, description="number of bracket types")
    max_depth: int = Field(8, ge=1, le=64, description="largest stack depth; at this depth the top bracket must close")
    p_open: float = Field(0.4, ge=0, lt=1, description="probability of opening another bracket when 0 < depth < max_depth (else the top one closes)")
    p_end: float = Field(0.5, gt=0, le=1, description="probability that the string ends whenever the stack is empty (at least one pair per string)")

    @model_validator(mode="after")
    def _check_length(self):
        mean = dyck_mean_length(self.p_open, self.p_end, self.max_depth)
        if not np.isfinite(mean) or mean > MAX_MEAN_LENGTH:
            raise ValueError(f"p_open={self.p_open} with max_depth={self.max_depth} and p_end={self.p_end} gives an expected "
                             f"string length of {mean:.3g} symbols (limit {MAX_MEAN_LENGTH:.0e}); lower p_open or max_depth")
        return self


_OPEN, _CLOSE = "([{<", ")]}>"


class Dyck(Grammar):
    """Dyck-k bracket language (``kind: dyck``) with end marker E, sampled as a Markov process on
    the stack, so ``next_dist`` is exact.

    Symbols: k opening brackets, k closing brackets, E. ``depth``: stack depth; ``state``: type
    of the bracket on top of the stack + 1 (0 when empty). Long-range test: one group per closing
    type, marked where the next symbol closes. ``deterministic`` only after E when k = 1 (the
    language never fixes the next symbol otherwise; the forced close at max_depth is a prior).
    Alteration: at the close with the longest span in the string, a closing bracket of another
    type (k >= 2) or E (k = 1).
    """

    Params = DyckParams
    length_generalization = True

    def __init__(self, params: DyckParams):
        super().__init__(params)
        k = params.n_types
        opens = [_OPEN[i] if i < len(_OPEN) else f"o{i}" for i in range(k)]
        closes = [_CLOSE[i] if i < len(_CLOSE) else f"c{i}" for i in range(k)]
        self.symbols = (*opens, *closes, "E")
        self.groups = tuple((k + i,) for i in range(k))
        self.first_dist = np.r_[np.full(k, 1.0 / k), np.zeros(k + 1)]

    @property
    def mean_length(self) -> float:
        return dyck_mean_length(self.params.p_open, self.params.p_end, self.params.max_depth)

    def entropy_rate(self) -> float:
        """Exact entropy rate (nats/symbol) of strings laid end to end, from the chain on the
        stack depth (0..max_depth, then E): which brackets are open changes which symbol closes,
        not how uncertain the next symbol is or where the depth goes."""
        k, cap, p_open, p_end = self.params.n_types, self.params.max_depth, self.params.p_open, self.params.p_end
        end = cap + 1
        trans, dist = np.zeros((end + 1, end + 1)), np.zeros((end + 1, k + 1))  # dist: k opens, then the close/E
        trans[0, 1], trans[0, end], dist[0] = 1.0 - p_end, p_end, np.r_[np.full(k, (1.0 - p_end) / k), p_end]
        for d in range(1, cap):
            trans[d, d + 1], trans[d, d - 1], dist[d] = p_open, 1.0 - p_open, np.r_[np.full(k, p_open / k), 1.0 - p_open]
        trans[cap, cap - 1], dist[cap, k] = 1.0, 1.0
        trans[end, 1], dist[end] = 1.0, np.r_[np.full(k, 1.0 / k), 0.0]
        return chain_entropy_rate(trans, entropy_nats(dist))

    def _walk(self, rng: np.random.Generator, n_strings: int):
        """Run all strings' stacks in parallel; returns per-position arrays ordered string by string."""
        k, cap, p_open, p_end = self.params.n_types, self.params.max_depth, self.params.p_open, self.params.p_end
        stack = np.zeros((n_strings, cap), dtype=np.int64)
        opened_at = np.zeros((n_strings, cap), dtype=np.int64)
        depth = np.zeros(n_strings, dtype=np.int64)
        paired = np.zeros(n_strings, bool)
        alive, step, rec = np.arange(n_strings), 0, []
        while alive.size:
            d, u = depth[alive], rng.random(alive.size)
            kind = rng.integers(k, size=alive.size)
            empty = d == 0
            ends = empty & paired[alive] & (u < p_end)
            opens = (empty & ~ends) | (~empty & (d < cap) & (u < p_open))
            closes = ~empty & ~opens
            sym = np.full(alive.size, 2 * k)
            span = np.full(alive.size, -1)
            w = alive[opens]
            stack[w, depth[w]], opened_at[w, depth[w]] = kind[opens], step
            depth[w] += 1
            sym[opens] = kind[opens]
            w = alive[closes]
            depth[w] -= 1
            sym[closes] = k + stack[w, depth[w]]
            span[closes] = step - opened_at[w, depth[w]]
            paired[w] = True
            after = depth[alive]
            top = np.where(after > 0, stack[alive, np.maximum(after - 1, 0)], -1)
            rec.append((alive, sym, after, top, span, np.full(alive.size, step)))
            alive, step = alive[~ends], step + 1
        who = np.concatenate([r[0] for r in rec])
        order = np.argsort(who, kind="stable")
        cols = [np.concatenate([r[i] for r in rec])[order] for i in range(1, 6)]
        return (*cols, np.bincount(who, minlength=n_strings))

    def sample_many(self, rng: np.random.Generator, n_strings: int) -> GrammarString:
        """``n_strings`` balanced bracket strings, each followed by E, end to end."""
        k, cap, p_open, p_end = self.params.n_types, self.params.max_depth, self.params.p_open, self.params.p_end
        symbols, depth, top, span, pos, lengths = self._walk(rng, n_strings)
        ended = symbols == 2 * k
        rows = np.arange(len(symbols))
        next_dist = np.zeros((len(symbols), 2 * k + 1))
        at0 = (depth == 0) & ~ended
        next_dist[at0, :k], next_dist[at0, 2 * k] = (1.0 - p_end) / k, p_end
        inner = (depth > 0) & (depth < cap)
        next_dist[inner, :k] = p_open / k
        next_dist[rows[inner], k + top[inner]] = 1.0 - p_open
        full = depth == cap
        next_dist[rows[full], k + top[full]] = 1.0
        next_dist[ended] = self.first_dist
        following = np.append(symbols[1:], 0)
        closing_next = (following >= k) & (following < 2 * k)
        # the critical close: the one whose bracket stayed open longest; ties -> the earliest
        sid = np.repeat(np.arange(n_strings), lengths)
        order = np.lexsort((-pos, span, sid))
        crit = order[np.flatnonzero(np.r_[sid[order][1:] != sid[order][:-1], True])]
        alt = np.full(len(symbols), -1, dtype=np.int64)
        if k >= 2:
            alt[crit - 1] = k + (symbols[crit] - k + rng.integers(1, k, size=len(crit))) % k
        else:
            alt[crit - 1] = 2 * k
        return assemble(
            lengths, symbols, next_dist, state=top + 1, depth=depth,
            group=np.where(closing_next, following - k, -1),
            deterministic=ended & (k == 1), alt=alt,
        )
