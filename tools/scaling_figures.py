"""Figures of the scaling study (docs/figures/scaling_*.png), drawn from the committed CSVs only
(tools/scaling_study.py loads them): `python tools/scaling_study.py --figures`."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import (FIGURES, RUNGS, STRINGS, _num, baseline_curves, chance, data_points,  # noqa: E402
                          data_sizes, data_strings, load, missing, size_points)

# one look per baseline, the same in both figures: n-grams grey, the two LSTM regimes apart
LOOKS = {
    "1-gram": dict(color="0.55", ls=":"),
    "2-gram": dict(color="0.55", ls="--"),
    "3-gram": dict(color="0.55", ls="-."),
    "4-gram": dict(color="0.55", ls=(0, (6, 2, 1, 2, 1, 2))),
    "LSTM one_pass": dict(color="tab:red", ls=(0, (2, 2)), lw=1.2, marker="v"),
    "LSTM converge": dict(color="darkred", ls="-", lw=2.0, marker="*"),
}
NAMES = {"LSTM one_pass": "LSTM, one pass over the strings", "LSTM converge": "LSTM, trained to convergence"}


def _legend(axes, n_rungs: int, title: str | None = None) -> None:
    """One legend in the spare panel: every line of any panel, once; the cortex first, then the
    baselines, then the reference lines."""
    seen: dict = {}
    for ax in axes[:n_rungs]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    order = ("rate cortex", "spiking", "best n-gram", "1-gram", "2-gram", "3-gram", "4-gram", "LSTM, one", "LSTM, trained",
             "criterion", "chance")
    labels = sorted(seen, key=lambda lab: next((i for i, o in enumerate(order) if lab.startswith(o)), len(order)))
    axes[-1].legend([seen[lab] for lab in labels], labels, fontsize=8, loc="center", title=title, title_fontsize=8)


def _panel(ax, data, rung, xlabel: str) -> None:
    label, phase, metric, crit, hb = RUNGS[rung]
    ax.axhline(crit, color="green", lw=0.8, label="criterion")
    if hb:
        ax.axhline(chance(data, rung), color="black", lw=0.8, label="chance")
    ax.set_xscale("log", base=2)
    ax.set_title(label, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(f"{phase}.{metric}", fontsize=8)


def _ticks(ax, xs) -> None:
    ax.set_xticks(xs, [f"{x:,}" for x in xs], fontsize=7)
    ax.minorticks_off()


def ladder(data, plt, out: Path) -> Path:
    """Each rung's metric against rate-cortex size at STRINGS strings, spiking cortex and baselines."""
    fig, axes = plt.subplots(2, 4, figsize=(12.8, 6.0))
    axes = axes.ravel()
    axes[-1].axis("off")
    sizes = sorted({n for r in RUNGS for n in size_points(data, r)})
    for ax, rung in zip(axes, RUNGS):
        pts = size_points(data, rung)
        xs = sorted(pts)
        ax.errorbar(xs, [np.mean(pts[x]) for x in xs], [np.std(pts[x]) for x in xs], marker="o", label="rate cortex")
        if rung == "embedded_reber.yaml":
            sp = {int(r["cortex.n_units"]): _num(r["test.longrange_accuracy"]) for r in data["spiking"]["results"]}
            if sp:
                ax.plot(sorted(sp), [sp[n] for n in sorted(sp)], "s-", color="tab:orange", label="spiking cortex (neurons)")
        for bname, curve in sorted(baseline_curves(data, rung).items()):
            if STRINGS in curve:   # baselines have no size: a line at their STRINGS-string value
                look = {k: v for k, v in LOOKS.get(bname, {}).items() if k != "marker"}
                ax.axhline(curve[STRINGS], **{"lw": 1, **look}, label=NAMES.get(bname, bname))
        _panel(ax, data, rung, "cortex size (units)")
        _ticks(ax, sizes)
    _legend(axes, len(RUNGS), f"all at {STRINGS:,} training strings")
    fig.tight_layout()
    fig.savefig(out / "scaling_ladder.png", dpi=110)
    plt.close(fig)
    return out / "scaling_ladder.png"


def data_axis(data, plt, out: Path) -> Path:
    """Each rung's metric against training strings, one line per data-axis size; the best n-gram and
    the one-pass LSTM on the same strings; the LSTM trained to convergence at STRINGS strings; a
    failed point written in its panel."""
    fig, axes = plt.subplots(2, 4, figsize=(12.8, 6.0))
    axes = axes.ravel()
    axes[-1].axis("off")
    sizes, strings, gone = data_sizes(data), data_strings(data), missing(data)
    colors = dict(zip(sizes, plt.get_cmap("Blues")(np.linspace(0.4, 1.0, len(sizes)))))
    for ax, rung in zip(axes, RUNGS):
        hb = RUNGS[rung][4]
        for n in sizes:
            pts = data_points(data, rung, n)
            xs = sorted(pts)
            ax.errorbar(xs, [np.mean(pts[x]) for x in xs], [np.std(pts[x]) for x in xs], marker="o", ms=4,
                        color=colors[n], label=f"rate cortex, {n:,} units")
        curves = baseline_curves(data, rung)
        grams = {k: c for k, c in curves.items() if "gram" in k}
        best = {s: (max if hb else min)(c[s] for c in grams.values() if s in c) for s in strings
                if any(s in c for c in grams.values())}
        if best:
            ax.plot(sorted(best), [best[s] for s in sorted(best)], color="0.55", ls="--", marker=".", lw=1,
                    label="best n-gram (order per point)")
        one = curves.get("LSTM one_pass", {})
        if one:   # the one-pass LSTM has a data axis: a line over strings
            ax.plot(sorted(one), [one[s] for s in sorted(one)], ms=5, **LOOKS["LSTM one_pass"],
                    label=NAMES["LSTM one_pass"])
        if STRINGS in curves.get("LSTM converge", {}):   # trained to convergence at STRINGS strings only
            look = LOOKS["LSTM converge"]
            ax.plot([STRINGS], [curves["LSTM converge"][STRINGS]], ls="none", marker=look["marker"], ms=11,
                    color=look["color"], label=NAMES["LSTM converge"] + f" ({STRINGS:,} strings)")
        failed = [f"x: {n:,} units, {s:,} strings, run failed (no value)" for (b, n, s) in sorted(gone, key=lambda k: k[1:]) if b == rung]
        for (b, n, s) in gone:   # where the missing point would be, on the panel's lower edge
            if b == rung and n in colors:
                ax.plot([s], [0.0], ls="none", marker="x", ms=8, mew=2, color=colors[n], clip_on=False,
                        transform=ax.get_xaxis_transform())
        if failed:
            ax.text(0.03, 0.97 if not hb else 0.05, "\n".join(failed), transform=ax.transAxes, fontsize=6.5,
                    va="top" if not hb else "bottom", color="firebrick")
        _panel(ax, data, rung, "training strings")
        _ticks(ax, strings)
    _legend(axes, len(RUNGS))
    fig.tight_layout()
    fig.savefig(out / "scaling_data.png", dpi=110)
    plt.close(fig)
    return out / "scaling_data.png"


def probes(data, plt, out: Path) -> Path | None:
    """Decoder scores against size, one line per rung and latent."""
    targets = sorted({(r["base"], r["target"]) for r in data["probes"]}, key=lambda t: (list(RUNGS).index(t[0]), t[1]))
    if not targets:
        return None
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
    fig.savefig(out / "scaling_probes.png", dpi=110)
    plt.close(fig)
    return out / "scaling_probes.png"


def figures(out: Path = FIGURES) -> list[Path]:
    """scaling_ladder.png (metric vs size per rung and backend), scaling_data.png (vs strings, one
    line per size) and scaling_probes.png (decoder scores vs size), from the committed CSVs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load()
    return [p for p in (ladder(data, plt, out), data_axis(data, plt, out), probes(data, plt, out)) if p]
