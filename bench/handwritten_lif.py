"""Hand-written Brian2 baseline: the spiking cortex's network as a plain script, no framework.

The same neurons, synapses, plasticity, input spike trains and spike monitor as
``cortex.spiking`` builds for open loop, written the way one would by hand: no replica gate, no
closed-loop groups, constants as literals in a namespace. ``run`` uses the cython runtime,
``run_standalone`` cpp_standalone. ``bench/spiking_cortex.py`` times it against
``SpikingCortex.run_sequence``; on its own it prints one JSON object.

Usage: python bench/handwritten_lif.py [--replicas 3] [--steps 800]
"""
from __future__ import annotations

import argparse
import gc
import json
import shutil
import time

import numpy as np


def build(p, K: int, n_inputs: int, seed: int):
    """Network of K independent LIF blocks (SpikingParams ``p`` supplies the numbers)."""
    import brian2 as b2
    from brian2 import Hz, mV, ms

    n, ne = p.n_units, p.n_exc
    clock = b2.Clock(dt=p.dt_ms * ms, name="hw_clock")  # what defaultclock would be, without the global
    rng = np.random.default_rng(seed)
    cx = b2.NeuronGroup(K * n, """
        dv/dt = (v_rest - v + I_slow - adapt) / tau_m : volt (unless refractory)
        dI_slow/dt = -I_slow / tau_s : volt
        dadapt/dt = -adapt / tau_a : volt
        dtheta/dt = ip_on * ip_step * (rate_est - target_rate) * int(theta > theta_min or rate_est > target_rate) : volt
        drate_est/dt = -rate_est / tau_rate : Hz
        tau_s : second (constant)
        tau_a : second (constant)
        slow_gain : 1 (constant)
        b_adapt : volt (constant)
        ip_on : 1 (constant)
        """, threshold="v > v_thresh + theta", reset="v = v_reset; adapt += b_adapt; rate_est += 1 / tau_rate",
        refractory=p.refractory_ms * ms, method="euler", clock=clock, name="hw_cx")
    local = np.tile(np.arange(n), K)
    exc = local < ne
    loguni = lambda lo, hi: np.exp(rng.uniform(np.log(lo), np.log(hi), K * n))  # noqa: E731
    cx.v = rng.uniform(p.v_reset_mv, p.v_thresh_mv, K * n) * mV
    tau_s_ms = loguni(p.tau_slow_min_ms, p.tau_slow_max_ms)
    cx.tau_s = tau_s_ms * ms
    cx.slow_gain = p.tau_m_ms / tau_s_ms
    cx.tau_a = loguni(p.tau_adapt_min_ms, p.tau_adapt_max_ms) * ms
    cx.b_adapt = np.where(exc, p.adapt_mv, 0.0) * mV
    cx.ip_on = exc.astype(float)

    def indegree(n_pre, n_post, k, pre_off, post_off, same):
        """Each post neuron picks k distinct pre neurons: the k smallest of random keys."""
        k = min(k, n_pre - same)
        pre, post = [], []
        for blk in range(K):
            keys = rng.random((n_post, n_pre))
            if same:
                keys[np.arange(n_post), np.arange(n_post)] = 2.0  # never oneself
            src = np.argpartition(keys, k - 1, axis=1)[:, :k]
            pre.append(blk * n + pre_off + src.ravel())
            post.append(blk * n + post_off + np.repeat(np.arange(n_post), k))
        return np.concatenate(pre), np.concatenate(post)

    ee = b2.Synapses(cx, cx, """
        w : volt
        dapre/dt = -apre / tau_stdp : 1 (event-driven)
        dapost/dt = -apost / tau_stdp : 1 (event-driven)
        """, on_pre="""
        v_post += w
        I_slow_post += slow_fraction * w * slow_gain_post
        apre += 1
        w = clip(w - a_minus * apost * w, 0 * mV, w_max)
        """, on_post="""
        apost += 1
        w = clip(w + a_plus * apre * (w_max - w), 0 * mV, w_max)
        """, clock=clock, name="hw_ee")
    i, j = indegree(ne, ne, p.k_ee, 0, 0, True)
    ee.connect(i=i, j=j)
    ee.w = np.minimum(rng.uniform(0, 2 * p.w_ee_mv, len(i)), p.w_ee_max_mv) * mV

    rec = b2.Synapses(cx, cx, "w : volt (constant)", on_pre="v_post += w", clock=clock, name="hw_rec")
    parts = [(indegree(ne, n - ne, p.k_ei, 0, ne, False), p.w_ei_mv),
             (indegree(n - ne, ne, p.k_ie, ne, 0, False), -p.w_ie_mv),
             (indegree(n - ne, n - ne, p.k_ii, ne, ne, True), -p.w_ii_mv)]
    rec.connect(i=np.concatenate([a for (a, _), _ in parts]), j=np.concatenate([b for (_, b), _ in parts]))
    rec.w = np.concatenate([np.full(len(a), w) for (a, _), w in parts]) * mV

    n_in = n_inputs * p.n_input_per_symbol
    inp = b2.SpikeGeneratorGroup(K * n_in, np.zeros(0, int), np.zeros(0) * ms, clock=clock, name="hw_inp")
    pre, post = [], []
    for blk in range(K):
        a, b = np.nonzero(rng.random((n_in, n)) < p.p_input)
        pre.append(a + blk * n_in)
        post.append(b + blk * n)
    syn_in = b2.Synapses(inp, cx, "w : volt (constant)\nw_slow : volt (constant)",
                         on_pre="v_post += w\nI_slow_post += w_slow * slow_gain_post", clock=clock, name="hw_in")
    syn_in.connect(i=np.concatenate(pre), j=np.concatenate(post))
    syn_in.w = p.w_input_mv * mV
    syn_in.w_slow = p.w_input_mv * p.input_slow_fraction * mV
    mon = b2.SpikeMonitor(cx, name="hw_spikes")
    net = b2.Network(cx, ee, rec, inp, syn_in, mon, name="hw_net")
    namespace = {
        "v_rest": p.v_rest_mv * mV, "v_thresh": p.v_thresh_mv * mV, "v_reset": p.v_reset_mv * mV,
        "tau_m": p.tau_m_ms * ms, "ip_step": p.ip_step_mv * mV, "target_rate": p.target_rate_hz * Hz,
        "tau_rate": p.ip_tau_ms * ms, "theta_min": p.ip_theta_min_mv * mV,
        "tau_stdp": p.tau_stdp_ms * ms, "a_plus": p.stdp_a_plus, "a_minus": p.stdp_a_minus,
        "w_max": p.w_ee_max_mv * mV, "slow_fraction": p.slow_fraction,
    }
    return net, inp, mon, namespace


def input_spikes(p, symbols: np.ndarray, n_inputs: int, t0_ms: float, seed: int):
    """Stimulus-locked regular input trains for (K, T) symbols: (indices, times_ms), sorted."""
    K, T = symbols.shape
    n_per = p.n_input_per_symbol
    phase = np.random.default_rng(seed).random((K, n_inputs * n_per))
    idx, times = [], []
    for k in range(K):
        for t in range(T):
            rate = np.full(n_inputs, p.background_rate_hz)
            rate[symbols[k, t]] += p.input_rate_hz
            r = np.repeat(rate, n_per) * 1e-3  # per ms
            n_spk = np.floor(phase[k] + r * p.step_ms).astype(int)
            for m in range(n_spk.max()):
                fire = np.flatnonzero(n_spk > m)
                when = (1.0 - phase[k, fire] + m) / r[fire]
                idx.append(fire + k * n_inputs * n_per)
                times.append(t0_ms + t * p.step_ms + np.floor(when / p.dt_ms) * p.dt_ms)
    idx, times = np.concatenate(idx), np.concatenate(times)
    order = np.lexsort((idx, times))
    return idx[order], times[order]


def runner(p, symbols: np.ndarray, n_inputs: int, seed: int = 0):
    """Build the network; returns ``run() -> wall seconds`` of one run of the sequence (input
    spikes, simulation, per-step spike counts), carrying on from the last run as a caller's
    repeated calls would. Its first call compiles into the cache: time the later ones."""
    from brian2 import ms

    from cortex.spiking.codegen import brian_prefs, cache_dir

    K, T = symbols.shape
    net, inp, mon, ns = build(p, K, n_inputs, seed)
    state = {"rep": 0, "seen": 0}

    def run() -> float:
        with brian_prefs("cython", cache_dir(p.cache_dir)):
            start = time.perf_counter()
            t0 = float(net.t / ms)
            idx, times = input_spikes(p, symbols, n_inputs, t0, seed + state["rep"])
            inp.set_spikes(idx, times * ms, sorted=True)
            net.run(T * p.step_ms * ms, namespace=ns)
            i, t = np.asarray(mon.i[state["seen"]:]), np.asarray(mon.t_[state["seen"]:]) * 1e3
            state["seen"], state["rep"] = int(mon.num_spikes), state["rep"] + 1
            step = np.minimum(((t - t0) // p.step_ms).astype(int), T - 1)
            np.bincount(i * T + step, minlength=K * p.n_units * T)  # the per-step counts the cortex bins too
            return time.perf_counter() - start

    return run


def run(p, symbols: np.ndarray, n_inputs: int, seed: int = 0, repeats: int = 2) -> dict:
    """Build, warm up (compiles into the cache), then time ``repeats`` runs of the sequence;
    returns the fastest run's wall time (s)."""
    one = runner(p, symbols, n_inputs, seed)
    one()
    return {"wall_s": min(one() for _ in range(repeats)), "sim_s": symbols.shape[1] * p.step_ms * 1e-3}


def run_standalone(p, symbols: np.ndarray, n_inputs: int, seed: int = 0, repeats: int = 2, directory=None,
                   warmup: bool = True) -> dict:
    """The same on cpp_standalone: every run builds the network, input and monitor in the
    standalone device, generates the project in ``directory``, compiles it (make recompiles only
    the files that changed), runs it and bins the spikes. Returns the fastest of ``repeats`` runs
    after an untimed first one (none with ``warmup=False``: a caller that keeps ``directory``
    across calls, so make finds the last run's objects), without its compilation (``wall_s``),
    and that compilation."""
    import os
    import tempfile

    K, T = symbols.shape
    owned = directory is None
    directory = directory or tempfile.mkdtemp(prefix="hw-standalone-")
    env = dict(os.environ)
    try:
        return _standalone_runs(p, symbols, n_inputs, seed, repeats, directory, env, warmup)
    finally:
        if owned:
            shutil.rmtree(directory, ignore_errors=True)


def _standalone_runs(p, symbols, n_inputs, seed, repeats, directory, env, warmup=True) -> dict:
    """The runs of ``run_standalone`` in ``directory``; ``env``: the environment to restore after each."""
    import os

    from brian2 import ms
    from brian2.codegen.cpp_prefs import get_compiler_and_args
    from brian2.devices.device import get_device, reset_device, set_device

    K, T = symbols.shape
    best = compile_s = np.inf
    for rep in range(0 if warmup else 1, repeats + 1):
        # the last run's objects: alive, Brian2 would rename this run's code objects. Timed, as the
        # cortex's own collections are (cortex.spiking.standalone.simulate)
        start = time.perf_counter()
        gc.collect()
        set_device("cpp_standalone", build_on_run=False)
        try:
            net, inp, mon, ns = build(p, K, n_inputs, seed)
            idx, times = input_spikes(p, symbols, n_inputs, 0.0, seed + rep)
            inp.set_spikes(idx, times * ms, sorted=True)
            net.run(T * p.step_ms * ms, namespace=ns)
            dev = get_device()
            dev.build(directory=directory, compile=False, run=False, with_output=False)
            compiling = time.perf_counter()
            dev.compile_source(directory, get_compiler_and_args()[0], False, False)
            compiled = time.perf_counter()
            dev.run(directory, None, with_output=False)
            i, t = np.asarray(mon.i[:]), np.asarray(mon.t_[:]) * 1e3
            step = np.minimum((t // p.step_ms).astype(int), T - 1)
            counts = np.bincount(i * T + step, minlength=K * p.n_units * T)
            del net, inp, mon
        finally:
            get_device().reinit()
            reset_device()
            os.environ.clear()
            os.environ.update(env)  # Brian2 leaves LD_BIND_NOW=1 behind
        if rep:
            best = min(best, time.perf_counter() - start - (compiled - compiling))
            compile_s = min(compile_s, compiled - compiling)
    return {"wall_s": best, "compile_s": compile_s, "sim_s": T * p.step_ms * 1e-3, "spikes_per_run": int(counts.sum())}


def main() -> None:
    from cortex.spiking.params import SpikingParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--steps", type=int, default=800)
    args = ap.parse_args()
    p = SpikingParams()
    symbols = np.random.default_rng(1).integers(0, 7, (args.replicas, args.steps))
    print(json.dumps(run(p, symbols, 7)))


if __name__ == "__main__":
    main()
