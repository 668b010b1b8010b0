"""Sequence-learning metrics, accumulated online so memory stays bounded over long phases.

A learner's predicted next-symbol distribution is scored against the grammar's exact one
(``GrammarString.next_dist``) and against the symbol that actually came. All values are in
nats (natural log) or fractions. A uniform predictor is scored alongside on the same stream,
so every metric comes with its chance level.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

FLOOR = 1e-12  # probabilities are clipped here before logs
TIE_RTOL = 1e-9  # scores this close to the best count as tied (sums of equal masses differ by rounding)
SUM_TOL = 1e-4  # predicted rows must sum to 1 within this


class _Tally:
    """Per-replica running sums behind each metric."""

    NAMES = ("kl", "legal", "n_pos", "ce", "opt_ce", "acc", "n_known", "lr", "n_lr", "gap", "pair", "n_gap", "lg_ok", "n_lg", "st_ok", "n_st")

    def __init__(self, n_replicas: int):
        for name in self.NAMES:
            setattr(self, name, np.zeros(n_replicas))

    def metrics(self, with_groups: bool, with_length: bool) -> dict[str, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "kl_to_optimal": self.kl / self.n_pos,
                "legal_mass": self.legal / self.n_pos,
                "cross_entropy": self.ce / self.n_known,
                "optimal_cross_entropy": self.opt_ce / self.n_known,
                "accuracy": self.acc / self.n_known,
                "surprisal_gap": self.gap / self.n_gap,
                "pair_accuracy": self.pair / self.n_gap,
                "strict_correct": self.st_ok / self.n_st,
            }
            if with_groups:
                out["longrange_accuracy"] = self.lr / self.n_lr
            if with_length:
                out["length_generalization"] = self.lg_ok / self.n_lg
        return out


def _best(scores: np.ndarray) -> np.ndarray:
    """Mask of the entries tied for the largest score along the last axis."""
    top = scores.max(-1, keepdims=True)
    return scores >= top - TIE_RTOL * np.abs(top)


def _pick(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, index[..., None], -1)[..., 0]


def _exact_terms(q, true, known) -> dict[str, np.ndarray]:
    """What the exact distribution ``q`` (K, T, n) alone fixes: shared by the learner and chance."""
    legal = q > 0
    logq = np.log(np.where(legal, q, 1.0))
    t = np.where(known, true, 0)
    return {"legal": legal, "t": t, "neg_entropy": (q * logq).sum(-1), "opt_ce": -_pick(logq, t), "det_symbol": q.argmax(-1)}


def _finish(terms: dict, group, det) -> dict:
    # length generalisation needs every tested position right (ties count as wrong)
    terms["bad"] = ((group >= 0) & ~terms["lr_ok"]) | (det & ~terms["det_ok"])
    return terms


def _prefers(p_true: np.ndarray, p_alt: np.ndarray) -> np.ndarray:
    """1 where the true symbol gets more probability than the alternative, 0 where less, 1/2 on a
    tie (within TIE_RTOL, as in ``_best``): one minimal pair's score."""
    top = np.maximum(p_true, p_alt)
    tie = np.abs(p_true - p_alt) <= TIE_RTOL * top
    return np.where(tie, 0.5, (p_true > p_alt).astype(float))


def _separates(p: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(K, T) bool: every legal symbol gets more probability than every illegal one (the 1997 LSTM
    paper's "the output units of the possible next symbols are the most active ones")."""
    lowest_legal = np.where(legal, p, np.inf).min(-1)
    highest_illegal = np.where(legal, -np.inf, p).max(-1)
    return lowest_legal > highest_illegal


def _model_terms(p, q, exact, alt, group, det, member) -> dict[str, np.ndarray]:
    """Per-position scores of predictor ``p`` (K, T, n) against the exact ``q``; all (K, T)."""
    logp = np.log(np.maximum(p, FLOOR))
    t = exact["t"]
    best = _best(p)
    n_best = best.sum(-1)
    logp_true = _pick(logp, t)
    terms = {
        "kl": exact["neg_entropy"] - (q * logp).sum(-1),
        "legal": (p * exact["legal"]).sum(-1),
        "ce": -logp_true,
        # a tie among k symbols scores 1/k, so the uniform predictor's accuracy is exactly 1/n
        "acc": _pick(best, t) / n_best,
        "gap": logp_true - _pick(logp, np.maximum(alt, 0)),
        "pair": _prefers(_pick(p, t), _pick(p, np.maximum(alt, 0))),
        # deterministic positions: the one symbol the language allows must be the unique argmax
        "det_ok": _pick(best, exact["det_symbol"]) & (n_best == 1),
        "lr": np.zeros(t.shape),
        "lr_ok": np.zeros(t.shape, bool),
        "strict_ok": _separates(p, exact["legal"]),
    }
    if member is not None:
        g = np.maximum(group, 0)
        gbest = _best(p @ member.T)
        n_gbest = gbest.sum(-1)
        terms["lr"] = _pick(gbest, g) / n_gbest
        terms["lr_ok"] = _pick(gbest, g) & (n_gbest == 1)
    return _finish(terms, group, det)


def _uniform_terms(n: int, exact, group, det, member) -> dict[str, np.ndarray]:
    """The same scores for the uniform predictor, in closed form (no (K, T, n) work)."""
    shape = group.shape
    terms = {
        "kl": exact["neg_entropy"] + np.log(n),
        "legal": exact["legal"].sum(-1) / n,
        "ce": np.full(shape, np.log(n)),
        "acc": np.full(shape, 1.0 / n),
        "gap": np.zeros(shape),
        "pair": np.full(shape, 0.5),  # true and alt tie
        "det_ok": np.zeros(shape, bool),  # n >= 2 symbols all tie
        "lr": np.zeros(shape),
        "lr_ok": np.zeros(shape, bool),
        "strict_ok": exact["legal"].all(-1),  # all tie: separated only where every symbol is legal
    }
    if member is not None:
        # a group's uniform mass is its size over n: the largest groups tie
        size = member.sum(1)
        biggest = size == size.max()
        g = np.maximum(group, 0)
        terms["lr"] = biggest[g] / biggest.sum()
        terms["lr_ok"] = biggest[g] & (biggest.sum() == 1)
    return _finish(terms, group, det)


def _add_positions(tally: _Tally, terms: dict, exact: dict, active, known, marked, altered) -> None:
    tally.kl += np.where(active, terms["kl"], 0).sum(1)
    tally.legal += np.where(active, terms["legal"], 0).sum(1)
    tally.n_pos += active.sum(1)
    tally.ce += np.where(known, terms["ce"], 0).sum(1)
    tally.opt_ce += np.where(known, exact["opt_ce"], 0).sum(1)
    tally.acc += np.where(known, terms["acc"], 0).sum(1)
    tally.n_known += known.sum(1)
    tally.lr += np.where(marked, terms["lr"], 0).sum(1)
    tally.n_lr += marked.sum(1)
    tally.gap += np.where(altered, terms["gap"], 0).sum(1)
    tally.pair += np.where(altered, terms["pair"], 0).sum(1)
    tally.n_gap += altered.sum(1)


_RECORD_DTYPES = {"replica": np.int64, "string_id": np.int64, "string_len": np.int64, "cross_entropy": float,
                  "kl": float, "longrange_correct": float, "all_correct": bool}
# per-position features summed over each string; indices into the last axis below
_F = ("count", "known", "ce", "kl", "n_lr", "lr", "bad", "bad_chance", "strict_bad", "strict_bad_chance")
_COL = {name: i for i, name in enumerate(_F)}


class _OpenStrings:
    """Sums features over whole strings that may span several chunks; yields completed ones."""

    def __init__(self, n_replicas: int):
        self.open = np.zeros(n_replicas, bool)
        self.id = np.zeros(n_replicas, np.int64)
        self.sums = np.zeros((n_replicas, len(_F)))

    def add(self, string_id, string_len, active, feats):
        """Returns (replica, string_id, string_len, sums (S, F)) of the strings completed here."""
        done = []
        for k in range(len(self.open)):
            idx = np.flatnonzero(active[k])
            if not idx.size:
                continue
            sid = string_id[k, idx]
            starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
            sums = np.add.reduceat(feats[k, idx], starts, axis=0)
            ids, lens = sid[starts], string_len[k, idx[starts]]
            if self.open[k] and ids[0] == self.id[k]:
                sums[0] += self.sums[k]
            # an open string not continued here was cut short (stream restarted): it is dropped
            self.open[k] = False
            count = sums[:, _COL["count"]]
            if (count > lens).any():
                j = int(np.argmax(count > lens))
                raise ValueError(f"replica {k}: string_id {ids[j]} covers {int(count[j])} positions but string_len is "
                                 f"{lens[j]}; consecutive strings need distinct ids (join streams with GrammarString.concat)")
            complete = count == lens
            if not complete[-1]:
                self.open[k], self.id[k], self.sums[k] = True, ids[-1], sums[-1]
            # incomplete runs before the last began before the scorer saw them: dropped
            done.append((np.full(complete.sum(), k), ids[complete], lens[complete], sums[complete]))
        if not done:
            return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros((0, len(_F)))
        return tuple(np.concatenate(parts) for parts in zip(*done))


def _stack(chunk) -> dict[str, np.ndarray]:
    """Fields of ``chunk`` (K GrammarStrings of length T, or one with (K, T) arrays) as (K, T[, n])."""
    names = ("next_dist", "group", "deterministic", "alt", "string_id", "string_len")
    if isinstance(chunk, Sequence):
        return {name: np.stack([getattr(c, name) for c in chunk]) for name in names}
    return {name: np.asarray(getattr(chunk, name)) for name in names}


class SequenceScorer:
    """Online scorer of next-symbol predictions on grammar streams, one value per replica.

    ``groups``: the grammar's long-range candidate groups (tuples of symbol ids; may be empty).
    ``length_threshold``: optional (K,) int; strings longer than it (in symbols) are scored for
    length generalisation.

    Metrics (``result()`` and ``chance()``, each a dict of (K,) arrays; NaN where a metric saw no
    positions): ``kl_to_optimal`` (nats, mean KL(exact || predicted)), ``legal_mass`` (mean
    predicted mass on symbols the grammar allows), ``cross_entropy`` and
    ``optimal_cross_entropy`` (nats, mean -log P(true next symbol) under the prediction and under
    the exact distribution; the latter is a sample estimate of the grammar's ``entropy_rate()``,
    and ``cross_entropy - optimal_cross_entropy`` estimates ``kl_to_optimal`` on the same
    positions), ``accuracy`` (argmax = true next symbol; a tie among k symbols scores
    1/k), ``surprisal_gap`` (nats, mean over altered positions of -log p(alt) + log p(true)),
    ``pair_accuracy`` (over the same positions, the share of minimal pairs where the true symbol
    gets more probability than the alternative, ties 1/2: the accuracy of BLiMP and of Linzen et
    al. 2016; chance 1/2),
    ``longrange_accuracy`` (only if there are groups: at marked positions, the group with the
    largest predicted mass is the true one; ties score 1/#tied), ``length_generalization`` (only
    with a threshold: fraction of long strings where every marked position picks the right group
    and every deterministic position the right symbol, each as the unique argmax; ties count as
    wrong), ``strict_correct`` (fraction of completed strings where at every position every symbol
    the grammar allows gets more predicted probability than every symbol it forbids: the strict
    criterion of Hochreiter & Schmidhuber 1997, experiment 1, where the units of the possible next
    symbols must be the most active ones; a threshold between the two sets exists at each position,
    but no fixed one, since a softmax splits a two-way fork near 0.5). Probabilities are clipped
    at 1e-12 before logs.
    """

    def __init__(self, n_replicas: int, n_symbols: int, groups, length_threshold=None):
        self.n_replicas, self.n_symbols = n_replicas, n_symbols
        self.member = None
        if len(groups):
            self.member = np.zeros((len(groups), n_symbols))
            for g, members in enumerate(groups):
                self.member[g, list(members)] = 1.0
        self.threshold = None if length_threshold is None else np.broadcast_to(np.asarray(length_threshold), (n_replicas,))
        self.model, self.uniform = _Tally(n_replicas), _Tally(n_replicas)
        self.strings = _OpenStrings(n_replicas)
        self._records: list[dict[str, np.ndarray]] = []

    def update(self, probs: np.ndarray, chunk, next_symbols: np.ndarray, active: np.ndarray | None = None) -> None:
        """Score one chunk of T positions.

        ``probs`` (K, T, n): predicted distribution of the symbol at t+1 after seeing t (rows sum
        to 1). ``chunk``: the positions' annotations, a list of K GrammarStrings of length T (or
        one with (K, T) arrays). ``next_symbols`` (K, T) int: the true symbol at t+1 (for a
        stream ``s``, ``s.next_symbols()`` sliced alike); -1 where not yet known, which skips
        only the metrics that need it. ``active`` (K, T) bool: False marks padding to ignore.
        Strings must be fed in stream order; a string is scored once all its positions are seen.
        """
        probs = np.asarray(probs, dtype=float)
        f = _stack(chunk)
        shape = probs.shape[:2]
        active = np.ones(shape, bool) if active is None else np.asarray(active, bool)
        true = np.asarray(next_symbols)
        if probs.shape != (self.n_replicas, shape[1], self.n_symbols) or f["group"].shape != shape or true.shape != shape:
            raise ValueError(f"shapes disagree: probs {probs.shape} (want (K={self.n_replicas}, T, n={self.n_symbols})), "
                             f"chunk {f['group'].shape}, next_symbols {true.shape}")
        self._check_probs(probs, active)
        probs = np.where(active[..., None], probs, 1.0 / self.n_symbols)  # padding may hold anything
        q = f["next_dist"]
        known = active & (true >= 0)
        marked, altered = active & (f["group"] >= 0), known & (f["alt"] >= 0)
        det = active & f["deterministic"]
        exact = _exact_terms(q, true, known)
        terms = _model_terms(probs, q, exact, f["alt"], f["group"], det, self.member)
        chance = _uniform_terms(self.n_symbols, exact, f["group"], det, self.member)
        _add_positions(self.model, terms, exact, active, known, marked, altered)
        _add_positions(self.uniform, chance, exact, active, known, marked, altered)

        feats = np.stack([np.ones(shape), known, np.where(known, terms["ce"], 0), terms["kl"], marked,
                          np.where(marked, terms["lr"], 0), terms["bad"], chance["bad"], ~terms["strict_ok"],
                          ~chance["strict_ok"]], axis=-1)
        k, sid, slen, sums = self.strings.add(f["string_id"], f["string_len"], active, feats)
        if self.threshold is not None:
            long = slen > self.threshold[k]
            np.add.at(self.model.n_lg, k[long], 1)
            np.add.at(self.uniform.n_lg, k[long], 1)
            np.add.at(self.model.lg_ok, k[long], sums[long, _COL["bad"]] == 0)
            np.add.at(self.uniform.lg_ok, k[long], sums[long, _COL["bad_chance"]] == 0)
        for tally, col in ((self.model, "strict_bad"), (self.uniform, "strict_bad_chance")):
            np.add.at(tally.n_st, k, 1)
            np.add.at(tally.st_ok, k, sums[:, _COL[col]] == 0)
        if len(k):
            c = {name: sums[:, i] for name, i in _COL.items()}
            with np.errstate(invalid="ignore", divide="ignore"):
                self._records.append({
                    "replica": k, "string_id": sid, "string_len": slen,
                    "cross_entropy": c["ce"] / c["known"], "kl": c["kl"] / c["count"],
                    "longrange_correct": c["lr"] / c["n_lr"], "all_correct": c["bad"] == 0,
                })

    def _check_probs(self, probs, active) -> None:
        bad = active & ~np.isfinite(probs).all(-1)
        if bad.any():
            k, t = np.argwhere(bad)[0]
            raise ValueError(f"probs has a non-finite value at replica {k}, position {t}")
        off = active & (np.abs(probs.sum(-1) - 1.0) > SUM_TOL)
        if off.any():
            k, t = np.argwhere(off)[0]
            raise ValueError(f"probs at replica {k}, position {t} sums to {probs[k, t].sum():.6g}, not 1")

    def result(self) -> dict[str, np.ndarray]:
        """The learner's metrics so far, each (K,)."""
        return self.model.metrics(self.member is not None, self.threshold is not None)

    def chance(self) -> dict[str, np.ndarray]:
        """The same metrics for a uniform predictor on the same positions, each (K,)."""
        return self.uniform.metrics(self.member is not None, self.threshold is not None)

    def pop_strings(self) -> dict[str, np.ndarray]:
        """Per-string learning-curve records completed since the last call, then forgotten.

        Keys (equal-length arrays): ``replica``, ``string_id``, ``string_len``,
        ``cross_entropy`` (nats per position with a known next symbol), ``kl`` (nats per
        position), ``longrange_correct`` (fraction of marked positions right; NaN if none),
        ``all_correct`` (every marked and deterministic position right: the length-generalisation
        criterion).
        """
        out = {key: np.concatenate([r[key] for r in self._records] or [np.zeros(0)]).astype(dtype)
               for key, dtype in _RECORD_DTYPES.items()}
        self._records.clear()
        return out
