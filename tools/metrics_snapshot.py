"""Behaviour check for refactors: every shipped config at a small size, metrics before vs after.

    python tools/metrics_snapshot.py snapshot DIR [--only language/reber ...]   # DIR/<dir>__<name>.json
    python tools/metrics_snapshot.py compare BEFORE AFTER [--partial]            # exit 1 if any differ

Each config in configs/language/, configs/steering/ and configs/universals/ runs with the
overrides in :data:`SMALL` (a few dozen strings or trials, a small cortex), so the whole snapshot
takes a few minutes on 2 cores. ``compare`` wants the rate backend's ``metrics.json``
byte-identical, and the spiking backend's metrics within :data:`SPIKING_ABS` (the tolerance
tests/test_standalone.py allows between the cpp_standalone and cython targets: float summation
order differs between generated codes).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPIKING_ABS = 0.02

CONFIG_DIRS = ("language", "steering", "universals")  # the shipped configs: configs/<dir>/*.yaml
_SEQ = ["phases.train.strings=40", "phases.test.strings=20"]
_FORAGE = ["phases.train.trials=150", "phases.test.trials=40"]
SMALL: dict[str, list[str]] = {
    "language/agreement": ["cortex.n_units=32", *_SEQ, "phases.test_long.strings=20"],
    "language/anbn": ["cortex.n_units=32", *_SEQ, "phases.test_long.strings=20"],
    "language/dyck": ["cortex.n_units=32", *_SEQ, "phases.test_long.strings=20"],
    "language/bigram": ["cortex.n_units=32", *_SEQ],
    "language/embedded_reber": ["cortex.n_units=32", *_SEQ],
    "language/embedded_reber_long": ["cortex.n_units=32", *_SEQ, "phases.test_longer.strings=20"],
    "language/reber": ["cortex.n_units=32", *_SEQ],
    "language/embedded_reber_spiking": ["cortex.n_units=50", *_SEQ],
    "steering/train_and_shift": ["cortex.n_units=32", *_FORAGE, "phases.cue_conflict.trials=40",
                                 "phases.novel_items.trials=40", "phases.cue_conflict_plastic.trials=80"],
    "steering/diversity": ["cortex.n_units=32", *_FORAGE, "phases.cue_conflict.trials=40",
                           "phases.novel_items.trials=40", "phases.cue_conflict_plastic.trials=80"],
    "steering/superstimulus": ["cortex.n_units=32", *_FORAGE, "phases.superstimulus.trials=40",
                               "phases.superstimulus_plastic.trials=80"],
    "steering/train_and_shift_spiking": ["cortex.n_units=50", "replicas=2", *_FORAGE,
                                         "phases.cue_conflict.trials=40", "phases.novel_items.trials=40",
                                         "phases.cue_conflict_plastic.trials=80"],
    "steering/abstinence": ["cortex.n_units=32", *_FORAGE],
    "universals/agreement_hierarchical": ["cortex.n_units=32", *_SEQ],
    "universals/agreement_linear": ["cortex.n_units=32", *_SEQ],
    "universals/agreement_ambiguous": ["cortex.n_units=32", *_SEQ, "phases.disambiguating.strings=20"],
    "universals/harmony_head_first": ["cortex.n_units=32", *_SEQ],
    "universals/harmony_head_last": ["cortex.n_units=32", *_SEQ],
    "universals/disharmony_pp_last": ["cortex.n_units=32", *_SEQ],
    "universals/disharmony_pp_first": ["cortex.n_units=32", *_SEQ],
    "universals/voice_embedded_reber": ["cortex.n_units=32", *_SEQ],
    "universals/voice_agreement": ["cortex.n_units=32", *_SEQ, "phases.test_long.strings=20"],
    "steering/izhikevich2007": ["phases.train.duration_s=5"],
}


def snapshot(out: Path, only: list[str] | None = None) -> None:
    """Run every shipped config with its :data:`SMALL` overrides; write ``out/<dir>__<name>.json``."""
    import experiments

    shipped = sorted(f"{d}/{p.stem}" for d in CONFIG_DIRS for p in (ROOT / "configs" / d).glob("*.yaml"))
    missing = sorted(set(shipped) - set(SMALL))
    if missing:
        raise SystemExit(f"no small overrides for {', '.join(missing)}: add them to SMALL")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in SMALL.items():
            if only and name not in only:
                continue
            print(f"[snapshot] {name}", file=sys.stderr, flush=True)
            result = experiments.run(ROOT / "configs" / f"{name}.yaml", overrides, out=Path(tmp) / name.replace("/", "__"),
                                     quiet=True, plots=False)
            backend = yaml.safe_load((result.run_dir / "config.yaml").read_text())["cortex"]["backend"]
            (out / f"{name.replace('/', '__')}.json").write_text(
                json.dumps({"backend": backend, "overrides": overrides, "metrics": result.metrics}, indent=1) + "\n")


def _differences(a, b, tol: float, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}{k}: only in {'before' if k in a else 'after'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _differences(a[k], b[k], tol, f"{path}{k}.")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, tol, f"{path}{i}.")]
    if isinstance(a, float) and isinstance(b, float) and tol > 0 and math.isclose(a, b, abs_tol=tol):
        return []
    return [] if a == b else [f"{path.rstrip('.')}: {a!r} -> {b!r}"]


def compare(before: Path, after: Path, partial: bool = False) -> int:
    """Print every metric that differs (beyond the spiking tolerance); 1 if any does (or if a
    config of ``before`` is missing in ``after``, unless ``partial``)."""
    bad = 0
    for path in sorted(before.glob("*.json")):
        other = after / path.name
        if not other.exists():
            print(f"{path.stem}: missing in {after}")
            bad += not partial
            continue
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        diffs = _differences(a["metrics"], b["metrics"], SPIKING_ABS if a["backend"] == "spiking" else 0.0)
        print(f"{path.stem}: {'identical' if not diffs else f'{len(diffs)} differences'}")
        for d in diffs[:20]:
            print(f"  {d}")
        bad += bool(diffs)
    return int(bad > 0)


def main(argv=None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--only", nargs="+", choices=sorted(SMALL), help="run only these configs")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--partial", action="store_true", help="configs missing in AFTER are not a failure")
    args = parser.parse_args(argv)
    if args.cmd == "snapshot":
        snapshot(args.out, args.only)
        return 0
    return compare(args.before, args.after, args.partial)


if __name__ == "__main__":
    sys.exit(main())
