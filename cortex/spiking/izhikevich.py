"""Izhikevich (2007) network with dopamine-modulated STDP, in Brian2, behind ``cortex.base.Cortex``.

Built like every model (``cortex.make_cortex``, then ``reset(seeds)``). It has no input symbols
and no CortexOutput: its loop is :meth:`IzhikevichCortex.run_phase`, which exchanges spike times
for dopamine every 1 ms; ``run_sequence`` and ``run`` say so (NotImplementedError).

K replicas (one per seed) run as one block-diagonal Brian2 network, inside one ``Network.run``
per phase. Per replica: ``n_units`` Izhikevich neurons with a random 1 ms input, 100 synapses per
neuron, per-synapse eligibility ``c`` and weight ``w``. All randomness (wiring, input) comes from
numpy generators seeded per replica, so replica k of a batch equals a one-replica run of its seed.

The cortex does not know what is rewarded: every 1 ms it reports the last spike times of one
tagged synapse's two neurons to ``exchange`` (the world + subcortex role) and receives the
dopamine released at that step. Extracellular dopamine then decays here, with ``tau_da_ms``.

Equations (times in ms, voltages in mV, as in the paper)::

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I      v >= v_peak: v <- c, u <- u + d, x <- 1
    du/dt = a (b v - u)
    dx/dt = -x / tau_stdp                      (per-neuron spike trace)
    pre spike arrives:  I_post += w,  c -= a_minus * x_post   (x_post = 1 if post fires in this step)
    post spike:         c += a_plus * x_pre / q              (q: the trace's decay over one step)
    every 10 ms:        w <- clip(w + (da_tonic + DA) c, 0, w_max),  c <- c exp(-10 ms / tau_elig)
    DA <- DA exp(-1 ms / tau_da) + release     (each 1 ms step)

``I`` holds the input of the coming 1 ms step: a fresh uniform random draw plus every synaptic
weight that arrives, as in the paper's ``I(ind) += s``. The draw is made in numpy (by the step
operation, right after the thresholds), not by Brian2's ``rand()``, whose one global stream would
tie the replicas together. The state advances by two Euler half-steps of 0.5 ms per 1 ms step,
the paper's scheme for numerical stability. The two STDP corrections reproduce the paper's kernel
step for step: it credits pre-before-post at a 1 ms lag with the full a_plus, and debits a spike
arriving in the very step its target fires with the full a_minus.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import brian2 as b2
import numpy as np

from cortex.base import CortexBase, NumericalError, nonfinite_replicas
from cortex.spiking import codegen
from cortex.spiking.izhikevich_params import IzhikevichParams

DT_MS = 1.0  # the paper's step; the reward window and spike bookkeeping are on this grid
WEIGHT_SAMPLE_S = 1.0  # period of the weight statistics, s
DA_SAMPLE_MS = 10  # period of the dopamine samples, ms
NOISE_BLOCK = 100  # input steps drawn per numpy call (one call per step would cost ~3x more)

#: exchange(t_ms, pre_last_ms (K,), post_last_ms (K,)) -> dopamine released this step (K,) or None
RewardExchange = Callable[[int, np.ndarray, np.ndarray], "np.ndarray | None"]

_NEURON_EQS = """
dv/dt = (0.04/mV*v**2 + 5*v + 140*mV - u + I) / ms : volt
du/dt = a * (b*v - u) : volt
dx/dt = -x / tau_stdp : 1
I : volt
a : Hz (constant)
d : volt (constant)
da : 1
t_last_ms : 1
n_spikes : integer
"""
# t_last_ms is rounded so that Python compares whole milliseconds exactly
_RESET = "v = v_reset\nu += d\nx = 1\nt_last_ms = floor(t/ms + 0.5)\nn_spikes += 1"

# Two Euler half-steps per dt, as the paper integrates v with 0.5 ms steps inside each 1 ms step
_HALF_STEP_EULER = b2.ExplicitStateUpdater(
    "x_half = x + 0.5*dt*f(x, t)\nx_new = x_half + 0.5*dt*f(x_half, t + 0.5*dt)"
)


@dataclass
class PhaseTrace:
    """What one phase recorded, per replica (leading axis K).

    dopamine:        (K, T_da) phasic dopamine every ``DA_SAMPLE_MS`` ms (last sample at the phase end)
    rewarded_elig:   (K, T_da) eligibility ``c`` of the tagged synapse at the same times, mV/ms
    weights_t_s:     (T_w,) network time of the weight samples, s (every 1 s, the last at the phase end)
    rewarded_weight: (K, T_w) weight of the tagged synapse, mV/ms
    others_median:   (K, T_w) median of all other excitatory weights, mV/ms
    others_p90:      (K, T_w) 90th percentile of all other excitatory weights, mV/ms
    spikes_i / spikes_t_ms / spikes_replica: spike events of the sampled neurons (replica-local index,
                     network time in ms, replica)
    n_spikes:        (K,) spikes of all neurons of each replica during the phase
    start_s:         network time at the phase start, s
    duration_s:      simulated time of the phase, s
    """

    dopamine: np.ndarray
    rewarded_elig: np.ndarray
    weights_t_s: np.ndarray
    rewarded_weight: np.ndarray
    others_median: np.ndarray
    others_p90: np.ndarray
    spikes_i: np.ndarray
    spikes_t_ms: np.ndarray
    spikes_replica: np.ndarray
    n_spikes: np.ndarray
    start_s: float
    duration_s: float


class IzhikevichCortex(CortexBase):
    """K independent replicas of the paper's network, built from one seed each by ``reset``.

    ``tagged_pre`` / ``tagged_post`` (K,): replica-local indices of the tagged synapse's neurons
    (the first synapse of excitatory neuron 0 that does not target neuron 0 itself; the paper
    takes synapse 1 of neuron 1). Its weight starts at ``w_rewarded_init``. ``n_inputs``,
    ``signals`` and ``n_actions`` are accepted for the common construction path; the model has none.
    """

    step_ms = DT_MS

    def __init__(self, params: IzhikevichParams, n_inputs: int = 0, n_replicas: int = 1, sample_units: int = 100,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self.target = codegen.resolve_target(params.target)
        self._cache = codegen.cache_dir(params.cache_dir)
        self.sample_units = min(sample_units, params.n_units)
        self.net = None

    def reset(self, seeds: Sequence[int]) -> None:
        """Build the network, replica k from ``seeds[k]`` alone (wiring and input noise)."""
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        # spawn key (0,) marks the cortex's streams; the reward rule uses (1,) (see experiments)
        streams = [np.random.SeedSequence(s, spawn_key=(0,)).spawn(2) for s in seeds]
        self._noise_rngs = [np.random.default_rng(ss[1]) for ss in streams]
        with codegen.brian_prefs(self.target, self._cache):
            self._build([np.random.default_rng(ss[0]) for ss in streams])

    def run_sequence(self, inputs, active, plasticity=None):
        """Not supported: the network has no input symbols to predict (its input is noise)."""
        raise NotImplementedError("spiking model izhikevich2007 has no input symbols, so no open loop; "
                                  "it runs distal_reward worlds through run_phase")

    def run(self, steps, exchange, first_inputs):
        """Not supported: the loop exchanges spike times for dopamine (see :meth:`run_phase`)."""
        raise NotImplementedError("spiking model izhikevich2007 exchanges spike times for dopamine every 1 ms "
                                  "(run_phase with a RewardExchange), not CortexOutput for Exchange")

    # ------------------------------------------------------------------ construction
    def _build(self, rngs: list[np.random.Generator]) -> None:
        p, k_rep, n = self.params, self.n_replicas, self.params.n_units
        n_exc, m = p.n_exc, p.synapses_per_neuron
        ms, mV = b2.ms, b2.mV
        dt = DT_MS * ms  # passed to every object: Brian2's defaultclock is global state
        # one step of the trace under the half-step scheme: (1 - dt / (2 tau))^2, ~0.9506 for 20 ms
        q = (1 - 0.5 * DT_MS / p.tau_stdp_ms) ** 2
        ns = {"tau_stdp": p.tau_stdp_ms * ms, "v_reset": p.v_reset_mv * mV, "v_peak": p.v_peak_mv * mV,
              "b": p.b, "a_plus_step": p.a_plus / q, "a_minus": p.a_minus,
              "w_inh": p.w_inh * mV, "da_tonic": p.da_tonic, "w_max": p.w_max,
              "elig_decay": float(np.exp(-p.update_every_ms / p.tau_elig_ms))}
        g = b2.NeuronGroup(k_rep * n, _NEURON_EQS, threshold="v >= v_peak", reset=_RESET,
                           method=_HALF_STEP_EULER, dt=dt, namespace=ns, name="izh_neurons")
        exc = np.tile(np.arange(n) < n_exc, k_rep)
        g.a = np.where(exc, p.a_exc, p.a_inh) / ms
        g.d = np.where(exc, p.d_exc_mv, p.d_inh_mv) * mV
        g.v = p.v_reset_mv * mV
        g.u = p.b * p.v_reset_mv * mV
        g.t_last_ms = -1e9  # "never": far outside any reward window

        # paper: excitatory targets are drawn from all neurons, inhibitory ones from excitatory only,
        # with replacement (self-connections and repeats allowed)
        pre_e, post_e, pre_i, post_i, tagged, tagged_post = [], [], [], [], [], []
        for k, rng in enumerate(rngs):
            off = k * n
            targets = rng.integers(0, n, size=(n_exc, m))
            pre_e.append(off + np.repeat(np.arange(n_exc), m))
            post_e.append(off + targets.ravel())
            pre_i.append(off + np.repeat(np.arange(n_exc, n), m))
            post_i.append(off + rng.integers(0, n_exc, size=(n - n_exc) * m))
            tagged.append(int(np.argmax(targets[0] != 0)))  # synapse index within the replica
            tagged_post.append(int(targets[0, tagged[-1]]))
        delay = (p.delay_ms - DT_MS) * ms  # the step after the spike is the paper's 1 ms delay
        # the resets (x <- 1) come after the synapses within a step, hence the v_post test
        s_e = b2.Synapses(g, g, "w : 1\nc : 1",
                          on_pre="I_post += w*mV\nc -= a_minus * (x_post + (1 - x_post) * int(v_post >= v_peak))",
                          on_post="c += a_plus_step * x_pre", delay=delay, dt=dt, namespace=ns,
                          name="izh_syn_exc")
        s_e.connect(i=np.concatenate(pre_e), j=np.concatenate(post_e))
        s_i = b2.Synapses(g, g, on_pre="I_post -= w_inh", delay=delay, dt=dt, namespace=ns, name="izh_syn_inh")
        s_i.connect(i=np.concatenate(pre_i), j=np.concatenate(post_i))
        self._tagged = np.array(tagged)
        self.tagged_pre = np.zeros(k_rep, dtype=int)
        self.tagged_post = np.array(tagged_post)
        s_e.w = p.w_exc_init
        # synapses keep the order given to connect(): replica blocks of n_exc * m
        s_e.w[np.arange(k_rep) * n_exc * m + self._tagged] = p.w_rewarded_init
        self._update = s_e.run_regularly(
            "w = clip(w + (da_tonic + da_post) * c, 0, w_max)\nc = c * elig_decay",
            dt=p.update_every_ms * ms, when="start", name="izh_weight_update")

        self._mons = [b2.SpikeMonitor(g[k * n:k * n + self.sample_units], name=f"izh_spikes_{k}")
                      for k in range(k_rep)]
        # after the thresholds and before the synapses: the fresh input draw is then summed with
        # the spikes that arrive in this step, and both act on the next integration step
        self._op = b2.NetworkOperation(self._every_step, dt=DT_MS * ms, when="before_synapses",
                                       name="izh_exchange")
        self._g, self._s_e = g, s_e
        self.net = b2.Network(g, s_e, s_i, self._update, *self._mons, self._op, name="izh_network")
        # raw arrays: ~3 us per read against ~30 us through the public API (BRIAN2_NOTES)
        self._t_last = g.variables["t_last_ms"].get_value()
        self._input = g.variables["I"].get_value().reshape(k_rep, n)  # volt (SI) in the raw array
        self._noise = np.empty((k_rep, NOISE_BLOCK, n))
        self._noise_half_v = 0.5 * p.noise_range_mv * 1e-3
        self._da_neurons = g.variables["da"].get_value().reshape(k_rep, n)
        self._w = s_e.variables["w"].get_value().reshape(k_rep, n_exc * m)
        self._c = s_e.variables["c"].get_value().reshape(k_rep, n_exc * m)
        self._rows = np.arange(k_rep)
        self._others = np.ones(n_exc * m, dtype=bool)
        first = np.arange(k_rep) * n  # global index of each replica's neuron 0
        self._watch = np.concatenate([first + self.tagged_pre, first + self.tagged_post])
        self._da = np.zeros(k_rep)
        self._da_decay = float(np.exp(-DT_MS / p.tau_da_ms))
        self._exchange: RewardExchange | None = None

    # ------------------------------------------------------------------ running
    def set_plasticity(self, on: bool) -> None:
        """Switch the weight update on or off (eligibility keeps tracking spikes either way)."""
        self._update.active = bool(on)

    def weights(self) -> np.ndarray:
        """Copy of the excitatory weights, (K, n_exc * synapses_per_neuron), mV/ms."""
        return self._w.copy()

    @property
    def rewarded_weights(self) -> np.ndarray:
        """Current weight of the tagged synapse per replica, (K,), mV/ms."""
        return self._w[np.arange(self.n_replicas), self._tagged]

    @property
    def dopamine(self) -> np.ndarray:
        """Current phasic dopamine per replica, (K,)."""
        return self._da.copy()

    def run_phase(self, duration_s: float, plastic: bool, exchange: RewardExchange,
                  progress: Callable[[float, float], None] | None = None) -> PhaseTrace:
        """Simulate ``duration_s`` seconds in one ``Network.run``; returns what the phase recorded.

        ``exchange`` is called every 1 ms step with the time of the last step whose spikes it can
        see (ms, int) and the last spike times (ms; -1e9 if none yet) of the tagged pre- and
        postsynaptic neurons; it returns the dopamine released at that step, (K,), or None.
        ``progress(done_s, total_s)`` is called every simulated second.
        """
        if self.net is None:
            raise RuntimeError("call reset(seeds) before running the cortex")
        n_steps = int(round(duration_s * 1000 / DT_MS))
        n_da = n_steps // DA_SAMPLE_MS
        w_every = int(round(WEIGHT_SAMPLE_S * 1000 / DT_MS))
        self._exchange, self._progress, self._duration_s = exchange, progress, duration_s
        self._step0 = int(round(float(self.net.t / b2.ms) / DT_MS))
        self._step = 0
        self._da_trace = np.zeros((self.n_replicas, n_da))
        self._elig_trace = np.zeros((self.n_replicas, n_da))
        self._w_trace: list[np.ndarray] = []
        self._w_t: list[float] = []
        spikes0 = [m.num_spikes for m in self._mons]
        n0 = self._g.n_spikes[:].reshape(self.n_replicas, -1).sum(axis=1)
        self._w_every = w_every
        self.set_plasticity(plastic)
        with codegen.brian_prefs(self.target, self._cache), np.errstate(invalid="raise"):
            self.net.run(n_steps * DT_MS * b2.ms, namespace={})  # errstate: a NaN stops the run
        if n_steps % w_every:  # the phase end always gets a weight sample
            self._sample_weights()
        ev = [(m.i[s0:], m.t[s0:] / b2.ms, np.full(m.num_spikes - s0, k))
              for k, (m, s0) in enumerate(zip(self._mons, spikes0))]
        stats = np.stack(self._w_trace, axis=2)  # (K, 3, T_w)
        return PhaseTrace(
            dopamine=self._da_trace, rewarded_elig=self._elig_trace, weights_t_s=np.array(self._w_t), rewarded_weight=stats[:, 0],
            others_median=stats[:, 1], others_p90=stats[:, 2],
            spikes_i=np.concatenate([e[0] for e in ev]).astype(np.int32),
            spikes_t_ms=np.concatenate([e[1] for e in ev]),
            spikes_replica=np.concatenate([e[2] for e in ev]).astype(np.int32),
            n_spikes=self._g.n_spikes[:].reshape(self.n_replicas, -1).sum(axis=1) - n0,
            start_s=self._step0 * DT_MS / 1000, duration_s=n_steps * DT_MS / 1000)

    def _every_step(self) -> None:
        """Each 1 ms step: draw the input, report the tagged neurons' spikes, take up dopamine, sample.

        Runs before the resets, so the spikes of this very step show up at the next call: the
        rule is told the time of the last step whose spikes it can see, and sees them all.
        """
        i = self._step
        j = i % NOISE_BLOCK
        if j == 0:
            for k, rng in enumerate(self._noise_rngs):
                block = rng.random(out=self._noise[k])
                block -= 0.5
                block *= 2 * self._noise_half_v
        self._input[:] = self._noise[:, j]
        k = self.n_replicas
        last = self._t_last[self._watch]
        release = self._exchange(int((self._step0 + i - 1) * DT_MS), last[:k], last[k:])
        self._da *= self._da_decay
        if release is not None:
            self._da += release
        self._step = i = i + 1
        if i % DA_SAMPLE_MS == 0:
            self._da_trace[:, i // DA_SAMPLE_MS - 1] = self._da
            self._elig_trace[:, i // DA_SAMPLE_MS - 1] = self._c[self._rows, self._tagged]
            # the weight update reads DA only on its 10 ms grid: write it just before
            self._da_neurons[:] = self._da[:, None]
        if i % self._w_every == 0:
            self._sample_weights()

    def _sample_weights(self) -> None:
        """Record the tagged weight and the spread of all others; fail fast on non-finite weights."""
        w = self._w
        t_ms = (self._step0 + self._step) * DT_MS
        bad = {name: nonfinite_replicas(x) for name, x in (("excitatory weights", w), ("dopamine", self._da))}
        if any(bad.values()):
            raise NumericalError(self._step0 + self._step, " and ".join(n for n, r in bad.items() if r),
                                 sorted(set().union(*bad.values())))
        stats = np.empty((self.n_replicas, 3))
        for k, local in enumerate(self._tagged):
            self._others[local] = False
            q = np.percentile(w[k, self._others], [50, 90])
            self._others[local] = True
            stats[k] = (w[k, local], q[0], q[1])
        self._w_trace.append(stats)
        self._w_t.append(t_ms / 1000)
        if self._progress is not None:
            self._progress(self._step * DT_MS / 1000, self._duration_s)

