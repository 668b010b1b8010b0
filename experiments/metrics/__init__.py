"""Metrics: per-phase scorers (``sequence``, ``steering``) and the ``metrics.json`` layout.

``metrics.json`` is keyed by phase name, then metric name. Each metric is the mean over replicas
(``null`` where it does not apply); ``<metric>_chance`` is the same metric for a chance-level
agent (uniform predictor / random chooser), and ``per_replica`` holds the per-replica values.
The README lists and defines every metric.
"""
from __future__ import annotations

import math

import numpy as np


def _scalar(values) -> float | None:
    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.isfinite(values).any():
        return None
    return float(np.nanmean(np.where(np.isfinite(values), values, np.nan)))


def _list(values) -> list:
    return [None if not math.isfinite(float(v)) else float(v) for v in np.asarray(values, dtype=float).ravel()]


def summarize(per_replica: dict, chance: dict | None = None) -> dict:
    """Per-replica arrays -> the phase's block in metrics.json (means, chance levels, per replica)."""
    out: dict = {}
    for name, values in per_replica.items():
        out[name] = _scalar(values)
    for name, values in (chance or {}).items():
        out[f"{name}_chance"] = _scalar(values)
    out["per_replica"] = {name: _list(values) for name, values in per_replica.items()}
    return out


def cross_phase(metrics: dict, world_kind: str) -> None:
    """Metrics that compare phases (the steering gap), added in place."""
    if world_kind == "foraging":
        from experiments.metrics.steering import cross_phase as steering_cross_phase

        steering_cross_phase(metrics)
