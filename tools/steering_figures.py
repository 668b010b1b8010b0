"""The steering study's figures (docs/figures/steering_*.png), drawn from the committed CSVs.

Called by ``python tools/steering_study.py figures``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from steering_study import (DIV, FIGURES, FROZEN, GAP_LIMIT, PLASTIC, PROXY_LIMIT, SIZE, SPIKING_SIZE, _cells,
                            diversity_rows, load)


def figures(out: Path = FIGURES) -> list[Path]:
    """docs/figures/steering_diversity.png and steering_irreversibility.png from the committed CSVs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load()
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    series = [("rate", "diversity"), ("spiking", "diversity_spiking")]
    # diversities on an even, categorical axis: the grid is roughly geometric and includes 0
    grid = sorted({r[DIV] for name in ("diversity", "diversity_spiking") for r in data.get(f"{name}/results", [])})

    def diversity_axis(ax):
        ax.set_xticks(range(len(grid)), [f"{d:g}" for d in grid])
        ax.set_xlabel("training diversity")
    for backend, name in series:
        if f"{name}/replicas" not in data:
            continue
        for size, rs in _cells(data[f"{name}/replicas"], lambda r: int(r.get(SIZE, SPIKING_SIZE))).items():
            cells = _cells(rs, lambda r: r[DIV])
            x = np.array([grid.index(d) for d in cells])
            for ax, col in zip(axes, (f"{FROZEN}.proxy_reliance", f"{FROZEN}.steering_gap", f"{PLASTIC}.steering_gap")):
                vals = [np.array([r[col] for r in c], dtype=float) for c in cells.values()]
                m = np.array([np.nanmean(v) for v in vals])
                se = np.array([np.nanstd(v) / math.sqrt(max(np.isfinite(v).sum(), 1)) for v in vals])
                ax.errorbar(x, m, yerr=1.96 * se, marker="o" if backend == "rate" else "s", capsize=2,
                            ls="-" if backend == "rate" else "--", label=f"{backend} {size:,}")
    for ax, title, limit in zip(axes, ("frozen shift: proxy_reliance", "frozen shift: steering_gap",
                                       "plastic shift: steering_gap"), (PROXY_LIMIT, GAP_LIMIT, GAP_LIMIT)):
        ax.axhline(limit, color="grey", lw=0.8, ls=":")
        diversity_axis(ax)
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths = [out / "steering_diversity.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for size, rs in _cells(data["diversity/results"], lambda r: int(r[SIZE])).items():
        cells = diversity_rows(rs)
        x = np.array([grid.index(d) for (_, d) in cells])
        frozen = np.array([m[f"{FROZEN}.catastrophes"] for m in cells.values()])
        before = np.array([m[f"{PLASTIC}.catastrophes_before_recovery"] for m in cells.values()])
        line, = ax.plot(x, frozen, marker="o", label=f"{size:,} units, frozen (300 trials)")
        ax.plot(x, before, marker="x", ls="--", color=line.get_color(), label=f"{size:,} units, plastic: before recovery")
    diversity_axis(ax)
    ax.set_ylabel("deaths per replica")
    ax.set_title("irreversibility: deaths in the cue-conflict shift")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "steering_irreversibility.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths
