"""Figures and a one-page report from a saved run directory.

Reads ``config.yaml``, ``meta.json``, ``metrics.json`` and ``traces.h5`` only: it never imports
``cortex``, ``subcortex`` or a simulator backend, so a run made on a cluster can be plotted on a
laptop without Brian2. Entry points:

* :func:`plot_run` -> :class:`PlotResult` (used by ``neurosteer run`` at the end of a run);
* :func:`plot_main` -> exit code (``neurosteer plot RUN_DIR [--only NAMES] [--format FMT]``);
* :func:`experiments.plotting.sweep.plot_sweep` for a sweep's ``results.csv``.
"""
from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import learning, neural, reward, sequences, weights
from .figures import FORMATS, save
from .io import NotARunDir, RunReader
from .report import write_report

# name -> builder(reader) -> Figure | None (None: the run recorded nothing this figure draws)
PLOTS = {"neural": neural.build, "reward": reward.build, "learning": learning.build,
         "sequences": sequences.build, "weights": weights.build}

__all__ = ["PLOTS", "NotARunDir", "PlotResult", "plot_main", "plot_run"]


@dataclass
class PlotResult:
    """What :func:`plot_run` wrote and what it could not do."""

    run_dir: Path
    written: dict[str, Path] = field(default_factory=dict)  # plot name -> file
    skipped: dict[str, str] = field(default_factory=dict)  # plot name -> why nothing was drawn
    problems: list[str] = field(default_factory=list)  # missing / truncated / unreadable inputs
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when every input was complete, 1 when something was missing or failed."""
        return 1 if self.problems else 0


def _names(only) -> list[str]:
    if only is None:
        return list(PLOTS)
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()]
    unknown = [n for n in names if n not in PLOTS]
    if unknown:
        raise ValueError(f"unknown plot name(s) {', '.join(unknown)}; choose from {', '.join(PLOTS)}")
    return names


def plot_run(run_dir: str | Path, only=None, fmt: str = "png") -> PlotResult:
    """Draw the figures of a run into ``run_dir/plots/<name>.<fmt>`` and write ``run_dir/report.md``.

    ``only``: plot names (list or comma-separated string) out of :data:`PLOTS`; default all.
    Raises :class:`NotARunDir` for a path without ``config.yaml``/``meta.json`` and ``ValueError``
    for an unknown name or format. Missing or truncated traces do not raise: what can be drawn is
    drawn and the rest is listed in ``PlotResult.problems``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
    names = _names(only)
    with RunReader(run_dir) as reader:
        result = PlotResult(Path(run_dir), problems=list(reader.problems))
        for name in names:
            if reader.h5 is None:
                result.skipped[name] = "no readable traces.h5"
                continue
            try:
                fig = PLOTS[name](reader)
                if fig is None:
                    result.skipped[name] = "nothing recorded that this figure draws"
                    continue
                result.written[name] = save(fig, reader.run_dir / "plots", name, fmt)
            except Exception as exc:  # one unreadable dataset must not cost the other figures
                last = traceback.extract_tb(exc.__traceback__)[-1]
                result.problems.append(f"{name}: failed ({type(exc).__name__}: {exc}; "
                                       f"{Path(last.filename).name}:{last.lineno})")
                result.skipped[name] = "failed"
        result.report = write_report(reader, result.written, result.problems, result.skipped)
    return result


def plot_main(run_dir: str | Path, only=None, fmt: str = "png", out=sys.stdout, err=sys.stderr) -> int:
    """Command-line body: plot, print what was written and what is missing; return the exit code.

    0: every input complete; 1: something missing, truncated or failed (named on ``err``), what
    could be drawn was drawn; 2: not a run directory, or an unknown plot name or format.
    """
    try:
        result = plot_run(run_dir, only, fmt)
    except ValueError as exc:  # NotARunDir included
        print(f"error: {exc}", file=err)
        return 2
    for name, path in result.written.items():
        print(f"{name}: {path}", file=out)
    if result.report:
        print(f"report: {result.report}", file=out)
    for problem in result.problems:
        print(f"{result.run_dir}: {problem}", file=err)
    return result.exit_code
