"""Tuning check of the rate cortex on (embedded) Reber streams; prints one JSON object.

Protocol (the lead's acceptance test): per seed, one continuous stream of concatenated strings
(state never reset between strings), ``--train`` strings with plasticity on, then ``--test``
fresh strings with plasticity off. All seeds run batched as replicas (padding where one replica's
stream is shorter). Metrics per seed:

- ``longrange_accuracy`` (embedded Reber): at the inner E, is p(true outer symbol) > p(other)?
- ``kl_to_optimal``: mean KL(exact next-symbol distribution || predicted), nats per position.

Usage: python bench/tune_reber.py [--grammar embedded_reber] [--set n_units=16 --set model=eprop ...]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from cortex.rate import RATE_MODELS
from experiments.worlds.grammars import GRAMMARS


def _pad(streams, key):
    """Stack per-replica arrays of unequal length into (K, T) with an ``active`` mask."""
    t = max(len(s) for s in streams)
    out = np.zeros((len(streams), t) + getattr(streams[0], key).shape[1:], getattr(streams[0], key).dtype)
    active = np.zeros((len(streams), t), bool)
    for k, s in enumerate(streams):
        out[k, :len(s)] = getattr(s, key)
        active[k, :len(s)] = True
    return out, active


def _score(probs, streams, groups):
    """Per-replica kl_to_optimal and longrange_accuracy over the test streams."""
    kl, lr = [], []
    for k, s in enumerate(streams):
        p = probs[k, :len(s)]
        q = s.next_dist
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1)) - np.log(p)), 0.0)
        kl.append(float(terms.sum(1).mean()))
        marked = np.flatnonzero(s.group >= 0)
        if len(marked) and groups:
            true = s.symbols[marked + 1]  # the next symbol is in the stream (inner E is never last)
            other = np.where(true == groups[0][0], groups[1][0], groups[0][0])
            lr.append(float(np.mean(p[marked, true] > p[marked, other])))
    return kl, lr


def run(grammar: str, overrides: dict, seeds, n_train: int, n_test: int) -> dict:
    """Train and test one configuration; returns per-seed metrics and wall time (s)."""
    model = overrides.pop("model", "reservoir")
    params_cls, cortex_cls = RATE_MODELS[model]
    readout = overrides.pop("readout", {})
    params = params_cls(**overrides, readout=readout)
    world = GRAMMARS[grammar](GRAMMARS[grammar].Params())
    rngs = [np.random.default_rng(np.random.SeedSequence([s, 99])) for s in seeds]
    train = [world.sample_many(r, n_train) for r in rngs]
    test = [world.sample_many(r, n_test) for r in rngs]
    cortex = cortex_cls(params, world.n_symbols, len(seeds), sample_units=0)
    t0 = time.perf_counter()
    cortex.reset(seeds)
    x, on = _pad(train, "symbols")
    cortex.run_sequence(x, on)
    cortex.set_plasticity(False)
    x, on = _pad(test, "symbols")
    probs = cortex.run_sequence(x, on).probs
    wall = time.perf_counter() - t0
    kl, lr = _score(probs, test, world.groups)
    out = {"grammar": grammar, "model": model, "params": params.model_dump(exclude={"heads"}),
           "kl_to_optimal": kl, "wall_s": round(wall, 2), "train_symbols": int(sum(len(s) for s in train))}
    if lr:
        out["longrange_accuracy"] = lr
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grammar", default="embedded_reber", choices=sorted(GRAMMARS))
    ap.add_argument("--set", action="append", default=[], help="param override key=value (readout.x=... for readout)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=200)
    args = ap.parse_args()
    overrides: dict = {}
    for item in args.set:
        key, value = item.split("=", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        if key.startswith("readout."):
            overrides.setdefault("readout", {})[key[8:]] = value
        else:
            overrides[key] = value
    seeds = [int(s) for s in args.seeds.split(",")]
    print(json.dumps(run(args.grammar, overrides, seeds, args.train, args.test)))


if __name__ == "__main__":
    main()
