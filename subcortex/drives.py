"""Homeostatic drives (hunger, thirst ...): a level that creeps up every step and falls when the
sensor that satisfies it fires. Reward rules read the levels, so the same taste is worth more to a
hungry animal than to a sated one.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .params import DriveParams


def initial_levels(drives: Mapping[str, DriveParams], n_replicas: int) -> dict[str, np.ndarray]:
    """Starting level of every drive, (K,) each, in the drive's own units (0..1 by default)."""
    return {name: np.full(n_replicas, p.initial) for name, p in drives.items()}


def step_drive(level: np.ndarray, sensed: Mapping[str, np.ndarray], params: DriveParams) -> np.ndarray:
    """One environment step of one drive.

    level: (K,) current level; sensed: sensor -> (K,) (NaN = not sensed). The level rises by
    ``rise_per_step``, falls by ``fall_per_unit`` per unit of ``sated_by`` sensed, and is clipped to
    [low, high]. Returns the new (K,) level.
    """
    relief = np.nan_to_num(sensed[params.sated_by], nan=0.0) * params.fall_per_unit
    return np.clip(level + params.rise_per_step - relief, params.low, params.high)
