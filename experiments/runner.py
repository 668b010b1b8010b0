"""The thin runner: build the protocol of the spec's experiment family, run its phases, save.

The protocol (``experiments.protocols.PROTOCOLS``, keyed by the world's family) builds the parts
the spec names, runs each phase and adds the metrics that compare phases; the runner only shows
progress, summarises each phase's per-replica metrics (``experiments.metrics.summarize``) and
writes the run directory (``experiments.rundir``).

A run directory holds ``config.yaml`` (resolved), ``meta.json``, ``traces.h5``, ``metrics.json``
(written last and atomically: its presence means the run finished), ``plots/`` and, if the run
failed, ``error.txt`` with the traceback.
"""
from __future__ import annotations

import socket
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from experiments.config import ExperimentSpec
from experiments.metrics import drop_tables, summarize
from experiments.protocols import PROTOCOLS
from experiments.recording import Recorder
from experiments.rundir import git_info, prepare_out_dir, versions, write_atomic, write_json
from experiments.worlds import WORLDS


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
    recorder.meta(backend=spec.cortex.backend, model=spec.cortex.model, world_kind=spec.world.kind)
    protocol = PROTOCOLS[WORLDS[spec.world.kind].family](spec, recorder, _progress(quiet))
    metrics: dict = {}
    for phase in spec.phases:
        result = protocol.run_phase(phase)
        metrics[phase.name] = summarize(result.metrics, result.chance)
    protocol.cross_phase(metrics)
    drop_tables(metrics)
    return metrics, protocol.target


def _progress(quiet: bool):
    """``progress(total, desc, unit)``: a bar over ``total`` units of a phase (silent with ``quiet``)."""
    from tqdm.auto import tqdm

    return lambda total, desc, unit: tqdm(total=total, desc=desc, unit=unit, disable=quiet, leave=False,
                                          dynamic_ncols=True, mininterval=0.5, file=sys.stderr)


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
