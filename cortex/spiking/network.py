"""The spiking cortex: a Brian2 LIF network behind the ``cortex.base.Cortex`` interface.

Open loop (``run_sequence``): the whole input is known, so its spikes are drawn ahead and the
network runs as ONE uninterrupted simulation; per-step spike counts are binned afterwards and the
readout (which never feeds back) is trained online from them, block by block, giving the same
predictions as training during the run.

With ``target: cpp_standalone`` (open loop only) the cortex wants the whole experiment's input
ahead (``wants_input_ahead``): ``simulate_ahead`` runs every block of every phase as one compiled
standalone simulation (``cortex.spiking.standalone``), and ``run_sequence`` then replays the
recorded spikes block by block, with the same readout, checks and outputs as the runtime path.

Closed loop (``run``): one ``Network.run`` per call; a network operation every ``step_ms`` reads
the spike counters through raw arrays, calls the heads and ``exchange``, and writes the next input
rates, dopamine and plasticity gates (Brian2 pays ~90 ms per ``run()``, so never a run per step).

Replicas are independent blocks of one network (see ``cortex.spiking.build``). The model and its
equations are in ``cortex.spiking.equations``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.base import NumericalError, SequenceOutput
from cortex.encoding import one_hot
from cortex.readout import make_readout
from cortex.spiking import codegen, features as feat
from cortex.spiking import inputs as inp
from cortex.spiking.params import SpikingParams

# SeedSequence keys of each replica's generators
_STRUCTURE, _INPUT, _BRIAN = 1, 2, 4


class SpikingCortex:
    """Spiking cortex with K replicas (see module docstring).

    ``n_inputs``: input symbols / features (one input population each); ``sample_units``: number
    of excitatory neurons per replica whose activity and spikes are recorded; ``signals`` and
    ``n_actions``: what the closed-loop heads predict and choose.
    """

    probes = ("activity", "spikes", "rate_hz", "v_mv")
    #: units of ``CortexOutput.activity`` / ``SequenceOutput.activity``: spike counts per step
    activity_units = "spikes/step"
    #: units and description of every trace ``run_sequence`` (``extra``) and ``traces`` return
    trace_info = {
        "rate_hz": ("Hz", "excitatory population rate per step"),
        "v_mv": ("mV", "membrane potential of the probed neurons (local index 0..n_v-1) at each step's start"),
        "spikes_replica": ("1", "replica of each spike of the sampled neurons"),
        "spikes_index": ("1", "replica-local index of the spiking neuron (< sample_units)"),
        "spikes_time_ms": ("ms", "spike time, network time since reset"),
        "eligibility/mean": ("1", "mean eligibility of the replica's E->E synapses at the end of the step "
                                  "(the reward-modulated STDP trace that dopamine turns into weight change)"),
    }

    def __init__(self, params: SpikingParams, n_inputs: int, n_replicas: int, sample_units: int,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self.n_sample = min(int(sample_units), params.n_exc)
        self.signals, self.n_actions = tuple(signals), int(n_actions)
        self.target = codegen.resolve_target(params.target, allow_standalone=True)
        self._cache = codegen.cache_dir(params.cache_dir)
        self._plastic = True
        self._built = None
        self._ahead = None  # cpp_standalone: the schedule simulated ahead and its recording
        self._step, self._lay = 0, None
        self._traces: dict = {}
        self._running = False

    # ----------------------------------------------------------------- state
    def reset(self, seeds: Sequence[int]) -> None:
        """(Re)build the network, readout and heads; replica k from ``seeds[k]`` alone."""
        from cortex.spiking.build import build

        p, K = self.params, self.n_replicas
        if len(seeds) != K:
            raise ValueError(f"need {K} seeds, got {len(seeds)}")
        rng = lambda s, key: np.random.default_rng(np.random.SeedSequence([int(s), key]))  # noqa: E731
        self._input_rngs = [rng(s, _INPUT) for s in seeds]
        self._brian_seed = int(rng(seeds[0], _BRIAN).integers(2**31 - 1))
        if self._built is not None:
            del self._built  # drop the old objects before creating new ones with the same names
        self._built = None
        self._structure = lambda: [rng(s, _STRUCTURE) for s in seeds]  # noqa: E731
        self._ahead, self._step = None, 0
        if not self.wants_input_ahead:  # standalone builds its network in simulate_ahead
            self._built = build(p, K, self.n_inputs, self.n_sample, self._structure(), closed_loop_fn=self._tick)
        n_in = self.n_inputs * p.n_input_per_symbol
        self._phases = np.stack([r.random(n_in) for r in self._input_rngs])
        self._slow = feat.FilterBank(K, p.n_exc, p.filter_taus_ms, p.step_ms) if p.filter_taus_ms else None
        self.n_features = p.n_exc * (1 + len(p.filter_taus_ms)) + 1
        self._dtype = np.dtype(p.dtype)
        self._readout = make_readout(p.readout, K, self.n_features, self.n_inputs, self._dtype)
        self._pending = np.zeros((K, self.n_features), self._dtype)   # last step's features, awaiting their target
        self._has_pending = np.zeros(K, bool)
        self._heads = None
        if self.signals or self.n_actions:
            from cortex.heads import ThreeFactorHeads

            # heads add their own bias unit: they get the features without ours
            self._heads = ThreeFactorHeads(K, self.n_features - 1, self.signals, self.n_actions, p.heads, seeds)
        self.set_plasticity(self._plastic)

    def set_plasticity(self, on: bool) -> None:
        """Switch STDP, intrinsic plasticity, reward-modulated STDP, readout and heads on/off."""
        self._plastic = bool(on)
        if self._built is not None:
            self._built.cx.variables["plastic"].get_value()[:] = float(on)

    @property
    def time_ms(self) -> float:
        """Simulated time since ``reset`` (ms)."""
        if self.wants_input_ahead:
            return self._step * self.params.step_ms
        return float(self._built.net.t_) * 1e3 if self._built is not None else 0.0

    @property
    def wants_input_ahead(self) -> bool:
        """True when the cortex simulates the whole open-loop input at once (cpp_standalone):
        the caller then hands every block of every phase to :meth:`simulate_ahead` before the
        first ``run_sequence``, and calls ``run_sequence`` with the same blocks in the same order."""
        return self.target == "cpp_standalone"

    def simulate_ahead(self, phases: Sequence[tuple[bool, Sequence[tuple[np.ndarray, np.ndarray]]]]) -> dict:
        """Simulate a whole open-loop experiment as one cpp_standalone run (see module docstring).

        ``phases``: per phase, its ``plastic`` flag and its blocks, each ``(inputs, active)`` of
        (K, T_b) as later given to ``run_sequence``. Input spikes are drawn block by block in
        order, exactly as the runtime path draws them, and plasticity switches between phases.
        Returns the build's timings (seconds).
        """
        from cortex.spiking import standalone

        if not self.wants_input_ahead:
            raise RuntimeError("simulate_ahead needs cortex.target: cpp_standalone")
        if self._ahead is not None:
            raise RuntimeError("cpp_standalone simulates one schedule per reset(); call reset() first")
        p, K = self.params, self.n_replicas
        blocks, runs, idx, times, step = [], [], [], [], 0
        for plastic, phase_blocks in phases:
            start = step
            for inputs, active in phase_blocks:
                inputs, active = self._check_block(inputs, active)
                rates = inp.rates_hz(np.clip(inputs, 0, self.n_inputs - 1), active, self.n_inputs,
                                     p.input_rate_hz, p.background_rate_hz)
                i, t = inp.draw_spikes(self._input_rngs, rates, p.n_input_per_symbol, p.step_ms, p.dt_ms,
                                       step * p.step_ms, p.input_noise, self._phases)
                idx.append(i)
                times.append(t)
                blocks.append((step, inputs, active))
                step += inputs.shape[1]
            runs.append((step - start, bool(plastic)))
        all_active = np.concatenate([a for _, _, a in blocks], axis=1) if blocks else np.ones((K, 0), bool)
        gate = inp.gate_spikes(all_active, p.step_ms, 0.0, p.dt_ms)
        spikes = (np.concatenate(idx) if idx else np.zeros(0, np.int64), np.concatenate(times) if times else np.zeros(0))
        rec = standalone.simulate(p, K, self.n_inputs, self.n_sample, self._structure(), spikes, gate, runs,
                                  self._cache, running=all_active[:, 0] if all_active.shape[1] else np.ones(K, bool))
        first_bad = None
        if rec.bad:
            nonfinite = np.flatnonzero(~np.isfinite(rec.v_mv).all(axis=1)) if rec.v_mv is not None else []
            first_bad = int(nonfinite[0]) if len(nonfinite) else step - 1
        self._ahead = {"blocks": blocks, "next": 0, "rec": rec, "first_bad": first_bad}
        return rec.timings

    # ------------------------------------------------------------- open loop
    def run_sequence(self, inputs: np.ndarray, active: np.ndarray) -> SequenceOutput:
        """Feed (K, T) int symbols as one simulation of T * step_ms; see module docstring.

        Padding steps (``active`` False) freeze the replica's neurons and weights exactly (see
        ``inputs.gate_spikes``); only the event-driven STDP and eligibility traces, which decay in
        network time, keep decaying while it is frozen.
        Returns probs (K, T, n_inputs), activity (K, T, n_sample) spike counts per step, and
        extra: spikes_replica/spikes_index/spikes_time_ms (events of the sampled neurons),
        rate_hz (K, T) excitatory population rate per step, v_mv (K, T, n_v) membrane potential
        sampled at the start of each step.
        """
        inputs, active = self._check_block(inputs, active)
        T = inputs.shape[1]
        if self.wants_input_ahead:
            if self._ahead is None:  # a caller that did not plan ahead: this call is the whole run
                self.simulate_ahead([(self._plastic, [(inputs, active)])])
            counts, spikes, v = self._replay(inputs, active)
        else:
            counts, spikes, v = self._simulate_block(inputs, active)
            self._check_finite(T, v)
        probs = self._train_readout(counts, inputs, active)
        extra = {**spikes, "rate_hz": self._pop_rate(counts)}
        if v is not None:
            extra["v_mv"] = v
        return SequenceOutput(probs=probs, activity=counts[..., : self.n_sample], extra=extra)

    def _check_block(self, inputs, active) -> tuple[np.ndarray, np.ndarray]:
        inputs, active = np.asarray(inputs), np.asarray(active, bool)
        K = self.n_replicas
        if inputs.shape != active.shape or inputs.ndim != 2 or inputs.shape[0] != K:
            raise ValueError(f"inputs and active must both be (K={K}, T), got {inputs.shape}, {active.shape}")
        return inputs, active

    def _set_gate(self, running: np.ndarray, t_ms: float) -> None:
        """Freeze or resume replicas before a run starts, as the gate synapses would (equations.py)."""
        v = self._built.cx.variables
        g, last, frozen = (v[name].get_value() for name in ("g", "lastspike", "t_frozen"))
        for k in np.flatnonzero((g[self._built.layout.gid[:, 0]] > 0.5) != running):
            cells = self._built.layout.gid[k]
            if running[k]:
                last[cells] += t_ms * 1e-3 - frozen[cells]
            frozen[cells] = t_ms * 1e-3
            g[cells] = float(running[k])

    def _simulate_block(self, inputs: np.ndarray, active: np.ndarray):
        """Runtime path: draw this block's input and gate spikes, run it, read its spikes and v."""
        p = self.params
        T, t0 = inputs.shape[1], self.time_ms
        rates = inp.rates_hz(np.clip(inputs, 0, self.n_inputs - 1), active, self.n_inputs,
                             p.input_rate_hz, p.background_rate_hz)
        idx, times = inp.draw_spikes(self._input_rngs, rates, p.n_input_per_symbol, p.step_ms, p.dt_ms, t0,
                                     p.input_noise, self._phases)
        if T:
            self._set_gate(active[:, 0], t0)
        gidx, gtimes = inp.gate_spikes(active, p.step_ms, t0, p.dt_ms)
        self._simulate(T, (idx, times), (gidx, gtimes), closed=False)
        counts, spikes = self._read_spikes(T, t0)
        return counts, spikes, self._read_v(T)

    def _replay(self, inputs: np.ndarray, active: np.ndarray):
        """cpp_standalone path: the next block of the recording made by ``simulate_ahead``, as
        counts, sampled spikes and v exactly like ``_simulate_block``; raises NumericalError at the
        first step whose recorded v is non-finite if the simulation ended with a non-finite state."""
        p, lay, ahead = self.params, self._layout(), self._ahead
        if ahead["next"] >= len(ahead["blocks"]):
            raise RuntimeError("cpp_standalone: run_sequence called beyond the schedule given to simulate_ahead")
        start, planned_inputs, planned_active = ahead["blocks"][ahead["next"]]
        if not (np.array_equal(planned_active, active) and np.array_equal(planned_inputs[active], inputs[active])):
            raise ValueError("cpp_standalone: run_sequence must get the blocks given to simulate_ahead, in order")
        ahead["next"] += 1
        T, rec = inputs.shape[1], ahead["rec"]
        t0 = start * p.step_ms
        lo, hi = np.searchsorted(rec.t_ms, [t0 - p.dt_ms / 2, t0 + T * p.step_ms - p.dt_ms / 2])
        i, t_ms = rec.i[lo:hi], rec.t_ms[lo:hi]
        counts = feat.bin_counts(i, t_ms, lay.replica, lay.local, self.n_replicas, T, p.n_exc, t0, p.step_ms, p.dt_ms)
        sampled = lay.local[i] < self.n_sample
        spikes = {"spikes_replica": lay.replica[i[sampled]].astype(np.int16),
                  "spikes_index": lay.local[i[sampled]].astype(np.int32),
                  "spikes_time_ms": t_ms[sampled].astype(np.float64)}
        v = None
        if rec.v_mv is not None:
            v = rec.v_mv[start:start + T].reshape(T, self.n_replicas, -1).transpose(1, 0, 2)
        self._step = start + T
        bad = ahead["first_bad"]
        if bad is not None and bad < start + T:
            raise NumericalError(max(bad - start, 0), ", ".join(rec.bad), rec.bad_replicas)
        return counts, spikes, v

    def _layout(self):
        from cortex.spiking.build import Layout

        if self._lay is None:
            p = self.params
            self._lay = Layout.make(self.n_replicas, p.n_units, p.n_exc, self.n_sample)
        return self._lay

    def _simulate(self, T: int, input_spikes, gate, closed: bool) -> None:
        """One Brian2 run of T steps: open loop with the given generator spikes, or closed loop."""
        from brian2 import ms, seed

        b = self._built
        b.inp_gen.set_spikes(input_spikes[0], input_spikes[1] * ms, sorted=True)
        b.gate_gen.set_spikes(gate[0], gate[1] * ms, sorted=True)
        for obj in b.open_only:
            obj.active = not closed
        for obj in b.gate:
            obj.active = len(gate[0]) > 0
        for obj in b.closed_only:
            obj.active = closed
        if closed:
            # the only Brian2-side randomness (Poisson inputs) comes from its global generator
            seed(self._brian_seed)
            self._brian_seed = (self._brian_seed * 1103515245 + 12345) % (2**31 - 1)
        with codegen.brian_prefs(self.target, self._cache):
            # every constant lives in the groups (see equations.py): nothing to resolve from frames
            b.net.run(T * self.params.step_ms * ms, namespace={})

    def _read_spikes(self, T: int, t0: float):
        """Per-step counts (K, T, n_exc) of the open-loop run and the sampled neurons' spikes;
        empties the monitor so memory stays bounded."""
        p, b, lay = self.params, self._built, self._built.layout
        i, t_ms = np.asarray(b.spk_all.i[:], np.int64), np.asarray(b.spk_all.t_[:]) * 1e3
        counts = feat.bin_counts(i, t_ms, lay.replica, lay.local, self.n_replicas, T, p.n_exc, t0,
                                 p.step_ms, p.dt_ms)
        sampled = lay.local[i] < self.n_sample
        spikes = {"spikes_replica": lay.replica[i[sampled]].astype(np.int16),
                  "spikes_index": lay.local[i[sampled]].astype(np.int32),
                  "spikes_time_ms": t_ms[sampled].astype(np.float64)}
        _clear_events(b.spk_all)
        return counts, spikes

    def _read_v(self, T: int):
        """(K, T, n_v) membrane potential (mV) sampled once per step; empties the monitor."""
        mon = self._built.v_probe
        if mon is None:
            return None
        v = np.asarray(mon.v_[:]).T * 1e3  # (samples, K * n_v)
        mon.resize(0)
        v = v[-T:] if len(v) >= T else np.pad(v, ((T - len(v), 0), (0, 0)), constant_values=np.nan)
        K = self.n_replicas
        return v.reshape(T, K, -1).transpose(1, 0, 2).astype(np.float32)

    def _pop_rate(self, counts: np.ndarray) -> np.ndarray:
        """Excitatory population rate per step (K, T) in Hz."""
        return (counts.sum(-1) / (self.params.n_exc * self.params.step_ms * 1e-3)).astype(np.float32)

    def _train_readout(self, counts: np.ndarray, inputs: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Online readout over the recorded steps; returns the a-priori predictions (K, T, n_in).

        Each replica's active steps are packed in order, preceded by the previous call's last
        step (whose target, this call's first symbol, is only known now); row r learns to
        predict the symbol of the next active step.
        """
        K, T = active.shape
        slow = self._slow.run(counts, active) if self._slow is not None else None
        n = self.n_inputs
        probs = np.full((K, T, n), 1.0 / n)
        # row t + 1 holds step t's features, written in place; a replica with padding steps then
        # has its active steps packed to the front
        rows = np.empty((K, T + 1, self.n_features), self._dtype)
        feat.features(counts, slow, out=rows[:, 1:])
        last = np.zeros((K, self.n_features), self._dtype)
        targets = np.zeros((K, T + 1, n), self._dtype)
        learn = np.zeros((K, T + 1), bool)
        where = []
        for k in range(K):
            a = np.flatnonzero(active[k])
            where.append(a)
            if len(a):
                last[k] = rows[k, a[-1] + 1]
            if len(a) < T:
                rows[k, 1:len(a) + 1] = rows[k, a + 1]  # fancy index: a copy, so the overlap is safe
                rows[k, len(a) + 1:] = 0.0
            rows[k, 0] = self._pending[k]
            targets[k, : len(a)] = one_hot(inputs[k, a], n)
            learn[k, : len(a)] = True
            learn[k, 0] &= self._has_pending[k]
        if self._plastic:
            pred = np.empty_like(targets)
            B = self.params.block_steps
            for s in range(0, T + 1, B):
                pred[:, s:s + B] = self._readout.learn(rows[:, s:s + B], targets[:, s:s + B], learn[:, s:s + B])
        else:
            pred = self._readout.predict(rows)
        newest = self._readout.predict(last)  # (K, n): each replica's last step, with its newest weights
        for k, a in enumerate(where):
            if len(a):
                # rows 1..len(a)-1 were predicted before learning; the last one after everything
                probs[k, a[:-1]] = pred[k, 1:len(a)]
                probs[k, a[-1]] = newest[k]
                self._pending[k], self._has_pending[k] = last[k], True
        return self._readout.distribution(probs)

    def _check_finite(self, T: int, v: np.ndarray | None) -> None:
        """Raise NumericalError if any neuron or weight state is NaN/Inf; the step is the first
        one whose recorded membrane potentials are non-finite, else the chunk's last step."""
        from cortex.spiking.standalone import nonfinite_state

        bad, replicas = nonfinite_state(self._built)
        if bad:
            steps = np.flatnonzero(~np.isfinite(v).all(axis=(0, 2))) if v is not None else []
            raise NumericalError(int(steps[0]) if len(steps) else T - 1, ", ".join(bad), replicas)

    # ----------------------------------------------------------- closed loop
    def run(self, steps: int, exchange, first_inputs: np.ndarray) -> None:
        """Closed loop for ``steps`` environment steps of ``step_ms``; ``exchange(step, output)``
        is called once per step, from inside the simulation, and returns the next Exchange."""
        from cortex.spiking.closed_loop import ClosedLoop

        if self.wants_input_ahead:
            raise RuntimeError("cortex.target: cpp_standalone runs open loop only (Brian2 skips network "
                               "operations in standalone mode); use cython for a closed loop")
        self._loop = ClosedLoop(self, steps, exchange, np.asarray(first_inputs, float))
        self._loop.start()
        self._running = True
        try:
            empty = (np.zeros(0, np.int64), np.zeros(0))
            self._simulate(steps, empty, empty, closed=True)
            self._loop.step()  # the last step's counts are complete only when the run has ended
            self._loop.finish()
        finally:
            self._running = False
        self._traces = self._loop.drain()

    def _tick(self, t) -> None:
        """Network operation body, every step_ms: hand over to the closed loop in progress."""
        self._loop.tick()

    def traces(self) -> dict:
        """Closed-loop traces not handed out yet; the caller takes them (a second call returns
        only what came after the first).

        Called from inside ``exchange`` it returns the steps finished so far, so a caller that
        asks every few thousand steps keeps memory bounded; after ``run`` it returns the rest.
        Keys and layout as ``SequenceOutput.extra`` of ``run_sequence`` (units in
        :attr:`trace_info`), plus ``eligibility/mean`` with reward-modulated STDP on.
        """
        if self._running:
            return self._loop.drain()
        out, self._traces = self._traces, {}
        return out


def _clear_events(monitor) -> None:
    """Forget the spikes a SpikeMonitor holds (Brian2 has no public call for it)."""
    monitor.resize(0)
    monitor.variables["N"].get_value()[...] = 0
