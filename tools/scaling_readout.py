"""The spiking cortex's readout in the scaling study (docs/results.md, "Language"): full RLS against RLS
on a fixed projection of its features (cortex_scaling_spiking_projected.yaml), paired by seed."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_study import RUNGS, SPIKING_PROJECTED, SPIKING_SWEEPS, rung_of  # noqa: E402
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
