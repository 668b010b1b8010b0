"""Figures of tiny real runs of the shipped configs, read as a user reads them: no padding drawn as
activity, steps not seconds on the rate cortex, per-trial reward, intervals inside [0, 1], metrics.json
names, every phase in the closed-loop neural figure, every replica in report.md."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.plotting import PLOTS, plot_run
from experiments.plotting.io import RunReader

REPO = Path(__file__).resolve().parent.parent


# -- figures of real runs, read as a user reads them -----------------------------------------------
# Tiny runs of the shipped configs (about a second each): the plots must tell the truth about what the
# runner actually writes, padding and all.
TINY = {"sequence": ("configs/language/embedded_reber.yaml", "cortex.n_units=50", "phases.train.strings=60",
                     "phases.test.strings=30"),
        "closed_loop": ("configs/steering/train_and_shift.yaml", "phases.train.trials=60", "phases.test.trials=20",
                        "phases.cue_conflict.trials=20", "phases.novel_items.trials=20",
                        "phases.cue_conflict_plastic.trials=30")}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """kind -> run directory of a tiny rate run of a shipped config (3 replicas grammar, 10 foraging)."""
    out = {}
    for kind, (config, *sets) in TINY.items():
        run_dir = tmp_path_factory.mktemp("real") / kind
        args = [a for s in sets for a in ("--set", s)]
        done = subprocess.run([sys.executable, "-m", "experiments", "run", config, *args, "--out", str(run_dir),
                               "--quiet", "--no-plots"], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        out[kind] = run_dir
    return out


def _drawn(fig):
    """The renderer of the figure laid out as it is saved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_neural_windows_never_draw_padding_as_activity(real):
    with RunReader(real["sequence"]) as reader:
        padded_end = [p.name for p in reader.phases if reader.h5[p.name]["input"][0, -1] < 0]
        assert padded_end, "the tiny run should end a phase in replica 0's padding"
        fig = PLOTS["neural"](reader)
        tops = [ax for ax in fig.axes if ax.images]
        assert len(tops) == len(reader.phases)
        for ax, phase in zip(tops, reader.phases):
            image = np.ma.masked_invalid(ax.images[0].get_array())  # (units, steps)
            first = int(round(ax.images[0].get_extent()[0] - phase.start_ms))
            steps = image.shape[1]
            padded = reader.h5[phase.name]["input"][0, first:first + steps] < 0
            # a padded step is blank (masked), a real step is drawn, and the window ends on real input
            np.testing.assert_array_equal(np.ma.getmaskarray(image).all(axis=0), padded)
            assert not padded[-1], phase.name


def test_rate_runs_count_steps_not_seconds(real):
    time_axes = 0
    for kind, run_dir in real.items():
        with RunReader(run_dir) as reader:
            for name, build in PLOTS.items():
                fig = build(reader)
                if fig is None:
                    continue
                texts = [ax.get_xlabel() for ax in fig.axes] + [ax.get_title() for ax in fig.axes]
                assert not [t for t in texts if re.search(r"\((ms|s|h)\)|\d (ms|s|h)\b", t)], (kind, name, texts)
                times = [label for label in texts if label.startswith("time")]
                assert all(label == "time (steps)" for label in times), (kind, name, times)
                time_axes += len(times)
    assert time_axes


def test_reward_and_fitness_are_drawn_per_trial_and_the_drive_is_named(real):
    with RunReader(real["closed_loop"]) as reader:
        fig = PLOTS["reward"](reader)
        rows = {ax.get_ylabel().split("\n")[0]: ax for ax in fig.axes}
        trials = sum(reader.h5[p.name]["trials/reward"].shape[1] for p in reader.phases)
        for stem in ("reward per trial", "fitness per trial"):
            # the data lines (phase marks are two-point vertical lines)
            points = sum(np.size(line.get_xdata()) for line in rows[stem].lines if np.size(line.get_xdata()) > 2)
            assert points == trials, stem  # one point per trial, not one per step
        train = reader.h5["train/trials/reward"][...].astype(float)
        window = int(np.clip(trials // 50, 1, 500))
        line = rows["reward per trial"].lines[0]
        np.testing.assert_allclose(line.get_ydata()[-1], train[:, -window:].mean(), rtol=1e-6)
        assert "hunger drive" in rows, list(rows)


def test_learning_panels_are_named_as_in_metrics_json(real):
    for kind, run_dir in real.items():
        with RunReader(run_dir) as reader:
            names = {k for values in reader.metrics.values() for k in values}
            panels = [ax.get_ylabel().replace("\n", " ").rsplit(" (", 1)[0] for ax in PLOTS["learning"](reader).axes]
            assert panels and set(panels) <= names, (kind, sorted(set(panels) - names))


def test_learning_intervals_of_fractions_stay_inside_zero_one(real):
    for kind, run_dir in real.items():
        with RunReader(run_dir) as reader:
            for ax in PLOTS["learning"](reader).axes:
                if ax.get_ylabel().endswith("(fraction)"):
                    y = np.concatenate([p.vertices[:, 1] for c in ax.collections for p in c.get_paths()])
                    assert y.min() >= 0 and y.max() <= 1, (kind, ax.get_ylabel(), y.min(), y.max())


def test_cross_entropy_axis_shows_the_gap_to_the_optimum(real):
    with RunReader(real["sequence"]) as reader:
        fig = PLOTS["learning"](reader)
        ax = next(a for a in fig.axes if a.get_ylabel().startswith("cross"))
        optimal = reader.metrics["test"]["optimal_cross_entropy"]
        lo, hi = ax.get_ylim()
        gap = ax.lines[-1].get_ydata()[-1] - optimal  # the model's curve at the end of the test phase
        assert gap > 0 and gap / (hi - lo) > 0.15, (gap, lo, hi)


def test_closed_loop_neural_figure_shows_every_phase_in_even_columns_with_apart_titles(real):
    with RunReader(real["closed_loop"]) as reader:
        fig = PLOTS["neural"](reader)
        renderer = _drawn(fig)
        tops = sorted((ax for ax in fig.axes if ax.images), key=lambda a: a.get_position().x0)
        assert [ax.get_title().split("\n")[0] for ax in tops] == [p.name for p in reader.phases]
        boxes = [ax.title.get_window_extent(renderer) for ax in tops]
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), "titles overlap"
        gaps = [b.get_position().x0 - a.get_position().x1 for a, b in zip(tops, tops[1:])]
        width = min(ax.get_position().width for ax in tops)
        assert max(gaps) < 0.5 * width, f"an empty slot between columns: gaps {gaps}, column width {width}"
        assert all(ax.has_data() or ax.images or ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_report_lists_every_replica_value(real):
    result = plot_run(real["closed_loop"], only="reward")
    report = result.report.read_text()
    metrics = json.loads((real["closed_loop"] / "metrics.json").read_text())
    values = metrics["train"]["per_replica"]["fidelity"]
    assert len(values) == 10
    row = next(line for line in report.split("### train")[1].splitlines() if line.startswith("| fidelity |"))
    assert row.split("|")[4].strip() == ", ".join(f"{v:.4g}" for v in values)
