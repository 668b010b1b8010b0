"""What the LIF spiking cortex will hold in memory, estimated from its parameters before anything is built.

``SpikingParams.memory_refusal`` (called by ``experiments.config`` at validation) refuses a run
whose estimate exceeds the memory available (``cortex.memory``), as the rate cortex does
(``cortex.rate.memory``). The peak is the open-loop replay of one block of strings, the readout's
P fully resident by then:

- ``readout``: ``cortex.memory.readout_bytes`` on F = n_exc (1 + len(filter_taus_ms)) + 1 features
  (the rule of the rate cortex; RLS: K F^2, 13.1 GB at 8,000 neurons x 5 replicas in float32);
- ``features``: one block's features (K, T, F) and its spike counts (K, T, n_exc) float32;
- ``spikes``: the block's spike window read back (index, time) and the temporaries of binning it;
- ``sample``: the recorded activity of the sampled neurons and the predictions, per block;
- ``network``: the Brian2 objects (synapses and neuron state), in Python or in the compiled run;
- ``build``: what drawing the connectivity needs beyond the replay (a dense key matrix per
  population; the two never coexist, so only the excess counts);
- ``base``: the interpreter, numpy, scipy, h5py and Brian2.

T, the steps of one block, is the protocol's 128 strings per block x ``STRING_STEPS`` unless the
caller passes it (validation does not: it knows the grammar, not the lengths of its strings).
Not counted: the cpp_standalone binary's own record of the whole run's spikes, held in its
process before the replay starts and freed when it ends (its size grows with the phases' lengths,
which the cortex's parameters do not give).

Checked against a measurement: embedded Reber at 8,000 neurons x 5 replicas, RLS, float32 held
about 16.5 GB (15.4 GiB) in the Python process; the estimate is 16.8 GiB.
"""
from __future__ import annotations

from cortex.memory import N_INPUTS, readout_bytes, refusal as _refusal
from cortex.spiking.params import SpikingParams

#: Python, numpy, scipy, h5py, pydantic, Brian2 and the experiment code, resident before any
#: cortex (measured: 154 MiB after the imports; Brian2's generated code adds more once it runs)
BASE_BYTES = 300 * 2**20
#: strings per replica in one open-loop block (experiments.protocols.sequence.BLOCK_STRINGS)
BLOCK_STRINGS = 128
#: a generous mean of steps per string, padding to the longest replica included (embedded Reber's
#: longest block of 128 strings over 5 replicas: 1,617 steps, 12.6 per string)
STRING_STEPS = 16
#: mean rate of every neuron, E and I, over a block, as a multiple of ``target_rate_hz``. Measured
#: at the default 5 Hz, alike at 400 and 2,000 neurons: 15 Hz over the first 20 strings (E 12 Hz,
#: I 25 Hz), 9 Hz once intrinsic plasticity has settled (E 5 Hz, I 23 Hz), so that the first block
#: of 128 strings, the busiest, averages about 10.5 Hz; 2.5 x 5 Hz leaves a fifth more
RATE_FACTOR = 2.5
#: bytes per spike of a block's window: index (int32) and time (float64) read back, and the
#: temporaries of binning them into counts (measured: 40 B per spike above the two)
SPIKE_BYTES = 52
#: bytes per synapse of the Brian2 network, its indices, variables and queues (measured: 93 B)
SYNAPSE_BYTES = 100
#: neuron state variables (float64) per neuron of the Brian2 group, and per readout filter state
NEURON_VARS = 40
#: sampled neurons assumed when the recording's sample is not known (the shipped configs: 16 and 64)
SAMPLE_UNITS = 256


def synapses(params: SpikingParams, n_inputs: int = N_INPUTS) -> float:
    """Synapses of one replica: the fixed in-degrees (capped at the population sizes), the
    expected input connections and the padding gate's one per neuron."""
    p, ne, ni = params, params.n_exc, params.n_inh
    recurrent = (min(p.k_ee, ne - 1) * ne + min(p.k_ei, ne) * ni + min(p.k_ie, ni) * ne
                 + min(p.k_ii, max(ni - 1, 0)) * ni)
    return float(recurrent + n_inputs * p.n_input_per_symbol * p.p_input * p.n_units + p.n_units)


def block_steps_bound(params: SpikingParams) -> int:
    """T assumed for one open-loop block: ``BLOCK_STRINGS`` x ``STRING_STEPS`` steps."""
    return BLOCK_STRINGS * STRING_STEPS


def estimate_bytes(params: SpikingParams, n_replicas: int, n_inputs: int = N_INPUTS, sequence_steps: int | None = None,
                   sample_units: int | None = None) -> dict[str, float]:
    """Peak bytes by part ('readout', 'features', 'spikes', 'sample', 'network', 'build', 'base');
    sum for the total. ``sequence_steps``: T of the longest block handed to ``run_sequence``
    (default :func:`block_steps_bound`); ``sample_units``: the recording's sampled neurons."""
    p, k = params, n_replicas
    item = 4 if p.dtype == "float32" else 8
    t = block_steps_bound(p) if sequence_steps is None else int(sequence_steps)
    s = min(p.n_exc, SAMPLE_UNITS if sample_units is None else int(sample_units))
    f = p.n_exc * (1 + len(p.filter_taus_ms)) + 1  # as SpikingCortex.n_features
    readout = readout_bytes(p.readout, k, f, n_inputs, p.block_steps, item)
    features = k * t * (f * item + p.n_exc * 4)
    spikes = k * p.n_units * RATE_FACTOR * p.target_rate_hz * t * p.step_ms * 1e-3 * SPIKE_BYTES
    # activity (a copy, and its float32 copy for the file), predictions (and theirs), inputs
    sample = k * t * (2 * 4 * s + 2 * n_inputs * (item + 4) + 64)
    links = k * synapses(p, n_inputs)
    network = links * SYNAPSE_BYTES + k * p.n_units * NEURON_VARS * 8
    # fixed_indegree draws (n_post, n_pre) float64 keys and their int64 argpartition, the largest
    # for E -> E; the replicas' drawn (pre, post, weight) stay until Brian2 has them
    draw = 16 * p.n_exc * p.n_exc + 24 * links
    build = max(0.0, draw - (readout + features + spikes + sample))
    return {"readout": float(readout), "features": float(features), "spikes": float(spikes), "sample": float(sample),
            "network": float(network), "build": float(build), "base": float(BASE_BYTES)}


def refusal(params: SpikingParams, n_replicas: int, n_inputs: int = N_INPUTS, sequence_steps: int | None = None,
            sample_units: int | None = None) -> str | None:
    """Why a run of this cortex would not fit in memory (a message for ``cortex.n_units``), or None."""
    hint = []
    if params.readout.kind == "rls":
        hint.append("cortex.readout.kind: projected_rls or delta (no F x F matrix per replica)")
    parts = estimate_bytes(params, n_replicas, n_inputs, sequence_steps, sample_units)
    return _refusal(parts, f"{params.n_units} neurons x {n_replicas} replicas", hint, "replicas or neurons")
