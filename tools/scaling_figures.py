"""Figures of the scaling study (docs/figures/scaling_*.png), drawn from the committed CSVs only
(tools/scaling_study.py loads them): `python tools/scaling_study.py --figures`."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import (DATA_SIZE, FIGURES, RUNGS, _num, baseline_curves, chance,  # noqa: E402
                          data_points, load, size_points)


def figures(out: Path = FIGURES) -> list[Path]:
    """scaling_ladder.png (metric vs size per rung and backend), scaling_data.png (vs strings) and
    scaling_probes.png (decoder scores vs size), from the committed CSVs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data, paths = load(), []
    n_cols = 4
    for name, points, xlabel in (("ladder", size_points, "cortex size (units)"), ("data", data_points, f"training strings ({DATA_SIZE:,} units)")):
        fig, axes = plt.subplots(2, n_cols, figsize=(3.2 * n_cols, 6.0), sharex=True)
        axes = axes.ravel()
        axes[-1].axis("off")
        for ax, (rung, (label, phase, metric, crit, hb)) in zip(axes, RUNGS.items()):
            pts = points(data, rung)
            xs = sorted(pts)
            ax.errorbar(xs, [np.mean(pts[x]) for x in xs], [np.std(pts[x]) for x in xs], marker="o", label="rate cortex")
            if name == "ladder" and rung == "embedded_reber.yaml":
                sp = {int(r["cortex.n_units"]): _num(r["test.longrange_accuracy"]) for r in data["spiking"]["results"]}
                if sp:
                    ax.plot(sorted(sp), [sp[n] for n in sorted(sp)], "s-", label="spiking cortex")
            styles = itertools.cycle([":", "--", "-.", (0, (1, 4)), (0, (5, 1))])
            for (bname, curve), style in zip(sorted(baseline_curves(data, rung).items()), styles):
                color = "grey" if "gram" in bname else "tab:red"
                if name == "ladder":   # baselines have no size: a line at their 1,000-string value
                    ax.axhline(curve[1000], ls=style, lw=1, color=color, label=bname)
                else:
                    xs_b = sorted(curve)
                    ax.plot(xs_b, [curve[x] for x in xs_b], ls=style, marker=".", lw=1, color=color, label=bname)
            ax.axhline(crit, color="green", lw=0.8, label="criterion")
            if hb:
                ax.axhline(chance(data, rung), color="black", lw=0.8, label="chance")
            ax.set_xscale("log", base=2)
            ax.set_title(label, fontsize=8)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(f"{phase}.{metric}", fontsize=8)
        handles, labels = axes[0].get_legend_handles_labels()
        for ax in axes[1:len(RUNGS)]:   # the lines the first panel lacks (spiking, chance)
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        axes[-1].legend(handles, labels, fontsize=8, loc="center")
        fig.tight_layout()
        paths.append(out / f"scaling_{name}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    targets = sorted({(r["base"], r["target"]) for r in data["probes"]}, key=lambda t: (list(RUNGS).index(t[0]), t[1]))
    if targets:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(targets)))
        for (base, target), color in zip(targets, colors):
            by: dict = {}
            for r in data["probes"]:
                if (r["base"], r["target"]) == (base, target):
                    by.setdefault(int(r["n_units"]), []).append(_num(r["score"]))
            xs = sorted(by)
            ax.plot(xs, [np.nanmean(by[x]) for x in xs], marker="o", color=color, ls="--" if target == "depth" else "-",
                    label=f"{RUNGS[base][0]}: {target}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("cortex size (units)")
        ax.set_ylabel("balanced accuracy (depth: R^2)")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.tight_layout()
        paths.append(out / "scaling_probes.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
