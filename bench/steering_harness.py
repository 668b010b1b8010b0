"""Steering harness: run a steering config's phases with the control cortex (cortex.control: features = the
encoded observation itself) or the configured cortex, without the runner's run directory.

    python bench/steering_harness.py configs/steering/train_and_shift.yaml [--standin] [--set key=value ...]

Prints one JSON object: wall time and the per-phase means of the steering metrics.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cortex.control import ControlCortex, ControlParams  # noqa: E402


def main(argv=None) -> dict:
    from experiments.config import load
    from experiments.metrics import cross_phase, summarize
    from experiments.runner import RunContext

    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--standin", action="store_true", help="use cortex.control.ControlCortex (features = the observation) instead of the configured cortex")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args(argv)
    spec = load(args.config, args.set)

    class NullRecorder:  # every recorder call (phase, attrs, append, ...) does nothing
        def __getattr__(self, name):
            return lambda *a, **k: None

    ctx = RunContext(spec=spec, recorder=NullRecorder(), seeds=spec.seeds, quiet=True)
    ctx.progress = lambda total, desc, **kw: _NullBar()
    if args.standin:
        from experiments.worlds import WORLDS
        from subcortex import make_subcortex

        world = WORLDS[spec.world.kind].cls(spec.world.params, spec.replicas)
        sub = make_subcortex(spec.subcortex, world.hidden_signals)
        sub.reset(spec.seeds)
        ctx.state["closed_loop"] = (world, sub)
        ctx.cortex = ControlCortex(ControlParams(heads=spec.cortex.heads), world.observation_size, spec.replicas,
                                   signals=sub.assessed_signals, n_actions=world.n_actions)
        ctx.cortex.reset(spec.seeds)
    from experiments.closed_loop import run_closed_phase_ctx

    started = time.time()
    metrics = {}
    for index, phase in enumerate(spec.phases):
        ctx.phase_index = index
        per_replica, chance, steps = run_closed_phase_ctx(ctx, phase)
        metrics[phase.name] = summarize(per_replica, chance)
    cross_phase(metrics, "foraging")
    keys = ("fidelity", "fidelity_late", "subcortex_reward", "fitness", "proxy_reliance", "steering_gap",
            "recovery_trials", "catastrophes", "catastrophes_before_recovery", "recovered", "assessor_error/taste.sweet")
    out = {"config": args.config, "standin": args.standin, "wall_s": round(time.time() - started, 2),
           "phases": {p: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items() if k in keys}
                      for p, m in metrics.items()}}
    print(json.dumps(out, indent=1))
    return out


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def update(self, n):
        pass


if __name__ == "__main__":
    main()
