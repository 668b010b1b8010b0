"""Linear decoders (standardised features, L2 logistic regression) scored by balanced accuracy:
0.5 is chance for two balanced classes, 1 a perfect read-out.

``cv_accuracy``: stratified k-fold within one set of trials; ``transfer_accuracy``: fitted on one
phase, scored on another (does the decoder's axis survive the shift?); ``probe_run``: every target,
replica and phase of a run, in rows ready for a CSV.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .trials import TARGETS, load_phase

FOLDS = 5
C = 1.0   # inverse L2 strength of the logistic regression


def _decoder():
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))


def _usable(X: np.ndarray, y: np.ndarray, folds: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    keep = y >= 0
    X, y = X[keep], y[keep]
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or (folds and counts.min() < folds):
        return None
    return X, y


def cv_accuracy(X: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> float:
    """Cross-validated balanced accuracy of decoding y (N,) from X (N, U); trials with y < 0 are
    left out; NaN when fewer than two classes, or a class with fewer trials than folds."""
    got = _usable(X, y, folds)
    if got is None:
        return math.nan
    X, y = got
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(balanced_accuracy_score(y, cross_val_predict(_decoder(), X, y, cv=cv)))


def transfer_accuracy(X_fit: np.ndarray, y_fit: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    """Balanced accuracy on (X_test, y_test) of a decoder fitted on (X_fit, y_fit); NaN when either
    side has fewer than two classes."""
    fit, test = _usable(X_fit, y_fit), _usable(X_test, y_test)
    if fit is None or test is None:
        return math.nan
    model = _decoder().fit(*fit)
    with warnings.catch_warnings():   # a category new in the shift is never predicted: that scores 0, as it should
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(test[1], model.predict(test[0])))


def probe_run(run_dir: str | Path, reference: str = "test",
              shifts: Sequence[str] = ("cue_conflict", "novel_items"),
              n_units: Sequence[int | None] = (None,)) -> list[dict]:
    """One row per (units, replica, target, probe) of a run: probe ``cv:<phase>`` (within the
    phase), ``transfer:<reference>-><shift>`` and ``pooled:<reference>+<shift>`` (cross-validated
    on both phases' trials together: there the cue no longer predicts taste, so a taste decoder
    must read something else). n_units: decode from the first n recorded units (None: all of
    them), to check that the recorded sample is enough. Each row: units, replica, target, probe,
    accuracy, trials."""
    phases = {name: load_phase(run_dir, name) for name in (reference, *shifts)}
    rows = []
    recorded = phases[reference].activity.shape[2]
    for n in n_units:
        n = recorded if n is None else min(int(n), recorded)
        rows += _probe_rows({name: d.activity[..., :n] for name, d in phases.items()},
                            {name: d.labels for name, d in phases.items()}, reference, shifts, n)
    return rows


def _probe_rows(activity: dict, labels: dict, reference: str, shifts: Sequence[str], n_units: int) -> list[dict]:
    rows = []
    for k in range(activity[reference].shape[0]):
        for target in TARGETS:
            def add(probe, accuracy, n):
                rows.append({"units": n_units, "replica": k, "target": target, "probe": probe,
                             "accuracy": accuracy, "trials": n})
            for name in activity:
                y = labels[name][target][k]
                add(f"cv:{name}", cv_accuracy(activity[name][k], y), int((y >= 0).sum()))
            for name in shifts:
                X0, y0 = activity[reference][k], labels[reference][target][k]
                X1, y1 = activity[name][k], labels[name][target][k]
                add(f"transfer:{reference}->{name}", transfer_accuracy(X0, y0, X1, y1), int((y1 >= 0).sum()))
                X, y = np.concatenate([X0, X1]), np.concatenate([y0, y1])
                add(f"pooled:{reference}+{name}", cv_accuracy(X, y), int((y >= 0).sum()))
    return rows
