"""Figures of the scaling study (docs/figures/scaling_*.png), drawn from the committed CSVs only
(tools/scaling_study.py loads them): `python tools/scaling_study.py --figures`."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import (FIGURES, PROJECTED_AT, RUNGS, STRINGS, baseline_curves, chance, data_points, data_sizes,  # noqa: E402
                          data_strings, heldout_points, load, missing, size_points, spiking_missing, spiking_points)
from scaling_readout import READOUT_RUNG, spiking_readout_points  # noqa: E402
from scaling_tables import probe_cells  # noqa: E402

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
    """Size ticks, the powers of two from 1,024 up as 1k, 4k, 16k, 64k (full numbers collide)."""
    ax.set_xticks(xs, [f"{x // 1024}k" if x >= 1024 and x % 1024 == 0 else f"{x:,}" for x in xs], fontsize=7)
    ax.minorticks_off()


def ladder(data, plt, out: Path) -> Path:
    """Each rung's metric against rate-cortex size at STRINGS strings, spiking cortex and baselines."""
    fig, axes = plt.subplots(2, 4, figsize=(12.8, 6.0))
    axes = axes.ravel()
    axes[-1].axis("off")
    sizes = sorted({n for r in RUNGS for n in size_points(data, r)})
    _, proj = spiking_readout_points(data)
    dim = max((d for _, d in proj), default=None)
    for ax, rung in zip(axes, RUNGS):
        pts = size_points(data, rung)
        ax.set_xlim(min(sizes) / 1.5, max(sizes) * 1.5)
        xs = sorted(pts)
        ax.errorbar(xs, [np.mean(pts[x]) for x in xs], [np.std(pts[x]) for x in xs], marker="o", label="rate cortex")
        held = heldout_points(data, rung)
        if held:
            xs = sorted(held)
            ax.errorbar(xs, [np.mean(held[x]) for x in xs], [np.std(held[x]) for x in xs], marker="D", ms=4, mfc="white",
                        ls="--", color="tab:blue", label="rate cortex, one ridge per rung (held-out seeds)")
        sp = spiking_points(data, rung)
        full = sorted(x for x in sp if x not in PROJECTED_AT)
        if full:
            ax.errorbar(full, [np.mean(sp[x]) for x in full], [np.std(sp[x]) for x in full], marker="s", ms=4,
                        color="tab:orange", label="spiking cortex (neurons)")
        # past full RLS's memory (PROJECTED_AT): hollow, dotted on from the last full-RLS point; embedded
        # Reber's are in its projected series below, which also runs where full RLS did
        big = sorted(x for x in sp if x in PROJECTED_AT) if rung != READOUT_RUNG else []
        if big:
            xs = full[-1:] + big
            ax.errorbar(xs, [np.mean(sp[x]) for x in xs], [np.std(sp[x]) for x in xs], marker="s", ms=4, mfc="white",
                        ls=":", color="tab:orange", label=f"spiking cortex, readout projected to {PROJECTED_AT[big[-1]]:,}")
        if rung == READOUT_RUNG and dim:   # the spiking cortex with the larger projected readout (full RLS beside it)
            xs = sorted(n for n, d in proj if d == dim)
            ax.errorbar(xs, [np.mean(list(proj[(x, dim)].values())) for x in xs], [np.std(list(proj[(x, dim)].values())) for x in xs],
                        marker="s", ms=4, mfc="white", ls=":", color="tab:orange",
                        label=f"spiking cortex, readout projected to {dim:,}")
        for (b, n) in spiking_missing(data):   # a failed spiking point: an x on the lower edge, and said
            if b == rung:
                ax.plot([n], [0.0], ls="none", marker="x", ms=8, mew=2, color="tab:orange", clip_on=False,
                        transform=ax.get_xaxis_transform())
                ax.text(0.97, 0.30, f"x: spiking, {n:,} neurons, full RLS:\nrun failed (no value)", transform=ax.transAxes,
                        fontsize=6.5, ha="right", va="bottom", color="firebrick")
        for bname, curve in sorted(baseline_curves(data, rung).items()):
            if STRINGS in curve:   # baselines have no size: a line at their STRINGS-string value
                look = {k: v for k, v in LOOKS.get(bname, {}).items() if k != "marker"}
                ax.axhline(curve[STRINGS], **{"lw": 1, **look}, label=NAMES.get(bname, bname))
        _panel(ax, data, rung, "cortex size (units; spiking: neurons)")
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


SOURCE_LOOKS = {"rate": dict(color="tab:blue", marker="o"), "spiking: spike counts": dict(color="tab:orange", marker="s"),
                "spiking: counts": dict(color="tab:red", marker="D"), "no cortex": dict(color="0.5", marker="x")}


def _source_look(source: str) -> dict:
    return next(v for k, v in SOURCE_LOOKS.items() if source.startswith(k))


def probes(data, plt, out: Path) -> Path | None:
    """Left: decoder scores against rate-cortex size, one line per rung and latent (depth dashed).
    Right: the rungs with a spiking config (embedded Reber), the rate cortex beside the spiking
    cortex by size (spike counts; the counts with the readout's filters) and the input symbols
    through those filters (no cortex); the branch solid, the state dashed."""
    cells = probe_cells(data)
    if not cells:
        return None
    spiking_rungs = {rung for rung, source, _ in cells if not source.startswith("rate")}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.6), gridspec_kw={"width_ratios": [1.25, 1]})
    rate = [(rung, target) for rung, source, target in cells if source.startswith("rate")]
    colors = dict(zip(rate, plt.get_cmap("tab20")(np.linspace(0, 1, len(rate)))))
    mean = lambda by, x: float(np.nanmean([v for v, _ in by[x]]))  # noqa: E731
    for (rung, source, target), by in cells.items():
        xs = sorted(by)
        if source.startswith("rate"):
            left.plot(xs, [mean(by, x) for x in xs], marker="o", color=colors[(rung, target)],
                      ls="--" if target == "depth" else "-", label=f"{RUNGS[rung][0]}: {target}")
        if rung in spiking_rungs:
            right.plot(xs, [mean(by, x) for x in xs], ls="-" if target == "branch" else "--", ms=6,
                       **_source_look(source), label=f"{source}; {target}")
    def ticks(ax, xs):
        ax.set_xticks(xs, [f"{x:,}" for x in xs], fontsize=7)
        ax.minorticks_off()

    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_ylabel("balanced accuracy (depth: R^2)")
        ticks(ax, sorted({x for (_, source, _), by in cells.items() if source.startswith("rate") for x in by}))
    left.set_xlabel("rate cortex size (units)")
    left.set_title("rate cortex, every rung", fontsize=9)
    right.set_xlabel("rate cortex size (units)")
    right.set_title(", ".join(RUNGS[r][0] for r in sorted(spiking_rungs)) + ": rate and spiking cortex", fontsize=9)
    top = right.twiny()   # the spiking sizes on the top axis, the same scale
    top.set_xscale("log", base=2)
    top.set_xlim(right.get_xlim())
    ticks(top, sorted({x for (rung, source, _), by in cells.items() if not source.startswith("rate") for x in by}))
    top.set_xlabel("spiking cortex size (neurons)", fontsize=8)
    if spiking_rungs:
        right.axhline(0.5, color="black", lw=0.6, label="chance (branch)")
    left.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    right.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("decoders on 64 recorded units or neurons (16 at 16 units), test phase, mean over 5 seeds", fontsize=9)
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
