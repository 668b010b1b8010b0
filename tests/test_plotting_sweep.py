"""Sweep figures from results.csv: mean and interval over seeds, intervals inside a fraction's range,
metric names that are not file names."""
from __future__ import annotations

import numpy as np
from matplotlib.image import imread

from experiments.plotting.figures import DPI, WIDTH_IN, unlabelled
from experiments.plotting.sweep import plot_sweep


# -- sweeps ----------------------------------------------------------------------------------------
def test_sweep_plot_draws_mean_and_interval_over_seeds_on_a_log_axis(tmp_path):
    # the columns experiments.sweep.write_results writes
    rows = ["run_id,cortex.n_units,seed,test.cross_entropy,test.cross_entropy_chance,test.optimal_cross_entropy,"
            "wall_time_s,status"]
    rng = np.random.default_rng(0)
    for n in (100, 200, 400, 800, 1600):
        for seed in range(4):
            value = 0.5 + 1.0 / np.log(n) + rng.normal(0, 0.05)
            rows.append(f"r{n}_{seed},{n},{seed},{value},1.946,0.45,3.2,done")
    rows.append("r3200_0,3200,0,,,,,failed")
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    paths = plot_sweep(tmp_path)
    assert [p.name for p in paths] == ["sweep_test.cross_entropy.png"]
    assert imread(paths[0]).shape[1] == WIDTH_IN * DPI
    from experiments.plotting.sweep import build

    fig = build(tmp_path)[0][1]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and unlabelled(fig) == []
    assert "n_units" in ax.get_xlabel()
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert any("chance" in lbl for lbl in labels) and any("optimal" in lbl for lbl in labels)
    assert "1 failed" in fig.get_suptitle() or "1 failed" in ax.get_title()


def test_sweep_plots_a_metric_whose_name_has_a_slash(tmp_path):
    rows = ["run_id,cortex.n_units,seed,test.fidelity,test.fidelity_chance,test.assessor_error/taste.sweet,status"]
    rows += [f"r{n}_{s},{n},{s},0.9,0.5,{0.1 * s},done" for n in (50, 200) for s in range(3)]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    paths = plot_sweep(tmp_path)
    assert [p.name for p in paths] == ["sweep_test.fidelity.png", "sweep_test.assessor_error-taste.sweet.png"]
    assert all(p.exists() for p in paths)


def test_sweep_interval_of_a_fraction_stays_inside_zero_one(tmp_path):
    rows = ["run_id,cortex.n_units,seed,test.longrange_accuracy,test.longrange_accuracy_chance,status"]
    for n in (100, 200):
        rows += [f"r{n}_{s},{n},{s},{v},0.5,done" for s, v in enumerate((1.0, 1.0, 0.6))]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    from experiments.plotting.sweep import build

    fig = build(tmp_path)[0][1]
    ax = fig.axes[0]
    tops = np.concatenate([seg[:, 1] for c in ax.collections if hasattr(c, "get_segments") for seg in c.get_segments()])
    assert tops.size and tops.max() <= 1.0 and tops.min() >= 0.0
    assert ax.get_ylabel().startswith("longrange_accuracy in phase 'test'")
