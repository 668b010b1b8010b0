"""What a rate cortex will hold in memory, estimated from its parameters before anything is built.

``experiments.config`` refuses, at validation, a run whose estimate exceeds the memory available,
so that it fails in a second with the numbers instead of being killed by the kernel an hour in.
The estimate counts the arrays ``cortex.rate`` keeps (W in its stored form, input weights, state,
block buffers, the readout, e-prop's traces) and the largest temporaries of the build (the dense
draw of W), plus the interpreter and libraries; ``bench/rate_cortex.py`` prints it next to the
measured peak resident memory. The readout's share is ``cortex.memory.readout_bytes`` and the
memory available and the message are ``cortex.memory``'s, as for the spiking cortex.
"""
from __future__ import annotations

from cortex.memory import N_INPUTS, readout_bytes, refusal as _refusal
from cortex.rate.params import RateParams

#: Python, numpy, scipy, h5py, pydantic and the experiment code, resident before any cortex
#: (measured: about 70 MiB with the bench's imports, 90 MiB in `neurosteer run`)
BASE_BYTES = 100 * 2**20


def estimate_bytes(params: RateParams, n_replicas: int, n_inputs: int = N_INPUTS) -> dict[str, float]:
    """Peak bytes by part ('recurrent', 'readout', 'state', 'eprop', 'base'); sum for the total."""
    from cortex.rate.core import SPARSE_DENSITY  # the same rule as the cortex for storing W sparse

    k, n, item = n_replicas, params.n_units, (4 if params.dtype == "float32" else 8)
    f = n + n_inputs + 1
    if params.in_degree is not None:  # kept CSR (value + 32-bit index) and one replica's draw
        nnz = n * params.in_degree
        recurrent = k * nnz * (item + 4) + nnz * 40
    else:  # dense draw (normal, uniform, mask) of one replica, the float64 stack, the kept W
        drawn, kept = 3 * 8 * n * n, k * n * n * (8 + item)
        if params.density <= SPARSE_DENSITY:  # plus the CSR copy and the pattern (3 int64 per entry)
            kept += k * n * n * params.density * (item + 4 + 24)
        else:  # plus the leak-folded copy
            kept += k * n * n * item
        recurrent = drawn + kept
    b = params.block_steps
    readout = readout_bytes(params.readout, k, f, n_inputs, b, item)  # the rule every backend shares
    state = k * (2 * n * n_inputs + 4 * n + b * f) * item  # U and its folded copy, v, r, the block buffer
    eprop = 0.0
    if params.model == "eprop":  # mask and update of W, traces per time-constant group and block row
        eprop = k * (2 * n * n + params.n_timescales * (params.block_steps + 1) * n) * item
    return {"recurrent": float(recurrent), "readout": float(readout), "state": float(state),
            "eprop": float(eprop), "base": float(BASE_BYTES)}


def refusal(params: RateParams, n_replicas: int, n_inputs: int = N_INPUTS) -> str | None:
    """Why a run of this cortex would not fit in memory (a message for ``cortex.n_units``), or None."""
    hint = []
    if params.in_degree is None:
        hint.append("cortex.in_degree (W stays sparse)")
    if params.readout.kind == "rls":
        hint.append("cortex.readout.kind: projected_rls (no F x F matrix per replica)")
    return _refusal(estimate_bytes(params, n_replicas, n_inputs), f"{params.n_units} units x {n_replicas} replicas",
                    hint, "replicas or units")
