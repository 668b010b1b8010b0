"""Fits of a rung's metric against cortex size, and the first size (or number of training strings)
at which a rung meets its criterion: the numbers of docs/results.md's language section.

Two models, both in x = log2(size), fitted to every seed's value (not to the means):

* power law in the error: e = a N^b, e the distance to the metric's best value (1 - accuracy, or the
  KL itself), fitted as a line log e = log a + b log N (b < 0: the error falls with size);
* sigmoid: y = chance + (top - chance) / (1 + exp(-(x - x50) / width)), chance fixed, for the
  metrics that rise from chance (accuracies).

Uncertainties are one standard error from the fit's covariance. The model with the smaller RMS
residual is reported.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import curve_fit

EPS = 1e-4   # floor of an error before its log (a seed with a perfect score)


def power_law(sizes, values, higher_better: bool) -> dict:
    """Fit e = a N^b to the error e of each (size, value); a, b with standard errors and the RMS
    residual of the fitted metric (in the metric's units)."""
    n, y = np.asarray(sizes, float), np.asarray(values, float)
    err = np.clip(1 - y if higher_better else y, EPS, None)
    X = np.column_stack([np.ones_like(n), np.log(n)])
    coef, *_ = np.linalg.lstsq(X, np.log(err), rcond=None)
    resid = np.log(err) - X @ coef
    dof = max(len(n) - 2, 1)
    cov = (resid @ resid / dof) * np.linalg.inv(X.T @ X)
    fitted = np.exp(X @ coef)
    fitted = 1 - fitted if higher_better else fitted
    return {"model": "power law", "a": float(np.exp(coef[0])), "b": float(coef[1]), "b_se": float(math.sqrt(cov[1, 1])),
            "rmse": float(np.sqrt(np.mean((fitted - y) ** 2)))}


def _sigmoid(x, top, x50, width, chance):
    return chance + (top - chance) / (1 + np.exp(-(x - x50) / width))


def sigmoid(sizes, values, chance: float) -> dict | None:
    """Fit the sigmoid in log2 size with the chance level fixed; None when it does not converge."""
    x, y = np.log2(np.asarray(sizes, float)), np.asarray(values, float)
    f = lambda x, top, x50, width: _sigmoid(x, top, x50, width, chance)  # noqa: E731
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, cov = curve_fit(f, x, y, p0=[y.max(), x.mean(), 1.0], bounds=([chance, -10, 0.05], [1.0, 30, 20]),
                               maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {"model": "sigmoid", "top": float(p[0]), "top_se": float(se[0]), "x50": float(p[1]),
            "x50_se": float(se[1]), "width": float(p[2]), "rmse": float(np.sqrt(np.mean((f(x, *p) - y) ** 2)))}


def best_fit(sizes, values, higher_better: bool, chance: float | None) -> dict:
    """The better (smaller RMS residual) of the power law and, for rising metrics, the sigmoid."""
    fits = [power_law(sizes, values, higher_better)]
    if higher_better and chance is not None:
        s = sigmoid(sizes, values, chance)
        if s is not None:
            fits.append(s)
    return min(fits, key=lambda f: f["rmse"])


def describe(fit: dict) -> str:
    """The fit in one line, with its standard errors."""
    if fit["model"] == "sigmoid":
        return (f"sigmoid: top {fit['top']:.3f} +- {fit['top_se']:.3f}, midpoint {2 ** fit['x50']:,.0f} units "
                f"(log2 {fit['x50']:.2f} +- {fit['x50_se']:.2f}); RMS {fit['rmse']:.3f}")
    return f"power law: error ~ N^({fit['b']:.3f} +- {fit['b_se']:.3f}); RMS {fit['rmse']:.3f}"


def first_meeting(points: dict, criterion: float, higher_better: bool):
    """Smallest key (size or strings) whose mean meets the criterion, or None ("never within the range")."""
    for key in sorted(points):
        mean = float(np.mean(points[key]))
        if (mean >= criterion) if higher_better else (mean <= criterion):
            return key
    return None


def first_meeting_with_gaps(points: dict, gone, criterion: float, higher_better: bool) -> dict:
    """first_meeting when some points failed (`gone`, their keys): `met` (None: no finished point
    meets it), `tried` (the finished keys), `gone` and `sure`: False where a failed point could
    change the answer (it lies below the first meeting, or nothing met)."""
    met, gone = first_meeting(points, criterion, higher_better), sorted(gone)
    return {"met": met, "tried": sorted(points), "gone": gone,
            "sure": not any(g < met for g in gone) if met else not gone}


def direction(values) -> str:
    """How first meetings move along an axis (None: never met): 'same', 'falls', 'rises', 'never'
    (none met) or 'mixed'; two nevers in a row count as no step."""
    vals = [math.inf if v is None else v for v in values]
    if all(v == math.inf for v in vals):
        return "never"
    steps = [b - a for a, b in zip(vals, vals[1:]) if not a == b == math.inf]
    for how, ok in (("same", lambda d: d == 0), ("falls", lambda d: d <= 0), ("rises", lambda d: d >= 0)):
        if all(ok(d) for d in steps):
            return how
    return "mixed"


def differs(a, b) -> bool:
    """Two sets of seeds differ when their means are more than 0.01 and twice the standard error apart."""
    se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)) if min(len(a), len(b)) > 1 else 0.0
    return abs(float(np.mean(a)) - float(np.mean(b))) > max(0.01, 2 * se)
