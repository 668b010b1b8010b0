"""The teaching signals the subcortex sends up: a reward prediction error and per-signal errors.

The subcortex never sees inside the cortex. It only receives the cortex's value estimate (the
long-term predictor) and its thought assessments (short-term predictors) as plain numbers, and it
keeps last step's copies of them so that it can score them once the outcome is sensed.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np


def td_error(reward: np.ndarray, value: np.ndarray | None, prev_value: np.ndarray | None,
             gamma: float) -> np.ndarray:
    """Dopamine: r + gamma * V(t) - V(t-1), per replica (dimensionless).

    ``reward`` is what was sensed in the transition from t-1 to t. ``value=None`` marks a terminal
    step (nothing follows, V(t) = 0); ``prev_value=None`` marks the first step of a phase, where no
    prediction was made yet and the error is 0.
    """
    if prev_value is None:
        return np.zeros_like(reward)
    v_now = 0.0 if value is None else value
    return reward + gamma * v_now - prev_value


def supervisory_errors(sensed: Mapping[str, np.ndarray], prev_assessments: np.ndarray | None,
                       assessed: tuple[str, ...], n_replicas: int) -> np.ndarray:
    """Per assessed signal: sensed value minus the assessment made one step earlier, (K, S).

    NaN where the signal was not sensed (nothing to learn from), and everywhere on the first step of
    a phase (no assessment was made yet).
    """
    if prev_assessments is None or not assessed:
        return np.full((n_replicas, len(assessed)), np.nan)
    return np.stack([sensed[s] for s in assessed], axis=1) - prev_assessments
