"""Innate sensors: fixed wiring from the world's hidden properties to named subcortical signals.

A sensor reads one hidden property that the world reveals at the moment of contact (a taste in the
mouth, nutrients reaching the gut, a thorn in the hand). The world reports NaN where nothing was
revealed this step; a sensor passes that NaN on, so downstream code can tell "sensed 0" from
"sensed nothing".
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

#: sensor name (YAML) -> the world's hidden property it reads
SENSORS: dict[str, str] = {
    "taste.sweet": "sweet",
    "taste.bitter": "bitter",
    "gut.nutrition": "nutrition",
    "pain": "pain",
}


def read_sensors(sensors: tuple[str, ...], hidden: Mapping[str, np.ndarray] | None,
                 n_replicas: int) -> dict[str, np.ndarray]:
    """Read each named sensor from the world's revealed hidden properties.

    ``hidden`` maps property name -> (K,) float, NaN where not revealed; ``None`` means nothing was
    revealed at all (e.g. the first step of a phase). Returns sensor name -> (K,) float (NaN = not
    sensed). Units are those of the world's properties (taste intensity, nutrition per item).
    """
    out = {}
    for name in sensors:
        value = None if hidden is None else hidden.get(SENSORS[name])
        out[name] = (np.full(n_replicas, np.nan) if value is None
                     else np.asarray(value, dtype=float).reshape(n_replicas))
    return out


def options_to_sensors(sensors: tuple[str, ...], options: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Same mapping for counterfactual options: property -> (K, A) becomes sensor -> (K, A)."""
    return {name: np.asarray(options[SENSORS[name]], dtype=float)
            for name in sensors if SENSORS[name] in options}
