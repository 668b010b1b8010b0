"""Random weights and time constants of the rate cortex, built per replica from its own seed.

Each component draws from its own generator, ``SeedSequence([seed, component id])``, so replica k
depends on ``seeds[k]`` alone and adding a component never shifts another component's numbers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse

from cortex.rate.params import RateParams

COMPONENTS = {"recurrent": 1, "input": 2, "bias": 3, "feedback": 4}


def component_rng(seed: int, component: str) -> np.random.Generator:
    """Generator for one named component of the replica built from ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), COMPONENTS[component]]))


def leak_rates(params: RateParams) -> tuple[np.ndarray, np.ndarray, list[slice]]:
    """Per-unit leak rates a_i = dt / tau_i (dimensionless, in (0, 1]).

    Returns (per-group leak rates (G,), per-unit leak rates (N,), per-group unit slices). Groups
    are contiguous blocks of units, so per-group work (e-prop traces) slices instead of gathering.
    """
    n, g = params.n_units, params.n_timescales
    group_leak = np.geomspace(params.leak_max, params.leak_min, g)
    bounds = (np.arange(g + 1) * n) // g
    slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    unit_leak = np.repeat(group_leak, np.diff(bounds))
    return group_leak, unit_leak, slices


def recurrent_weights(params: RateParams, seed: int) -> np.ndarray:
    """Sparse Gaussian recurrent matrix W (N, N), no self-connections, scaled so that its spectral
    radius is about ``spectral_radius`` (circular law: radius = std * sqrt(N * density))."""
    n = params.n_units
    rng = component_rng(seed, "recurrent")
    w = rng.standard_normal((n, n))
    w *= rng.random((n, n)) < params.density
    np.fill_diagonal(w, 0.0)
    w *= params.spectral_radius / np.sqrt(max(n * params.density, 1.0))
    return w


def recurrent_csr(params: RateParams, seed: int) -> scipy.sparse.csr_array:
    """Fixed in-degree recurrent matrix W (N, N) as CSR with 32-bit indices, never dense: every
    unit receives exactly ``in_degree`` connections from distinct other units (no self-connections),
    Gaussian weights scaled so that the spectral radius is about ``spectral_radius`` (circular
    law: radius = std * sqrt(in_degree)). Memory and time O(N * in_degree)."""
    n, k = params.n_units, params.in_degree
    rng = component_rng(seed, "recurrent")
    if 4 * k > n:  # dense enough that a per-row permutation is the cheaper exact draw
        cols = np.sort(np.argsort(rng.random((n, n - 1)), axis=1)[:, :k], axis=1)
    else:  # k of n - 1 per row by rejection: redraw the repeats until a row has none
        cols = rng.integers(0, n - 1, (n, k))
        while True:
            cols.sort(axis=1)
            repeat = np.zeros(cols.shape, bool)
            repeat[:, 1:] = cols[:, 1:] == cols[:, :-1]
            if not repeat.any():
                break
            cols[repeat] = rng.integers(0, n - 1, int(repeat.sum()))
    cols += cols >= np.arange(n)[:, None]  # j -> j + (j >= i): skips i, keeps rows sorted
    values = rng.standard_normal((n, k)) * (params.spectral_radius / np.sqrt(k))
    indptr = np.arange(0, n * k + 1, k, dtype=np.int32 if n * k < 2**31 else np.int64)
    return scipy.sparse.csr_array((values.ravel(), cols.ravel().astype(indptr.dtype), indptr), shape=(n, n))


def input_units(params: RateParams) -> int:
    """How many units (the first, i.e. fastest, ones) receive the external input directly."""
    return max(1, round(params.input_fraction * params.n_units))


def input_weights(params: RateParams, n_inputs: int, seed: int) -> np.ndarray:
    """Input matrix U (N, n_inputs): Gaussian with std ``input_scale`` on the first
    ``input_units`` rows, zero on the slower rest, which hear the input only through W."""
    u = params.input_scale * component_rng(seed, "input").standard_normal((params.n_units, n_inputs))
    u[input_units(params):] = 0.0
    return u


def biases(params: RateParams, seed: int) -> np.ndarray:
    """Per-unit bias b (N,): breaks the sign symmetry of tanh so units differ in operating point."""
    return params.bias_scale * component_rng(seed, "bias").standard_normal(params.n_units)


def feedback_weights(n_units: int, n_outputs: int, scale: float, seed: int) -> np.ndarray:
    """Fixed random feedback B (N, n_outputs) that broadcasts output errors to units (e-prop)."""
    return scale / np.sqrt(n_outputs) * component_rng(seed, "feedback").standard_normal((n_units, n_outputs))


def stack(builder, seeds: Sequence[int], dtype) -> np.ndarray:
    """Stack ``builder(seed)`` over replicas along a new leading axis K, cast to ``dtype``."""
    return np.stack([builder(s) for s in seeds]).astype(dtype, copy=False)
