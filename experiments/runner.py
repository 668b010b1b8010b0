"""The thin runner: build the parts a spec names, run its phases, save the run directory.

A run directory holds ``config.yaml`` (resolved), ``meta.json``, ``traces.h5``, ``metrics.json``
(written last and atomically: its presence means the run finished), ``plots/`` and, if the run
failed, ``error.txt`` with the traceback.
"""
from __future__ import annotations

import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import yaml

from experiments.config import ExperimentSpec
from experiments.metrics import cross_phase, summarize
from experiments.recording import Recorder
from experiments.rundir import git_info, prepare_out_dir, versions, write_atomic, write_json

# family of a world kind -> "module:function" running one phase of that family
PHASE_RUNNERS = {
    "sequence": "experiments.sequence_phase:run_sequence_phase",
    "closed_loop": "experiments.closed_loop:run_closed_phase_ctx",
    "distal_reward": "experiments.distal_reward:run_distal_reward_phase_ctx",
}


class RunFailed(RuntimeError):
    """A run raised; its traceback is in ``run_dir / 'error.txt'``."""

    def __init__(self, run_dir: Path, message: str):
        super().__init__(message)
        self.run_dir = Path(run_dir)


@dataclass
class RunResult:
    """What a finished run returns to Python callers (notebooks, sweeps)."""

    run_dir: Path
    metrics: dict
    meta: dict


@dataclass
class RunContext:
    """Everything a phase runner needs; ``state`` carries facts across phases (e.g. the longest
    training string per replica, for length generalisation)."""

    spec: ExperimentSpec
    recorder: Recorder
    seeds: list[int]
    quiet: bool
    cortex: object = None
    state: dict = field(default_factory=dict)
    phase_index: int = 0
    start_step: int = 0

    def progress(self, total: int, desc: str, unit: str = "strings"):
        """A progress bar over ``total`` units of a phase (silent with ``quiet``)."""
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, disable=self.quiet, leave=False, dynamic_ncols=True,
                    mininterval=0.5, file=sys.stderr)


def default_out_dir(spec: ExperimentSpec, root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{spec.name}-{stamp}-s{spec.seed}"


def run_spec(spec: ExperimentSpec, out_dir: str | Path, quiet: bool = False, plots: bool = True,
             command: list[str] | None = None) -> RunResult:
    """Run ``spec`` into ``out_dir`` (created; must be absent or empty)."""
    out_dir = prepare_out_dir(out_dir)
    started = time.time()
    write_atomic(out_dir / "config.yaml", yaml.safe_dump(spec.resolved(), sort_keys=False))
    meta = {
        "name": spec.name, "seed": spec.seed, "replicas": spec.replicas, "seeds": spec.seeds,
        "backend": spec.cortex.backend, "model": spec.cortex.model, "world": spec.world.kind,
        "status": "running", "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv, "source": spec.source,
        "host": socket.gethostname(), "git": git_info(), "versions": versions(spec.cortex.backend == "spiking"),
    }
    write_json(out_dir / "meta.json", meta)
    recorder = Recorder(out_dir / "traces.h5", spec.replicas, spec.recording.chunk_steps)
    try:
        metrics, target = _run_phases(spec, recorder, quiet)
    except BaseException as exc:
        recorder.close()
        (out_dir / "error.txt").write_text(traceback.format_exc())
        meta.update(status="failed", error=f"{type(exc).__name__}: {exc}", wall_time_s=round(time.time() - started, 3))
        write_json(out_dir / "meta.json", meta)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RunFailed(out_dir, f"{type(exc).__name__}: {exc}") from exc
    recorder.close()
    meta.update(status="done", target=target, wall_time_s=round(time.time() - started, 3))
    write_json(out_dir / "meta.json", meta)
    write_json(out_dir / "metrics.json", metrics)
    if plots:
        _plot(out_dir, quiet)
    return RunResult(out_dir, metrics, meta)


def _run_phases(spec: ExperimentSpec, recorder: Recorder, quiet: bool) -> tuple[dict, str]:
    from experiments.worlds import WORLDS

    world_cls = WORLDS[spec.world.kind]
    ctx = RunContext(spec=spec, recorder=recorder, seeds=spec.seeds, quiet=quiet)
    module, name = PHASE_RUNNERS[world_cls.family].split(":")
    run_phase = getattr(import_module(module), name)
    recorder.meta(backend=spec.cortex.backend, model=spec.cortex.model, world_kind=spec.world.kind)
    metrics: dict = {}
    for index, phase in enumerate(spec.phases):
        ctx.phase_index = index
        per_replica, chance, steps = run_phase(ctx, phase)
        recorder.attrs(phase.name, n_steps=int(steps))
        ctx.start_step += steps
        metrics[phase.name] = summarize(per_replica, chance)
    cross_phase(metrics, spec.world.kind)
    target = getattr(ctx.cortex, "target", "numpy") if ctx.cortex is not None else ctx.state.get("target", "unknown")
    return metrics, target


def _plot(out_dir: Path, quiet: bool) -> None:
    """Default plots after a run; a plotting problem never fails a finished run."""
    try:
        from experiments.plotting import plot_run
    except ImportError:
        return
    try:
        plot_run(out_dir)
    except Exception as exc:  # the run's results are already safe on disk
        if not quiet:
            print(f"warning: plotting failed: {exc} (run `neurosteer plot {out_dir}` to retry)", file=sys.stderr)
