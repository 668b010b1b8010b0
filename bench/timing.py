"""Timing helpers shared by the benchmarks."""
from __future__ import annotations

import time


def record_calls(owner, name: str) -> list[float]:
    """Replace the method ``owner.name`` by a wrapper that appends each call's wall time (s) to
    the returned list, so a benchmark can tell one part of a run from the whole."""
    inner = getattr(owner, name)
    spent: list[float] = []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(owner, name, timed)
    return spent
