"""The spiking cortex: a Brian2 LIF network behind the ``cortex.base.Cortex`` interface (the facade).

Open loop (``run_sequence``): the whole input is known, so its spikes are drawn ahead and the
network runs as ONE uninterrupted simulation; per-step spike counts are binned afterwards
(``cortex.spiking.monitors``) and become the features from which the shared online predictor
(``cortex.learning``) learns block by block, giving the same predictions as training during the run.

With ``target: cpp_standalone`` (open loop only) the cortex wants the whole experiment's input
ahead (``wants_input_ahead``): ``simulate_ahead`` runs every block of every phase as one compiled
standalone simulation and ``run_sequence`` replays it block by block (``cortex.spiking.schedule``),
with the same readout, checks and outputs as the runtime path.

Closed loop (``run``): one ``Network.run`` per call; a network operation every ``step_ms``
(``cortex.spiking.closed_loop``) reads the spike counters, calls the shared closed-loop learner
and ``exchange``, and writes the next input rates, dopamine and plasticity gates (Brian2 pays
~90 ms per ``run()``, so never a run per step).

Replicas are independent blocks of one network (``cortex.spiking.build``); the model's
equations are in ``cortex.spiking.equations``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.base import CortexBase, NumericalError, SequenceOutput
from cortex.learning import ClosedLoopLearner, LearnsOnline, OnlinePredictor
from cortex.readout import make_readout
from cortex.spiking import codegen, features as feat
from cortex.spiking import inputs as inp
from cortex.spiking import monitors
from cortex.spiking.params import SpikingParams, target_limit

# SeedSequence keys of each replica's generators
_STRUCTURE, _INPUT, _BRIAN = 1, 2, 4


class SpikingCortex(LearnsOnline, CortexBase):
    """Spiking cortex with K replicas (see module docstring).

    ``n_inputs``: input symbols / features (one input population each); ``sample_units``: number
    of excitatory neurons per replica whose activity and spikes are recorded; ``signals`` and
    ``n_actions``: what the closed-loop heads predict and choose.
    """

    #: saved state (cortex.base.capture_state); ``_network`` is the Brian2 network's (netstate.py).
    #: ``_network`` comes first: with cpp_standalone it raises TypeError (no state to save) before
    #: anything is copied. After the others, it let the walk copy the RLS readout's P (K F^2 floats:
    #: 13 GB at 8,000 units x 5 replicas) at every phase end, only to throw the copy away
    state_attrs = ("_network", "_step", "_plastic", "_brian_seed", "_input_rngs", "_phases", "_slow", "predictor",
                   "heads")
    #: units of ``CortexOutput.activity`` / ``SequenceOutput.activity``: spike counts per step
    activity_units = "spikes/step"
    trace_info = monitors.TRACE_INFO

    def __init__(self, params: SpikingParams, n_inputs: int, n_replicas: int, sample_units: int,
                 signals: Sequence[str] = (), n_actions: int = 0):
        self.params = params
        self.n_inputs, self.n_replicas = int(n_inputs), int(n_replicas)
        self.n_sample = min(int(sample_units), params.n_exc)
        self.signals, self.n_actions = tuple(signals), int(n_actions)
        self.target = codegen.resolve_target(params.target)
        self.step_ms = float(params.step_ms)
        self._cache = codegen.cache_dir(params.cache_dir)
        self._plastic = True
        self._built = self.predictor = None
        self._schedule = None  # cpp_standalone: the schedule simulated ahead and its recording
        self._step = 0         # steps since reset
        self._traces: dict = {}
        self._loop = None      # the closed loop in progress, if any

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
        self._schedule, self._step = None, 0
        if not self.wants_input_ahead:  # standalone builds its network in simulate_ahead
            self._built = build(p, K, self.n_inputs, self.n_sample, self._structure(), closed_loop_fn=self._tick)
        n_in = self.n_inputs * p.n_input_per_symbol
        self._phases = np.stack([r.random(n_in) for r in self._input_rngs])
        self._slow = feat.FilterBank(K, p.n_exc, p.filter_taus_ms, p.step_ms) if p.filter_taus_ms else None
        self.n_features = p.n_exc * (1 + len(p.filter_taus_ms)) + 1
        self._dtype = np.dtype(p.dtype)
        self.readout = make_readout(p.readout, K, self.n_features, self.n_inputs, self._dtype, [int(s) for s in seeds])
        self.predictor = OnlinePredictor(self.readout, K, self.n_inputs, self.n_features, self._dtype)
        self.heads = None
        if self.signals or self.n_actions:
            from cortex.heads import ThreeFactorHeads

            # heads add their own bias unit: they get the features without ours
            self.heads = ThreeFactorHeads(K, self.n_features - 1, self.signals, self.n_actions, p.heads, seeds)
        self.set_plasticity(self._plastic)

    def set_plasticity(self, on: bool) -> None:
        """Switch STDP, intrinsic plasticity, reward-modulated STDP, readout and heads on/off."""
        super().set_plasticity(on)
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
        """Simulate a whole open-loop experiment as one cpp_standalone run (``cortex.spiking.schedule``).

        ``phases``: per phase, its ``plastic`` flag and its blocks, each ``(inputs, active)`` of
        (K, T_b) as later given to ``run_sequence``. Returns the build's timings (seconds).
        """
        from cortex.spiking.schedule import Schedule

        if not self.wants_input_ahead:
            raise RuntimeError("simulate_ahead needs cortex.target: cpp_standalone")
        if self._schedule is not None:
            raise RuntimeError("cpp_standalone simulates one schedule per reset(); call reset() first")
        checked = [(plastic, [self.sequence_inputs(i, a) for i, a in blocks]) for plastic, blocks in phases]
        self._schedule = Schedule.simulate(self.params, self.n_replicas, self.n_inputs, self.n_sample,
                                           self._structure(), self._input_rngs, self._phases, self._cache, checked)
        return self._schedule.timings

    # ------------------------------------------------------------- open loop
    def run_sequence(self, inputs: np.ndarray, active: np.ndarray,
                     plasticity: np.ndarray | None = None) -> SequenceOutput:
        """Feed (K, T) int symbols as one simulation of T * step_ms; see module docstring.

        Padding steps (``active`` False) freeze the replica's neurons and weights exactly (see
        ``inputs.gate_spikes``); only the event-driven STDP and eligibility traces, which decay in
        network time, keep decaying while it is frozen.
        Returns probs (K, T, n_inputs), activity (K, T, n_sample) spike counts per step, and
        extra: spikes_replica/spikes_index/spikes_time_ms (events of the sampled neurons),
        rate_hz (K, T) excitatory population rate per step, v_mv (K, T, n_v) membrane potential
        sampled at the start of each step (units in ``trace_info``).
        """
        inputs, active = self.sequence_inputs(inputs, active)
        self.sequence_plasticity(plasticity, inputs.shape)  # refused: STDP runs inside the simulation
        T = inputs.shape[1]
        if self.wants_input_ahead:
            if self._schedule is None:  # a caller that did not plan ahead: this call is the whole run
                self.simulate_ahead([(self._plastic, [(inputs, active)])])
            counts, spikes, v, self._step = self._schedule.replay(inputs, active)
        else:
            counts, spikes, v = self._simulate_block(inputs, active)
        feats = feat.block_features(counts, active, self._slow, self._dtype)  # (K, T, F): this block only
        probs = self.predictor.run(inputs, active, self._plastic, self._step, self.params.block_steps,
                                   lambda s, e: feats[:, s:e])
        self._step += T
        extra = {**spikes, "rate_hz": monitors.pop_rate_hz(counts, self.params.n_exc, self.params.step_ms)}
        if v is not None:
            extra["v_mv"] = v
        # a copy: a view would keep this block's counts of every neuron alive while the caller
        # holds the output, i.e. through the next block
        return SequenceOutput(probs=probs, activity=counts[..., : self.n_sample].copy(), extra=extra)


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
        """Runtime path: draw this block's input and gate spikes, run it, read its spikes and v,
        check the state; returns (counts (K, T, n_exc), sampled spike events, v or None)."""
        p, b = self.params, self._built
        T, t0 = inputs.shape[1], self.time_ms
        spikes = inp.block_spikes(p, self._input_rngs, self._phases, inputs, active, self.n_inputs, t0)
        if T:
            self._set_gate(active[:, 0], t0)
        self._simulate(T, spikes, inp.gate_spikes(active, p.step_ms, t0, p.dt_ms), closed=False)
        i, t_ms = monitors.take_spikes(b.spk_all)
        lay = b.layout
        counts = feat.bin_counts(i, t_ms, lay.replica, lay.local, self.n_replicas, T, p.n_exc, t0, p.step_ms, p.dt_ms)
        v = monitors.take_v(b.v_probe, T, self.n_replicas)
        bad, replicas = monitors.nonfinite_state(b)
        if bad:  # the first step whose recorded v is non-finite, else the chunk's last step
            steps = np.flatnonzero(~np.isfinite(v).all(axis=(0, 2))) if v is not None else []
            raise NumericalError(self._step + (int(steps[0]) if len(steps) else T - 1), ", ".join(bad), replicas)
        return counts, monitors.sampled_events(i, t_ms, lay, self.n_sample), v

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

    # ----------------------------------------------------------- closed loop
    def run(self, steps: int, exchange, first_inputs: np.ndarray) -> None:
        """Closed loop for ``steps`` environment steps of ``step_ms``; ``exchange(step, output)``
        is called once per step, from inside the simulation, and returns the next Exchange."""
        from cortex.spiking.closed_loop import ClosedLoop, LoopHandles

        problem = target_limit(self.target, "closed_loop")
        if problem:  # validation rejects such configs; this guards direct use of the class
            raise RuntimeError(f"cortex.target: {problem}")
        learner = ClosedLoopLearner(self.predictor, self.heads, self._plastic, self.n_replicas, self.n_features,
                                    self.params.block_steps, self._step)
        handles = LoopHandles(self._built, self.params, self._phases, self._slow, learner, self.n_sample, self.time_ms)
        loop = ClosedLoop(handles, steps, exchange, np.asarray(first_inputs, float))
        loop.start()
        self._loop = loop
        try:
            empty = (np.zeros(0, np.int64), np.zeros(0))
            self._simulate(steps, empty, empty, closed=True)
            loop.step()  # the last step's counts are complete only when the run has ended
            loop.finish()
        finally:
            self._loop = None
        self._step = learner.step
        self._traces = loop.drain()

    def _tick(self, t) -> None:
        """Network operation body, every step_ms: hand over to the closed loop in progress."""
        self._loop.tick()

    @property
    def _network(self) -> dict:
        """The Brian2 network's state (``cortex.spiking.netstate``); runtime targets only."""
        from cortex.spiking.netstate import network_state

        if self._built is None:
            raise TypeError(f"cortex.target {self.target}: the network lives in the compiled project; "
                            "its state cannot be saved")
        return network_state(self._built.net)

    @_network.setter
    def _network(self, tree: dict) -> None:
        from cortex.spiking.netstate import load_network_state

        load_network_state(self._built.net, tree)

    def traces(self) -> dict:
        """Closed-loop traces not handed out yet; the caller takes them (a second call returns
        only what came after the first).

        Called from inside ``exchange`` it returns the steps finished so far, so a caller that
        asks every few thousand steps keeps memory bounded; after ``run`` it returns the rest.
        Keys and layout as ``SequenceOutput.extra`` of ``run_sequence`` (units in
        :attr:`trace_info`), plus ``eligibility/mean`` with reward-modulated STDP on.
        """
        if self._loop is not None:
            return self._loop.drain()
        out, self._traces = self._traces, {}
        return out
