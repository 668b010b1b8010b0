"""Figures of the universals study (docs/figures/universals_*.png), drawn from the committed CSVs only
(tools/universals_study.py loads them): `python tools/universals_study.py --figures`."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from universals_study import (AMBIGUOUS, LABELS, PAIRS, RULE, ROOT, STRINGS, others, paired, seeds,  # noqa: E402
                              sizes)

FIGURES = ROOT / "docs" / "figures"
MARKERS = {"1-gram": "1", "2-gram": "2", "3-gram": "3", "4-gram": "4", "LSTM one_pass": "v", "LSTM converge": "*"}


def _baselines(ax, data, value, x: float) -> None:
    """Each baseline and the spiking cortex as a marker right of the rate cortex's sizes."""
    for i, (who, rows) in enumerate(others(data)):
        v = value(rows)
        if v is not None and not np.isnan(v[0]):
            spiking = who.startswith("spiking")
            ax.errorbar(x * 2 ** (0.5 * i), v[0], yerr=v[1], fmt=MARKERS.get(who, "s"), ms=8 if not spiking else 6,
                        color="tab:purple" if spiking else ("tab:red" if "LSTM" in who else "0.4"), label=who, capsize=2)


def bias_figure(data: dict, path: Path) -> Path:
    """One panel per pair: the paired advantage of the language that follows the universal against
    cortex size (mean +- s.e. over seeds), the baselines and the spiking cortex at the right; then
    the rule adopted after ambiguous training."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sizes(data)
    fig, axes = plt.subplots(1, len(PAIRS) + 1, figsize=(4.2 * (len(PAIRS) + 1), 3.6))
    reps = data["bias"]["replicas"]
    for ax, (name, good, bad, col, label, hb, _) in zip(axes, PAIRS):
        pts = [(n, *paired(seeds(reps, good, col, **{"cortex.n_units": n, "phases.train.strings": STRINGS}),
                           seeds(reps, bad, col, **{"cortex.n_units": n, "phases.train.strings": STRINGS}), hb)[:2]) for n in ns]
        pts = [p for p in pts if not np.isnan(p[1])]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", color="tab:blue",
                        capsize=2, label="rate cortex")
        right = 2 * (max(ns) if ns else 1)
        _baselines(ax, data, lambda rows: paired(seeds(rows, good, col), seeds(rows, bad, col), hb)[:2], right)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{name}\n{LABELS[good]} vs {LABELS[bad]}", fontsize=8)
        ax.set_xlabel("rate cortex units (baselines at the right)", fontsize=8)
        ax.set_ylabel(f"{label}: advantage of following\n(paired by seed; > 0: the universal is easier)", fontsize=8)
    ax = axes[-1]
    means = [(n, seeds(reps, AMBIGUOUS, RULE, **{"cortex.n_units": n, "phases.train.strings": STRINGS})) for n in ns]
    means = [(n, list(v.values())) for n, v in means if v]
    if means:
        ax.errorbar([n for n, _ in means], [np.mean(v) for _, v in means], yerr=[np.std(v) for _, v in means],
                    marker="o", color="tab:blue", capsize=2, label="rate cortex")
    _baselines(ax, data, lambda rows: (lambda v: (np.mean(v), np.std(v)) if v else None)(list(seeds(rows, AMBIGUOUS, RULE).values())),
               2 * (max(ns) if ns else 1))
    ax.axhline(0.5, color="black", lw=0.8, label="no preference")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xscale("log", base=2)
    ax.set_title("poverty of the stimulus: rule adopted\n(1 hierarchical, 0 linear)", fontsize=8)
    ax.set_xlabel("rate cortex units (baselines at the right)", fontsize=8)
    ax.set_ylabel(RULE, fontsize=8)
    handles: dict = {}
    for a in axes:
        for h, lab in zip(*a.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 10), fontsize=7)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figures(data: dict) -> list[Path]:
    FIGURES.mkdir(parents=True, exist_ok=True)
    return [bias_figure(data, FIGURES / "universals_bias.png")]
