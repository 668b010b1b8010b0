"""Memory refusal shared by the cortex backends: what the machine can still give, and the message.

Each backend estimates its own peak from its parameters (``cortex.rate.memory``,
``cortex.spiking.memory``; the readout's share comes from :func:`readout_bytes`) as a
dict of bytes by part. :func:`refusal` compares their sum with :func:`available_bytes` and words the
message that ``experiments.config`` reports under ``cortex.n_units`` (exit 2, nothing written).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from cortex.readout import ReadoutParams

GIB = 2.0**30
#: inputs assumed when the world's alphabet is not known yet (validation does not pass it)
N_INPUTS = 64


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


def refusal(parts: dict[str, float], size: str, hints: Sequence[str], fewer: str) -> str | None:
    """The message refusing a cortex whose parts (bytes by name) add up to more than the memory
    available, or None when it fits or the available memory is unknown.

    ``size``: what was asked for ("8000 neurons x 5 replicas"); ``hints``: settings that shrink
    the estimate; ``fewer``: the last resort ("replicas or units"). Parts of at least 5% of the
    total are named, largest first.
    """
    total, free = sum(parts.values()), available_bytes()
    if free is None or total <= free:
        return None
    big = ", ".join(f"{name} {b / GIB:.1f} GiB" for name, b in sorted(parts.items(), key=lambda kv: -kv[1])
                    if b >= 0.05 * total)
    use = ", ".join(hints) + " or " if hints else ""
    return (f"{size} need about {total / GIB:.1f} GiB ({big}), more than the {free / GIB:.1f} GiB of memory "
            f"available; use {use}fewer {fewer}")


def readout_bytes(params: "ReadoutParams", n_replicas: int, n_features: int, n_outputs: int, block_rows: int,
                  itemsize: int) -> float:
    """Bytes a readout of ``params.kind`` holds at its peak, for K = ``n_replicas`` replicas of F =
    ``n_features`` features, ``n_outputs`` outputs and blocks of ``block_rows`` learned rows, in
    floats of ``itemsize`` bytes: the one rule of every backend's memory estimate.

    RLS: P (K F^2) and a block's masked rows, G = X P and H (3 K B F). Projected RLS with F > D:
    P on D + 1 dimensions, M in CSR (value and 32-bit index per entry, and the float64 COO draw it
    is built from), the block's transposed copy, z and its products. Delta: the weights and their
    update (2 K F n_out), the block's rows and gradients (2 K B F).
    """
    k, f, b, item = n_replicas, n_features, block_rows, itemsize
    if params.kind == "projected_rls" and f > params.dim:
        d = params.dim + 1
        fan = f * params.fanout
        return float(k * d * d * item + k * fan * (item + 4) + fan * 40 + k * b * (f + 4 * d) * item)
    if params.kind in ("rls", "projected_rls"):
        return float(k * f * f * item + 3 * k * b * f * item)
    return float(2 * k * f * n_outputs * item + 2 * k * b * f * item)
