"""Probes of a sequence run's recorded activity: which latent variables of the grammar can a linear
decoder read from the cortex, step by step, and how alike are two cortices' representations?

Targets (per step of a phase, from traces.h5; -1 where undefined):

* ``state``: the grammar state after the input symbol (multi-class; every rung);
* ``branch``: embedded Reber's outer T (0) or P (1), while it must be carried (inner strings);
* ``number``: agreement's number of the subject on top of the stack (singular 0, plural 1);
* ``depth``: counter value (anbn), stack depth (dyck), subjects waiting (agreement): ridge R^2.

Classes are scored by cross-validated balanced accuracy of a ridge classifier (closed form: a
logistic decoder of 20-30 states took minutes a run; chance 1 / classes; states seen fewer times
than there are folds are left out), depth by cross-validated ridge R^2 (0: no better than its mean). ``linear_cka`` compares two activity samples of
the same steps (the same stream: the same replica seed at two sizes); ``state_cka`` compares
state-mean activity (states x units), which needs no common stream (two seeds). ``probe_transfer``
asks whether a state decoder fitted on one cortex reads the other, through a linear map between
their activities fitted on the same steps (two cortices on one stream).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import yaml
from sklearn.linear_model import Ridge, RidgeClassifier, RidgeCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .decode import FOLDS

MAX_STEPS = 2000     # steps per replica given to a decoder (the first ones of the phase)
DEPTH_KINDS = ("anbn", "dyck", "agreement", "phrases")


def load_sequence(run_dir: str | Path, phase: str = "test") -> dict:
    """A phase's activity (K, T, U), the per-step targets (K, T) and the world kind of a run."""
    run_dir = Path(run_dir)
    world = yaml.safe_load((run_dir / "config.yaml").read_text())["world"]
    with h5py.File(run_dir / "traces.h5", "r") as f:
        g = f[phase]
        active = g["input"][()] >= 0
        act, state, depth = g["activity"][()], g["state"][()].astype(int), g["depth"][()].astype(int)
        kind = json.loads(json.dumps(f.attrs["world_kind"]))
    targets = {"state": np.where(active, state, -1)}
    if kind == "embedded_reber":
        m = 7 * int(world.get("n_inner", 1))
        t = ((state >= 2) & (state <= m + 1)) | (state == 2 * m + 2)
        p = ((state >= m + 2) & (state <= 2 * m + 1)) | (state == 2 * m + 3)
        targets["branch"] = np.where(active & t, 0, np.where(active & p, 1, -1))
    if kind == "agreement":
        targets["number"] = np.where(active & (state > 0), state - 1, -1)
    if kind in DEPTH_KINDS:
        targets["depth"] = np.where(active, depth, -1)
    return {"kind": kind, "activity": act, "targets": targets, "active": active}


def cv_class_accuracy(X: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> tuple[float, int]:
    """(cross-validated balanced accuracy of a ridge classifier, classes scored); NaN under 2 classes."""
    keep = y >= 0
    classes, counts = np.unique(y[keep], return_counts=True)
    keep &= np.isin(y, classes[counts >= folds])
    X, y = X[keep], y[keep]
    if len(np.unique(y)) < 2:
        return math.nan, len(np.unique(y))
    model = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
    pred = cross_val_predict(model, X, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    return float(balanced_accuracy_score(y, pred)), len(np.unique(y))


def cv_r2(X: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> float:
    """Cross-validated R^2 of a ridge regression (alpha chosen inside each fold) of y on X."""
    keep = y >= 0
    X, y = X[keep], y[keep].astype(float)
    if len(y) < 2 * folds or y.std() == 0:
        return math.nan
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
    pred = cross_val_predict(model, X, y, cv=KFold(folds, shuffle=True, random_state=seed))
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def probe_sequence_run(run_dir: str | Path, phase: str = "test") -> list[dict]:
    """One row per (replica, target): target, score (balanced accuracy or R^2), chance, steps, units."""
    d = load_sequence(run_dir, phase)
    rows = []
    for k in range(d["activity"].shape[0]):
        X = d["activity"][k, :MAX_STEPS]
        for target, y_all in d["targets"].items():
            y = y_all[k, :MAX_STEPS]
            if target == "depth":
                score, n_classes, measure = cv_r2(X, y), len(np.unique(y[y >= 0])), "r2"
                chance = 0.0
            else:
                (score, n_classes), measure = cv_class_accuracy(X, y), "balanced_accuracy"
                chance = 1 / max(n_classes, 1)
            rows.append({"replica": k, "target": target, "measure": measure, "score": score,
                         "chance": chance, "classes": n_classes, "steps": int((y >= 0).sum()), "units": X.shape[1]})
    return rows


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019) of two samples of the same N items: X (N, p), Y (N, q)."""
    X = X - X.mean(0, dtype=np.float64)   # in float64: the recorded activity is float32, whose sums
    Y = Y - Y.mean(0, dtype=np.float64)   # would change in the last digits with the BLAS thread count
    xy = np.linalg.norm(X.T @ Y) ** 2
    den = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    return float(xy / den) if den > 0 else math.nan


def state_means(activity: np.ndarray, state: np.ndarray) -> dict[int, np.ndarray]:
    """Mean activity (U,) per grammar state over the steps in that state (state >= 0)."""
    return {int(s): activity[state == s].mean(0) for s in np.unique(state[state >= 0])}


def state_cka(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> float:
    """Linear CKA of two state-mean representations over the states both visit."""
    common = sorted(set(a) & set(b))
    if len(common) < 3:
        return math.nan
    return linear_cka(np.stack([a[s] for s in common]), np.stack([b[s] for s in common]))


def probe_transfer(xa: np.ndarray, xb: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Does cortex A's state decoder read cortex B? ``xa`` (N, p), ``xb`` (N, q): two cortices'
    activity on the same N steps; ``y`` (N,) the grammar state (-1: undefined).

    The first half of the steps fits a ridge classifier on A and a ridge map from B's activity to
    A's; the second half scores, by balanced accuracy, the classifier on A itself (``within``) and on
    B mapped into A (``transfer``). Halves, not shuffled folds, so that neighbouring (correlated)
    steps do not straddle the split. Returns (within, transfer, chance); NaNs under 2 classes."""
    keep = y >= 0
    xa, xb, y = xa[keep], xb[keep], y[keep]
    half = len(y) // 2
    fit, test = slice(0, half), slice(half, None)
    classes = np.intersect1d(*(np.unique(y[s]) for s in (fit, test)))
    if len(classes) < 2:
        return math.nan, math.nan, math.nan
    seen = np.isin(y, classes)
    f, t = np.flatnonzero(seen[fit]), half + np.flatnonzero(seen[test])
    decoder = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0)).fit(xa[f], y[f])
    align = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(xb[:half], xa[:half])
    within = balanced_accuracy_score(y[t], decoder.predict(xa[t]))
    transfer = balanced_accuracy_score(y[t], decoder.predict(align.predict(xb[t])))
    return float(within), float(transfer), 1.0 / len(classes)
