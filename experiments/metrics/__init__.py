"""Metrics: per-phase scorers (``sequence``, ``steering``) and the ``metrics.json`` layout.

The scorers know nothing of world kinds or families: each protocol (``experiments.protocols``)
calls its own, and adds its own cross-phase metrics.

``metrics.json`` is keyed by phase name, then metric name. Each metric is the mean over replicas
(``null`` where it does not apply); ``<metric>_chance`` is the same metric for a chance-level
agent (uniform predictor / random chooser) on the phase's own stream or offers, over the same
replicas (``null`` where the metric is), and ``per_replica`` holds the per-replica values.
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


def set_metric(block: dict, name: str, values) -> None:
    """Put per-replica ``values`` (K,) into a phase block as its mean and ``per_replica`` list."""
    block[name] = _scalar(values)
    block.setdefault("per_replica", {})[name] = _list(values)


def summarize(per_replica: dict, chance: dict | None = None) -> dict:
    """Per-replica arrays -> the phase's block in metrics.json (means, chance levels, per replica).

    (K,) arrays are metrics. Arrays of more dimensions are tables that a cross-phase metric needs
    (e.g. the steering recovery tables); they are kept under ``tables`` until the protocol's
    ``cross_phase`` has consumed them (then :func:`drop_tables`). A chance level is NaN for every replica whose metric is NaN.
    """
    metrics = {name: np.asarray(v, dtype=float) for name, v in per_replica.items() if np.ndim(v) <= 1}
    out: dict = {name: _scalar(values) for name, values in metrics.items()}
    for name, values in (chance or {}).items():
        values = np.asarray(values, dtype=float)
        if name in metrics:
            values = np.where(np.isfinite(metrics[name]), values, np.nan)
        out[f"{name}_chance"] = _scalar(values)
    out["per_replica"] = {name: _list(values) for name, values in metrics.items()}
    tables = {name: np.asarray(v) for name, v in per_replica.items() if np.ndim(v) > 1}
    if tables:
        out["tables"] = tables
    return out


def drop_tables(metrics: dict) -> None:
    """Remove every phase's ``tables`` in place, once the protocol's cross-phase metrics have
    consumed them, so that what remains is what metrics.json holds."""
    for block in metrics.values():
        block.pop("tables", None)
