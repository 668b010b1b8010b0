"""The Reber grammar and the embedded Reber grammar (Cleeremans et al. 1989; Hochreiter &
Schmidhuber 1997, experiment 1)."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from experiments.worlds.grammar_base import GrammarParams
from experiments.worlds.grammar_fsm import Automaton, AutomatonGrammar

REBER_SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")
_B, _T, _P, _S, _X, _V, _E = range(7)
# state -> ((symbol, target), ...); the first pair of each fork is the "first branch"; 7 = end
_REBER = {
    0: ((_B, 1),),
    1: ((_T, 2), (_P, 3)),
    2: ((_S, 2), (_X, 4)),
    3: ((_T, 3), (_V, 5)),
    4: ((_X, 3), (_S, 6)),
    5: ((_P, 4), (_V, 6)),
    6: ((_E, 7),),
}


def reber_arcs(p_first: float, offset: int, exit_state: int) -> list[list[tuple[int, int, float]]]:
    """Arcs of the 7 Reber states renumbered from ``offset``; the final E leads to ``exit_state``."""
    arcs = []
    for s in range(7):
        out = _REBER[s]
        probs = (1.0,) if len(out) == 1 else (p_first, 1.0 - p_first)
        arcs.append([(sym, exit_state if to == 7 else to + offset, p) for (sym, to), p in zip(out, probs)])
    return arcs


class ReberParams(GrammarParams):
    """Reber grammar parameters."""

    p_first: float = Field(0.5, gt=0, lt=1, description="probability of the first branch at each fork "
                           "(T after B, S in state 2, T in state 3, X in state 4, P in state 5); 0.5 in Cleeremans et al. 1989")


class Reber(AutomatonGrammar):
    """Reber grammar (``kind: reber``): states 0..6 as in Cleeremans et al. 1989, e.g. BTSSXXTVVE.

    ``state``: Reber state 0..6 after each symbol, 7 after the final E. No long-range groups.
    Alteration: a random position and a random symbol of zero probability there.
    """

    Params = ReberParams
    symbols = REBER_SYMBOLS

    def __init__(self, params: ReberParams):
        super().__init__(params)
        self.automaton = Automaton(len(self.symbols), 0, reber_arcs(params.p_first, 0, 7))
        self._finish_setup()


class EmbeddedReberParams(GrammarParams):
    """Embedded Reber grammar parameters."""

    p_first: float = Field(0.5, gt=0, lt=1, description="probability of the first branch at each fork of the inner Reber string")
    p_outer_t: float = Field(0.5, gt=0, lt=1, description="probability that the outer branch is T (else P); "
                             "the same symbol must come back second-to-last")
    n_inner: int = Field(1, ge=1, le=16, description="number of full inner Reber strings, one after another, that the "
                         "outer T|P must be carried across (1: the embedded Reber grammar of Hochreiter & Schmidhuber 1997); "
                         "each adds about 8 symbols to the span")


class EmbeddedReber(AutomatonGrammar):
    """Embedded Reber grammar (``kind: embedded_reber``): B, T|P, ``n_inner`` full Reber strings,
    the same T|P, E (e.g. BTBPVPSETE with one inner string, BTBPVPSEBTXSEPE with two).

    States, with m = 7 * n_inner: 0 start, 1 after B, 2..m+1 the inner Reber states of the T
    branch (inner string j's state s is 2 + 7j + s), m+2..2m+1 those of the P branch, 2m+2 / 2m+3
    after the last inner E (T/P branch), 2m+4 after the second T|P, 2m+5 after the final E (with
    one inner string: 2..8, 9..15, 16/17, 18, 19).
    ``depth`` is 1 from the outer T|P through the last inner E, else 0.
    Long-range test: groups ({T}, {P}), marked after the last inner E, whose next symbol must
    repeat the outer branch. Alteration: that second-to-last symbol swapped (T <-> P).
    """

    Params = EmbeddedReberParams
    symbols = REBER_SYMBOLS
    groups = ((_T,), (_P,))

    def __init__(self, params: EmbeddedReberParams):
        super().__init__(params)
        p, m = params.p_first, 7 * params.n_inner
        tail_t, tail_p = 2 * m + 2, 2 * m + 3
        last, end = tail_p + 1, tail_p + 2
        arcs = [[(_B, 1, 1.0)], [(_T, 2, params.p_outer_t), (_P, 2 + m, 1.0 - params.p_outer_t)]]
        for first, tail in ((2, tail_t), (2 + m, tail_p)):
            for j in range(params.n_inner):  # inner string j's E starts string j + 1, the last one's the tail
                offset = first + 7 * j
                arcs += reber_arcs(p, offset, tail if j == params.n_inner - 1 else offset + 7)
        arcs += [[(_T, last, 1.0)], [(_P, last, 1.0)], [(_E, end, 1.0)]]
        self.automaton = Automaton(len(self.symbols), 0, arcs)
        depth = np.zeros(end + 1, dtype=np.int64)
        depth[2:last] = 1
        longrange = np.zeros(end + 1, bool)
        longrange[[tail_t, tail_p]] = True
        symbol_group = np.full(len(self.symbols), -1)
        symbol_group[[_T, _P]] = [0, 1]
        self._finish_setup(state_depth=depth, longrange_state=longrange, symbol_group=symbol_group)

    def _alternations(self, rng, next_dist, state, following, lengths) -> np.ndarray:
        # the critical symbol is the second-to-last one: swap T and P there
        alt = np.full(len(state), -1, dtype=np.int64)
        at = self.longrange_state[state]
        alt[at] = np.where(following[at] == _T, _P, _T)
        return alt
