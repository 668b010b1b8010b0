"""What a rate cortex will hold in memory, estimated from its parameters before anything is built.

``experiments.config`` refuses, at validation, a run whose estimate exceeds the memory available,
so that it fails in a second with the numbers instead of being killed by the kernel an hour in.
The estimate counts the arrays ``cortex.rate`` keeps (W in its stored form, input weights, state,
block buffers, the readout, e-prop's traces) and the largest temporaries of the build (the dense
draw of W), plus the interpreter and libraries; ``bench/rate_cortex.py`` prints it next to the
measured peak resident memory.
"""
from __future__ import annotations

import os

from cortex.rate.params import RateParams

#: Python, numpy, scipy, h5py, pydantic and the experiment code, resident before any cortex
#: (measured: about 70 MiB with the bench's imports, 90 MiB in `neurosteer run`)
BASE_BYTES = 100 * 2**20
#: inputs assumed when the world's alphabet is not known yet (a few more features change nothing)
N_INPUTS = 64


def estimate_bytes(params: RateParams, n_replicas: int, n_inputs: int = N_INPUTS) -> dict[str, float]:
    """Peak bytes by part ('recurrent', 'readout', 'state', 'eprop', 'base'); sum for the total."""
    from cortex.rate.core import SPARSE_DENSITY  # the same rule as the cortex for storing W sparse

    k, n, item = n_replicas, params.n_units, (4 if params.dtype == "float32" else 8)
    f = n + n_inputs + 1
    if params.in_degree is not None:  # kept CSR (value + 32-bit index) and one replica's draw
        nnz = n * params.in_degree
        recurrent = k * nnz * (item + 4) + nnz * 40
    else:  # dense draw (normal, uniform, mask) of one replica, the float64 stack, the kept W
        drawn, kept = 3 * 8 * n * n, k * n * n * (8 + item)
        if params.density <= SPARSE_DENSITY:  # plus the CSR copy and the pattern (3 int64 per entry)
            kept += k * n * n * params.density * (item + 4 + 24)
        else:  # plus the leak-folded copy
            kept += k * n * n * item
        recurrent = drawn + kept
    r, b = params.readout, params.block_steps
    if r.kind == "projected_rls" and f > r.dim:  # P on D + 1, M as CSR (and its COO draw, float64)
        d = r.dim + 1
        readout = k * d * d * item + k * f * r.fanout * (item + 4) + f * r.fanout * 40
        readout += k * b * (f + 4 * d) * item  # the block's transposed copy, z and its products
    elif r.kind in ("rls", "projected_rls"):
        readout = k * f * f * item + 3 * k * b * f * item  # P; the block's masked rows, G and H
    else:
        readout = 2 * k * f * n_inputs * item + 2 * k * b * f * item
    state = k * (2 * n * n_inputs + 4 * n + b * f) * item  # U and its folded copy, v, r, the block buffer
    eprop = 0.0
    if params.model == "eprop":  # mask and update of W, traces per time-constant group and block row
        eprop = k * (2 * n * n + params.n_timescales * (params.block_steps + 1) * n) * item
    return {"recurrent": float(recurrent), "readout": float(readout), "state": float(state),
            "eprop": float(eprop), "base": float(BASE_BYTES)}


def available_bytes() -> int | None:
    """Memory the kernel can still hand out (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def refusal(params: RateParams, n_replicas: int, n_inputs: int = N_INPUTS) -> str | None:
    """Why a run of this cortex would not fit in memory (a message for ``cortex.n_units``), or None."""
    parts = estimate_bytes(params, n_replicas, n_inputs)
    total, free = sum(parts.values()), available_bytes()
    if free is None or total <= free:
        return None
    gib = 2.0**30
    big = ", ".join(f"{name} {b / gib:.1f} GiB" for name, b in sorted(parts.items(), key=lambda kv: -kv[1]) if b >= 0.05 * total)
    hint = []
    if params.in_degree is None:
        hint.append("cortex.in_degree (W stays sparse)")
    if params.readout.kind == "rls":
        hint.append("cortex.readout.kind: projected_rls (no F x F matrix per replica)")
    return (f"{params.n_units} units x {n_replicas} replicas need about {total / gib:.1f} GiB ({big}), more than the "
            f"{free / gib:.1f} GiB of memory available; use " + (", ".join(hint) + " or " if hint else "") + "fewer replicas or units")
