"""The readout in the scaling study (docs/results.md, "Language"), paired by seed: on the spiking cortex
full RLS against RLS on a fixed projection of its features (cortex_scaling_spiking_projected.yaml);
on both backends the readout at several ridges (cortex_scaling_ridge*.yaml,
cortex_scaling_spiking_ridge*.yaml) against the ladder's one ridge; and the rate size axis at one
ridge per rung, chosen on the ridge sweeps' seeds and measured on others (cortex_scaling_ridge_heldout.yaml)."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import (HELDOUT, RATE_RIDGE, ROOT, RUNGS, SIZE_SWEEPS, SPIKING_PROJECTED, SPIKING_RIDGE,  # noqa: E402
                          SPIKING_SWEEPS, heldout_seeds, rung_of)
from study_tables import is_bias, mean_sd, num, paired, table  # noqa: E402

READOUT_RUNG = "embedded_reber.yaml"   # the rung of SPIKING_PROJECTED


def spiking_readout_points(data: dict) -> tuple[dict, dict]:
    """Embedded Reber on the spiking cortex, seed -> value of its metric: full RLS (the spiking
    sweeps) by size, and RLS on a fixed projection (SPIKING_PROJECTED) by (size, readout dim)."""
    _, phase, metric, _, _ = RUNGS[READOUT_RUNG]

    def by_seed(rows, key):
        out: dict = {}
        for r in rows:
            if rung_of(r["base"]) == READOUT_RUNG:
                out.setdefault(key(r), {})[int(r["seed"]) + int(r["replica"])] = num(r[f"{phase}.{metric}"])
        return out
    full = by_seed((r for name in SPIKING_SWEEPS for r in data[name]["replicas"]), lambda r: int(r["cortex.n_units"]))
    proj = by_seed(data[SPIKING_PROJECTED]["replicas"], lambda r: (int(r["cortex.n_units"]), int(r["cortex.readout.dim"])))
    return full, proj


def spiking_readout_table(data: dict) -> str:
    """Per size: full RLS against RLS on each projection, the same seeds, and the paired difference
    (projected - full; * where its 95% t-interval over seeds excludes 0)."""
    full, proj = spiking_readout_points(data)
    _, phase, metric, _, _ = RUNGS[READOUT_RUNG]
    dims = sorted({d for _, d in proj})
    rows = []
    for n in sorted({n for n, _ in proj}):
        row = [f"{n:,}", mean_sd(list(full[n].values())) if n in full else "not run (P: 13 GB)"]
        for d in dims:
            got = proj.get((n, d))
            diff = paired(got, full[n], True) if got and n in full else (float("nan"), float("nan"), 0)
            row += [mean_sd(list(got.values())) if got else "",
                    f"{diff[0]:+.3f} +- {diff[1]:.3f}" + (" *" if is_bias(*diff) else "") if diff[2] else ""]
        rows.append(row)
    return table(["neurons", f"full RLS, {phase}.{metric}"]
                 + [h for d in dims for h in (f"projected to {d:,}", "minus full (paired, s.e.)")], rows)


# -- the readout's ridge: is a fall with size the readout's? ------------------------------------------
LADDER_RIDGE = 30.0   # the ridge of the spiking ladder's RLS (its points stand in the spiking ridge table)
# backend -> (its ridge sweeps, the swept key, the sweeps whose runs give the ladder's own ridge, size noun)
RIDGE = {"rate": (RATE_RIDGE, "cortex.readout.rls_reg_per_feature", SIZE_SWEEPS, "units"),
         "spiking": (SPIKING_RIDGE, "cortex.readout.rls_reg", SPIKING_SWEEPS, "neurons")}


@functools.lru_cache(maxsize=None)
def ladder_ridge(backend: str, rung: str) -> float:
    """The ridge the backend's ladder reads a rung with: the spiking sweeps set LADDER_RIDGE; the
    rate size sweeps leave the rung's config its own ridge per feature (ReadoutParams' default
    0.001, agreement.yaml 0.25)."""
    if backend == "spiking":
        return LADDER_RIDGE
    from experiments.config import load

    return load(ROOT / "configs" / "language" / rung, check_memory=False).cortex.readout.rls_reg_per_feature


def ridge_points(data: dict, backend: str) -> dict[tuple[str, int, float], dict[int, float]]:
    """The backend's cortex at other ridges than its ladder's, (rung, size, ridge) -> seed -> the
    rung's metric: the backend's ridge sweeps, and the ladder's own runs (its one ridge) of the same
    rungs at every size from the smallest to the largest the ridge sweeps ran for that rung."""
    sweeps, key, base_sweeps, _ = RIDGE[backend]
    ridge = [r for name in sweeps for r in data[name]["replicas"]]
    span: dict[str, list[int]] = {}   # rung -> the sizes its ridge sweeps ran: the ladder's sizes between them join
    for r in ridge:
        span.setdefault(rung_of(r["base"]), []).append(int(r["cortex.n_units"]))
    rows = [(r, float(r[key])) for r in ridge]
    for r in (r for name in base_sweeps for r in data[name]["replicas"]):
        rung = rung_of(r["base"])
        if rung in span and min(span[rung]) <= int(r["cortex.n_units"]) <= max(span[rung]):
            rows.append((r, ladder_ridge(backend, rung)))
    out: dict = {}
    for r, reg in rows:
        rung = rung_of(r["base"])
        _, phase, metric, _, _ = RUNGS[rung]
        out.setdefault((rung, int(r["cortex.n_units"]), reg), {})[int(r["seed"]) + int(r["replica"])] = num(r[f"{phase}.{metric}"])
    return out


def _mean(seeds: dict[int, float]) -> float:
    return sum(seeds.values()) / len(seeds)


def _best_ridge(pts: dict, rung: str, n: int) -> float:
    sign = 1 if RUNGS[rung][4] else -1
    return max((reg for b, m, reg in pts if (b, m) == (rung, n)), key=lambda reg: sign * _mean(pts[(rung, n, reg)]))


def _largest_vs_best_smaller(by_size: dict[int, dict[int, float]], hb: bool) -> tuple[int, int | None, tuple]:
    """(the largest size, the smaller size with the best seed mean, the largest's paired advantage
    over it: paired's (mean, s.e., n); n 0 where there is one size only)."""
    hi = max(by_size)
    lo = max((n for n in by_size if n != hi), key=lambda n: (1 if hb else -1) * _mean(by_size[n]), default=None)
    return hi, lo, paired(by_size[hi], by_size[lo], hb) if lo else (float("nan"), float("nan"), 0)


CHOICE_SIZES = (1024, 4096, 16384)   # the sizes whose mean picks a rung's one ridge (cortex_scaling_ridge_heldout.yaml)


def chosen_ridge(data: dict, rung: str, backend: str = "rate") -> float:
    """One ridge for every size of a rung: of the ridges run at every one of CHOICE_SIZES (seeds
    0-4), the one with the best mean metric over those sizes. cortex_scaling_ridge_heldout.yaml
    runs each rung at it on other seeds, so the choice is not made on the score it is judged by."""
    pts = ridge_points(data, backend)
    ridges = {reg for b, _, reg in pts if b == rung}
    ok = [reg for reg in ridges if all((rung, n, reg) in pts for n in CHOICE_SIZES)]
    sign = 1 if RUNGS[rung][4] else -1
    return max(ok, key=lambda reg: sign * sum(_mean(pts[(rung, n, reg)]) for n in CHOICE_SIZES))


def ridge_table(data: dict, backend: str) -> str:
    """Per rung and size: the metric at each ridge (mean +- s.d. over the same seeds), the ladder's
    ridge, the best ridge, and its paired gain over the ladder's (* where its 95% t-interval over seeds
    excludes 0; blank where the best is the ladder's)."""
    noun = RIDGE[backend][3]
    pts = ridge_points(data, backend)
    ridges = sorted({reg for _, _, reg in pts})
    rows = []
    for rung, n in sorted({(b, m) for b, m, _ in pts}, key=lambda c: (list(RUNGS).index(c[0]), c[1])):
        label, phase, metric, _, hb = RUNGS[rung]
        best, base_ridge = _best_ridge(pts, rung, n), ladder_ridge(backend, rung)
        diff = paired(pts[(rung, n, best)], pts.get((rung, n, base_ridge), {}), hb)
        rows.append([label, f"{phase}.{metric}", f"{n:,}"]
                    + [mean_sd(list(pts[(rung, n, reg)].values())) if (rung, n, reg) in pts else "" for reg in ridges]
                    + [f"{base_ridge:g}", f"{best:g}", f"{diff[0]:+.3f} +- {diff[1]:.3f}" + (" *" if is_bias(*diff) else "")
                       if diff[2] and best != base_ridge else ""])
    return table(["rung", "metric", noun] + [f"ridge {reg:g}" for reg in ridges]
                 + ["the ladder's ridge", "best ridge", "gain of the best over the ladder's (paired, s.e.)"], rows) if rows else ""


def ridge_summary(data: dict, backend: str) -> str:
    """In words, per rung run at two sizes or more: each size at its best ridge, and the largest
    against the best of the smaller sizes, each at its best ridge (seed by seed; the best picked on
    the same test score, which favours it a little): does the biggest cortex gain once every size
    has the ridge that suits it?"""
    noun = RIDGE[backend][3]
    pts = ridge_points(data, backend)
    out = []
    for rung in RUNGS:
        sizes = sorted({m for b, m, _ in pts if b == rung})
        if len(sizes) < 2:
            continue
        hb = RUNGS[rung][4]
        best = {n: _best_ridge(pts, rung, n) for n in sizes}
        hi, lo, (m, se, k) = _largest_vs_best_smaller({n: pts[(rung, n, best[n])] for n in sizes}, hb)
        how = ("better than" if m > 0 else "worse than") if is_bias(m, se, k) else "level with"
        out.append(f"{RUNGS[rung][0]}, each size at its best ridge "
                   f"({', '.join(f'{n:,} {noun}: ridge {best[n]:g}, {_mean(pts[(rung, n, best[n])]):.3f}' for n in sizes)}): "
                   f"{hi:,} {noun} are {how} {lo:,}, the best smaller size ({m:+.3f} +- {se:.3f}, the same seeds).")
    return " ".join(out)


def heldout_table(data: dict) -> str:
    """Per rung: its one ridge (chosen_ridge, on seeds 0-4) and the metric at each size on seeds 5-9
    (mean +- s.d.), and the largest size's paired advantage over the best smaller one (* where its 95%
    t-interval over seeds excludes 0)."""
    got = {rung: pts for rung in RUNGS if (pts := heldout_seeds(data, rung))}
    ridges = {r["base"]: float(r["cortex.readout.rls_reg_per_feature"]) for r in data[HELDOUT]["replicas"]}
    sizes = sorted({n for pts in got.values() for n in pts})
    rows = []
    for rung, pts in got.items():
        label, phase, metric, _, hb = RUNGS[rung]
        hi, lo, (m, se, k) = _largest_vs_best_smaller(pts, hb)
        rows.append([label, f"{phase}.{metric}", f"{ridges[rung]:g}"]
                    + [mean_sd(list(pts[n].values())) if n in pts else "not run yet" for n in sizes]
                    + [f"{hi:,} vs {lo:,}: {m:+.3f} +- {se:.3f}" + (" *" if is_bias(m, se, k) else "") if k else ""])
    return table(["rung", "metric", "ridge per feature"] + [f"{n:,}" for n in sizes]
                 + ["largest minus the best smaller size (paired, s.e.)"], rows) if rows else ""
