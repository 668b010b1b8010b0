"""The thin runner: build the protocol of the spec's experiment family, run its phases, save.

The protocol (``experiments.protocols.PROTOCOLS``, keyed by the world's family) builds the parts
the spec names, runs each phase and adds the metrics that compare phases; the runner only shows
progress, summarises each phase's per-replica metrics (``experiments.metrics.summarize``) and
writes the run directory (``experiments.rundir``).

A run directory holds ``config.yaml`` (resolved), ``meta.json``, ``traces.h5``, ``metrics.json``
(written last and atomically: its presence means the run finished), ``plots/``,
``states/<phase>.h5`` (the full state at each phase end: ``experiments.state``) and, if the run
failed, ``error.txt`` with the traceback. A run can start from a saved state (``start``: only the
phases after it run) or resume its own directory after a crash (:func:`resume_run`).
"""
from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from cortex.base import NumericalWarning, StateMismatch
from experiments.config import ExperimentSpec
from experiments.metrics import drop_tables, summarize
from experiments.protocols import PROTOCOLS
from experiments.recording import Recorder
from experiments.rundir import git_info, prepare_out_dir, versions, write_atomic, write_json
from experiments.state import SavedState, StateError, metrics_copy, state_path, tree_bytes, write_state
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
             command: list[str] | None = None, start: SavedState | None = None, resume: bool = False,
             force_state: bool = False) -> RunResult:
    """Run ``spec`` into ``out_dir`` (created; must be absent or empty).

    ``start``: a checked state (``experiments.state.start_from``): only the phases after its phase
    run, from that state; the metrics of the phases before come from the state. ``resume``:
    ``out_dir`` is this config's own run directory, killed after ``start``'s phase (or before any
    state, with ``start`` None): its finished phases' traces are kept. ``force_state``: save every
    phase end's state whatever ``recording.save_state`` says (a sweep's shared training).
    Raises InputError (nothing written) where the state does not fit the config.
    """
    protocol = _restored(spec, start) if start is not None else None
    out_dir = Path(out_dir) if resume else prepare_out_dir(out_dir)
    started = time.time()
    if not resume:
        write_atomic(out_dir / "config.yaml", yaml.safe_dump(spec.resolved(), sort_keys=False))
    (out_dir / "error.txt").unlink(missing_ok=True)
    meta = {
        "name": spec.name, "seed": spec.seed, "replicas": spec.replicas, "seeds": spec.seeds,
        "backend": spec.cortex.backend, "model": spec.cortex.model, "world": spec.world.kind,
        "status": "running", "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else sys.argv, "source": spec.source,
        "host": socket.gethostname(), "git": git_info(), "versions": versions(spec.cortex.backend == "spiking"),
    }
    if start is not None:
        meta["from_state"] = {"path": str(start.path), "phase": start.phase, "resumed": resume}
    write_json(out_dir / "meta.json", meta)
    recorder = _recorder(spec, out_dir, start if resume else None)
    saving = StateSaver(spec, out_dir, force_state)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NumericalWarning)
            metrics, target = _run_phases(spec, recorder, quiet, protocol, start, saving)
        _note_warnings(meta, caught)
    except BaseException as exc:
        _note_warnings(meta, caught)
        recorder.close()
        (out_dir / "error.txt").write_text(traceback.format_exc())
        meta.update(status="failed", error=f"{type(exc).__name__}: {exc}", wall_time_s=round(time.time() - started, 3),
                    states=saving.report)
        write_json(out_dir / "meta.json", meta)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RunFailed(out_dir, f"{type(exc).__name__}: {exc}") from exc
    recorder.close()
    meta.update(status="done", target=target, wall_time_s=round(time.time() - started, 3), states=saving.report)
    write_json(out_dir / "meta.json", meta)
    write_json(out_dir / "metrics.json", metrics)
    if plots:
        _plot(out_dir, quiet)
    return RunResult(out_dir, metrics, meta)


def _restored(spec: ExperimentSpec, start: SavedState):
    """The spec's protocol, continued from ``start`` (no recorder yet); InputError if it does not fit."""
    protocol = PROTOCOLS[WORLDS[spec.world.kind].family](spec, None)
    try:
        protocol.load_state(start.tree)
    except (StateMismatch, TypeError) as exc:
        raise StateError(f"{start.path}: (state): does not fit this config: {exc}") from None
    return protocol


def _recorder(spec: ExperimentSpec, out_dir: Path, kept: SavedState | None) -> Recorder:
    """A fresh traces.h5; resuming, it keeps the phases up to ``kept``'s from the old file."""
    path = out_dir / "traces.h5"
    if kept is None or not path.exists():
        return Recorder(path, spec.replicas, spec.recording.chunk_steps)
    tmp = out_dir / ".traces.h5.resume"
    recorder = Recorder(tmp, spec.replicas, spec.recording.chunk_steps)
    try:
        recorder.carry_over(path, [p.name for p in spec.phases[: kept.phase_index + 1]])
    except Exception as exc:  # noqa: BLE001 - a damaged file: say so rather than lose it
        recorder.close()
        tmp.unlink(missing_ok=True)
        raise RunFailed(out_dir, f"{path}: the finished phases' traces cannot be read ({exc}); run "
                                 f"`neurosteer run {out_dir / 'config.yaml'} --from {out_dir}:{kept.phase} --out NEW_DIR` "
                                 "to continue without them") from exc
    os.replace(tmp, path)
    return recorder


class StateSaver:
    """Saves the state at each phase end (``recording.save_state``) and reports what it did."""

    def __init__(self, spec: ExperimentSpec, out_dir: Path, force: bool = False):
        self.spec, self.out_dir = spec, out_dir
        self.on = force or spec.recording.save_state
        self.max_bytes = None if force else spec.recording.state_max_mb * 1e6
        self.report: dict = {"saved": {}} if self.on else {"saved": {}, "off": "recording.save_state: false"}

    def __call__(self, protocol, metrics: dict, phase, index: int) -> None:
        if not self.on:
            return
        try:
            tree = protocol.state()
            size = tree_bytes(tree)
            if self.max_bytes is not None and size > self.max_bytes:
                self.report.setdefault("too_large", {})[phase.name] = size
                return
            nbytes = write_state(state_path(self.out_dir, phase.name), tree, metrics, self.spec.resolved(), phase.name,
                                 index)
        except Exception as exc:  # noqa: BLE001 - a state that cannot be saved never fails the run
            self.on = False
            self.report["off"] = f"{type(exc).__name__}: {exc}"
            return
        self.report["saved"][phase.name] = nbytes


def _note_warnings(meta: dict, caught: list) -> None:
    """Numerical warnings of the run into ``meta["warnings"]`` (each message once, with its count);
    any other warning is shown as usual."""
    counts: dict[str, int] = {}
    for w in caught:
        if issubclass(w.category, NumericalWarning):
            counts[str(w.message)] = counts.get(str(w.message), 0) + 1
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if counts:
        meta["warnings"] = [f"{m} (x{n})" if n > 1 else m for m, n in counts.items()]
    caught.clear()


def _run_phases(spec: ExperimentSpec, recorder: Recorder, quiet: bool, protocol=None, start: SavedState | None = None,
                save_state=None) -> tuple[dict, str]:
    recorder.meta(backend=spec.cortex.backend, model=spec.cortex.model, world_kind=spec.world.kind)
    if protocol is None:
        protocol = PROTOCOLS[WORLDS[spec.world.kind].family](spec, recorder, _progress(quiet))
    protocol.recorder, protocol.progress = recorder, _progress(quiet)
    metrics: dict = {} if start is None else metrics_copy(start.metrics)
    first = 0 if start is None else start.phase_index + 1
    for index, phase in enumerate(spec.phases[first:], start=first):
        result = protocol.run_phase(phase)
        metrics[phase.name] = summarize(result.metrics, result.chance)
        recorder.flush()  # a run killed in the next phase keeps this one's traces
        if save_state is not None:
            save_state(protocol, metrics, phase, index)
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


def resume_run(run_dir: str | Path, quiet: bool = False, plots: bool = True,
               command: list[str] | None = None) -> RunResult | None:
    """Continue a run that did not finish, in its own directory, after its last saved phase (a
    phase cut short restarts from the state before it; with no state saved, the run starts over).
    Returns None when the run had already finished. Raises InputError (nothing written) for a
    directory that is not a run's, or a state file that is corrupted or not this run's."""
    from experiments.config import load
    from experiments.errors import InputError
    from experiments.state import config_hash, read_state, saved_phases
    from experiments.sweep.task import is_finished

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise InputError([f"{run_dir}: (--resume): not a run directory (no config.yaml)"])
    if is_finished(run_dir):
        return None
    spec = load(run_dir / "config.yaml")
    resolved = spec.resolved()
    names = saved_phases(run_dir, resolved)
    start = read_state(state_path(run_dir, names[-1])) if names else None
    if start is not None and start.header["config_hash"] != config_hash(resolved):
        raise StateError(f"{start.path}: (state): saved by another config than {run_dir / 'config.yaml'}")
    return run_spec(spec, run_dir, quiet=quiet, plots=plots, command=command, start=start, resume=True)
