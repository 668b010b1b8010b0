"""Builds the Brian2 network of a spiking cortex: K independent replicas in one simulation.

Every replica is a block of the same groups, wired only within itself (block-diagonal
connectivity) from its own seed, so K seeds run as one simulation. Connectivity and initial
values are drawn in numpy and handed over as arrays: ``connect(i=, j=)`` generates no code,
and every Brian2 object has a fixed ``name`` so the cython cache is hit on the next build.

Neuron layout: one group ``cx`` of K * n_units neurons. The first ``n_sample`` excitatory neurons
of every replica come first (so a contiguous subgroup can record their spikes), then the rest
of each replica. ``Layout.gid[k, l]`` is the global index of local neuron ``l`` of replica ``k``
(locals 0..n_exc-1 are excitatory, the rest inhibitory).
"""
from __future__ import annotations

from dataclasses import dataclass

import logging

import numpy as np

from cortex.spiking import equations as eq
from cortex.spiking.params import SpikingParams


@dataclass
class Layout:
    """Index bookkeeping of the neuron group (see module docstring)."""

    K: int
    n: int
    n_exc: int
    n_sample: int
    gid: np.ndarray      # (K, n) global index of (replica, local)
    replica: np.ndarray  # (K*n,) replica of each global index
    local: np.ndarray    # (K*n,) local index of each global index

    @classmethod
    def make(cls, K: int, n: int, n_exc: int, n_sample: int) -> "Layout":
        """Layout with the first ``n_sample`` excitatory neurons of every replica in front."""
        local = np.arange(n)
        gid = np.where(local[None, :] < n_sample, np.arange(K)[:, None] * n_sample + local[None, :],
                       K * n_sample + np.arange(K)[:, None] * (n - n_sample) + local[None, :] - n_sample)
        replica, loc = np.empty(K * n, np.int64), np.empty(K * n, np.int64)
        replica[gid] = np.arange(K)[:, None]
        loc[gid] = local[None, :]
        return cls(K, n, n_exc, n_sample, gid, replica, loc)


@dataclass
class Built:
    """The Brian2 objects of one network and its layout."""

    net: object
    cx: object
    inp_gen: object
    inp_rate: object
    gate_gen: object
    syn_ee: object
    spk_all: object
    spk_probe: object | None
    v_probe: object | None
    op: object | None
    open_only: list      # objects that run in open loop only (input generator, full spike monitor)
    gate: list           # the gate generator and its synapses: needed only when a call has padding
    closed_only: list    # objects that run in closed loop only (rate inputs, probe monitor, operation)
    layout: Layout
    v_index: np.ndarray  # (K, n_v) global indices of the neurons whose v is recorded


def fixed_indegree(rng: np.random.Generator, n_pre: int, n_post: int, k: int, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each post neuron draws ``k`` distinct presynaptic partners (no self-connection when
    ``same``); returns (pre, post) local index arrays."""
    allowed = n_pre - (1 if same else 0)
    k = min(k, allowed)
    if k <= 0 or n_post == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = rng.random((n_post, n_pre))
    if same:
        keys[np.arange(n_post), np.arange(n_post)] = np.inf  # never pick oneself
    pre = np.argpartition(keys, k - 1, axis=1)[:, :k]
    return pre.ravel(), np.repeat(np.arange(n_post), k)


def draw_replica(p: SpikingParams, rng: np.random.Generator, n_inputs: int) -> dict:
    """Connectivity and per-neuron constants of one replica, in local indices and mV / ms."""
    ne, ni, n = p.n_exc, p.n_inh, p.n_units
    pre_ee, post_ee = fixed_indegree(rng, ne, ne, p.k_ee, True)
    w_ee = np.minimum(rng.uniform(0.0, 2.0 * p.w_ee_mv, len(pre_ee)), p.w_ee_max_mv)
    parts = [fixed_indegree(rng, ne, ni, p.k_ei, False), fixed_indegree(rng, ni, ne, p.k_ie, False),
             fixed_indegree(rng, ni, ni, p.k_ii, True)]
    offsets = [(0, ne), (ne, 0), (ne, ne)]
    weights = [p.w_ei_mv, -p.w_ie_mv, -p.w_ii_mv]
    pre_rec = np.concatenate([a + o[0] for (a, _), o in zip(parts, offsets)])
    post_rec = np.concatenate([b + o[1] for (_, b), o in zip(parts, offsets)])
    w_rec = np.concatenate([np.full(len(a), w) for (a, _), w in zip(parts, weights)])
    n_in = n_inputs * p.n_input_per_symbol
    in_mask = rng.random((n_in, n)) < p.p_input
    pre_in, post_in = np.nonzero(in_mask)
    log_uniform = lambda lo, hi: np.exp(rng.uniform(np.log(lo), np.log(hi), n))  # noqa: E731
    return {
        "ee": (pre_ee, post_ee, w_ee), "rec": (pre_rec, post_rec, w_rec), "inp": (pre_in, post_in),
        "tau_a_ms": log_uniform(p.tau_adapt_min_ms, p.tau_adapt_max_ms),
        "tau_s_ms": log_uniform(p.tau_slow_min_ms, p.tau_slow_max_ms), "v0_mv": rng.uniform(p.v_reset_mv, p.v_thresh_mv, n),
        "is_exc": np.arange(n) < ne,
    }


def build(p: SpikingParams, K: int, n_inputs: int, n_sample: int, rngs, closed_loop_fn=None,
          closed_loop: bool = True) -> Built:
    """Create all Brian2 objects for K replicas (one structure generator each in ``rngs``).

    ``closed_loop_fn`` (called every environment step with the simulation time) becomes the
    network operation; the caller switches it (and the other closed-loop objects) on per run.
    ``closed_loop=False`` leaves the closed-loop objects out (rate inputs, probe monitor,
    operation): the cpp_standalone build of an open-loop run has no use for them.
    Values are handed over with ``Variable.set_value``, which works on the runtime and the
    standalone device alike (standalone arrays cannot be written through ``get_value()``).
    """
    import brian2 as b2
    from brian2 import mV, ms

    n, ne = p.n_units, p.n_exc
    # one clock for every object: Brian2's defaultclock is global state we leave alone, and the
    # run loop pays per distinct clock per time step
    clock = b2.Clock(dt=p.dt_ms * ms, name="cortex_clock")
    step_clock = b2.Clock(dt=p.step_ms * ms, name="cortex_step_clock")  # once per environment step
    layout = Layout.make(K, n, ne, n_sample)
    reps = [draw_replica(p, rng, n_inputs) for rng in rngs]
    n_in = n_inputs * p.n_input_per_symbol

    cx = b2.NeuronGroup(K * n, eq.NEURON, threshold=eq.THRESHOLD, reset=eq.RESET,
                        refractory=eq.REFRACTORY, method="euler", clock=clock, name="cx")
    per_neuron = lambda key: np.concatenate([r[key] for r in reps])  # noqa: E731 (local order)
    order = layout.gid.ravel()
    values = {
        "v": per_neuron("v0_mv") * 1e-3, "tau_a": per_neuron("tau_a_ms") * 1e-3,
        "tau_s": per_neuron("tau_s_ms") * 1e-3, "slow_gain": p.tau_m_ms / per_neuron("tau_s_ms"),
        "b_adapt": np.where(per_neuron("is_exc"), p.adapt_mv * 1e-3, 0.0),
        "ip_on": per_neuron("is_exc").astype(float), "g": np.ones(K * n), "plastic": np.ones(K * n),
    }
    for name, value in values.items():
        full = np.empty(K * n)
        full[order] = value
        cx.variables[name].set_value(full)
    _set_shared(cx, eq.neuron_constants(p))

    inp_gen = b2.SpikeGeneratorGroup(K * n_in, np.zeros(0, int), np.zeros(0) * ms, clock=clock, name="inp_gen")
    if not closed_loop:
        inp_rate = None
    elif p.input_noise == "poisson":
        inp_rate = b2.NeuronGroup(K * n_in, eq.POISSON_INPUT, threshold=eq.POISSON_THRESHOLD, clock=clock, name="inp_rate")
    else:
        inp_rate = b2.NeuronGroup(K * n_in, eq.REGULAR_INPUT, threshold=eq.REGULAR_THRESHOLD,
                                  reset=eq.REGULAR_RESET, method="euler", clock=clock, name="inp_rate")
    gate_gen = b2.SpikeGeneratorGroup(2 * K, np.zeros(0, int), np.zeros(0) * ms, clock=clock, name="gate_gen")

    # recurrent E->E (plastic) and the static E->I, I->E, I->I
    if p.rstdp_rate > 0:
        model, on_pre, on_post = eq.RSTDP_SYNAPSE, eq.RSTDP_ON_PRE, eq.RSTDP_ON_POST
    else:
        model, on_pre, on_post = eq.STDP_SYNAPSE, eq.STDP_ON_PRE, eq.STDP_ON_POST
    syn_ee = b2.Synapses(cx, cx, model, on_pre=on_pre, on_post=on_post, clock=clock, name="syn_ee")
    syn_ee.connect(i=_global(layout, reps, "ee", 0), j=_global(layout, reps, "ee", 1))
    syn_ee.w = np.concatenate([r["ee"][2] for r in reps]) * mV
    _set_shared(syn_ee, eq.synapse_constants(p))
    if p.rstdp_rate > 0:
        syn_ee.run_regularly(eq.RSTDP_STEP, clock=step_clock, when="end", name="syn_ee_rstdp")

    syn_rec = b2.Synapses(cx, cx, eq.STATIC_SYNAPSE, on_pre=eq.STATIC_ON_PRE, clock=clock, name="syn_rec")
    syn_rec.connect(i=_global(layout, reps, "rec", 0), j=_global(layout, reps, "rec", 1))
    syn_rec.w = np.concatenate([r["rec"][2] for r in reps]) * mV

    # inputs: the same wiring from the open-loop generator and from the closed-loop rate group
    pre = np.concatenate([r["inp"][0] + k * n_in for k, r in enumerate(reps)])
    post = _global(layout, reps, "inp", 1)
    syn_in = []
    for source, name in ((inp_gen, "syn_in_gen"), (inp_rate, "syn_in_rate"))[: 2 if closed_loop else 1]:
        s = b2.Synapses(source, cx, eq.INPUT_SYNAPSE, on_pre=eq.INPUT_ON_PRE, clock=clock, name=name)
        s.connect(i=pre, j=post)
        s.w = p.w_input_mv * mV
        s.w_slow = p.w_input_mv * p.input_slow_fraction * mV
        syn_in.append(s)

    # gate: generator neuron k resumes replica k, K + k freezes it
    syn_gate = b2.Synapses(gate_gen, cx, eq.GATE_SYNAPSE, on_pre=eq.GATE_ON_PRE, clock=clock, name="syn_gate")
    gi = np.concatenate([np.repeat([k, K + k], n) for k in range(K)])
    gj = np.concatenate([np.tile(layout.gid[k], 2) for k in range(K)])
    syn_gate.connect(i=gi, j=gj)
    syn_gate.level = (gi < K).astype(float)
    _quiet_gate_warning()

    spk_all = b2.SpikeMonitor(cx, record=True, name="spk_all")
    spk_probe = None
    if n_sample and closed_loop:
        spk_probe = b2.SpikeMonitor(b2.Subgroup(cx, 0, K * n_sample, name="cx_probe"), name="spk_probe")
    n_v = min(p.n_v_probe, n)
    v_index = layout.gid[:, :n_v]
    v_probe = (b2.StateMonitor(cx, "v", record=v_index.ravel(), clock=step_clock, name="v_probe")
               if n_v else None)
    op = None
    if closed_loop_fn is not None and closed_loop:
        op = b2.NetworkOperation(closed_loop_fn, clock=step_clock, when="start", name="exchange_op")
    objects = [cx, inp_gen, inp_rate, gate_gen, syn_ee, syn_rec, *syn_in, syn_gate, spk_all]
    objects += [spk_probe, v_probe, op]
    net = b2.Network(*[o for o in objects if o is not None], name="cortex_net")
    open_only = [inp_gen, syn_in[0], spk_all]
    closed_only = [o for o in (inp_rate, syn_in[1] if closed_loop else None, spk_probe, op) if o is not None]
    return Built(net, cx, inp_gen, inp_rate, gate_gen, syn_ee, spk_all, spk_probe, v_probe, op,
                 open_only, [gate_gen, syn_gate], closed_only, layout, v_index)


class _GateOrderFilter(logging.Filter):
    """Drops Brian2's warning that the gate's writes may depend on the order of execution. It
    cannot here: every synapse onto a neuron comes from its replica's freeze (K + k) or resume (k)
    generator, and those two never spike in the same step (``inputs.gate_spikes`` emits one spike
    per change of state), so all writes within a step carry the same level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return eq.GATE_ON_PRE.splitlines()[0] not in record.getMessage()


def _quiet_gate_warning() -> None:
    logger = logging.getLogger("brian2.codegen.generators.base")
    if not any(isinstance(f, _GateOrderFilter) for f in logger.filters):
        logger.addFilter(_GateOrderFilter())


def _global(layout: Layout, reps: list, key: str, side: int) -> np.ndarray:
    """Global neuron indices of the pre (side 0) or post (side 1) ends of every replica's ``key`` synapses."""
    return np.concatenate([layout.gid[k, r[key][side]] for k, r in enumerate(reps)])


def _set_shared(group, constants: dict) -> None:
    """Write shared constants (SI values) straight into their arrays: no code is generated."""
    for name, value in constants.items():
        group.variables[name].set_value(value)
