"""One closed-loop run of the spiking cortex: the work its network operation does every step.

The network operation fires at t = 0, step, 2 step, ...; at t = s * step the spikes of step s-1
are complete, so that is when step s-1 is read out and ``exchange`` is called (and the inputs for
step s are written). The last step is handled after the run returns. All reads and writes go
through raw arrays (~3 us per access instead of ~28 us through Brian2's public API).

Traces (population rate, the probed neurons' membrane potential, the sampled neurons' spikes and,
with reward-modulated STDP on, the mean eligibility of each replica's E->E synapses) are kept only
until :meth:`ClosedLoop.drain` hands them over, so a caller that drains every few thousand steps
(the closed-loop runner does, from inside ``exchange``) keeps memory bounded however long the run.
Drained at step boundaries, every per-step trace has exactly one row per finished step.

The run gets what it touches as explicit :class:`LoopHandles` (the built Brian2 objects, the
input phases, the count filters and the shared ``cortex.learning.ClosedLoopLearner``, which owns
the plasticity gate, the heads and the readout's targets); it reads nothing private of the cortex.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cortex.base import NumericalError
from cortex.learning import ClosedLoopLearner
from cortex.spiking import features as feat
from cortex.spiking import monitors
from cortex.spiking.build import Built


@dataclass
class LoopHandles:
    """Everything one closed-loop run reads and writes."""

    built: Built                   # the Brian2 network and its layout
    params: object                 # SpikingParams
    input_phases: np.ndarray       # (K, n_inputs * n_input_per_symbol) phase of every input neuron
    slow: feat.FilterBank | None   # slower filters of the per-step counts (readout features)
    learner: ClosedLoopLearner     # gate -> heads -> readout target, shared by every model
    n_sample: int                  # excitatory neurons per replica whose activity is reported
    t0_ms: float                   # network time at the start of the run


class ClosedLoop:
    """State of one ``SpikingCortex.run`` call (see module docstring)."""

    def __init__(self, handles: LoopHandles, steps: int, exchange, first_inputs: np.ndarray):
        b, p = handles.built, handles.params
        self.lay = b.layout
        K, n_in = self.lay.K, handles.input_phases.shape[1] // p.n_input_per_symbol
        if first_inputs.shape != (K, n_in):
            raise ValueError(f"first_inputs must be (K={K}, n_inputs={n_in}), got {first_inputs.shape}")
        self.h, self.p, self.steps, self.exchange = handles, p, steps, exchange
        self.learner = handles.learner
        var = b.cx.variables
        self.v, self.nspk = var["v"].get_value(), var["nspk"].get_value()
        self.g, self.plastic, self.dopamine = var["g"].get_value(), var["plastic"].get_value(), var["dopamine"].get_value()
        self.rates = b.inp_rate.variables["rates"].get_value()
        # locked input: every step restarts each input neuron's phase (as in open loop)
        self.phase = b.inp_rate.variables["phase"].get_value() if p.input_noise != "poisson" else None
        self.phase0 = handles.input_phases.ravel()
        self.exc = self.lay.gid[:, : p.n_exc]           # (K, n_exc) global indices
        self.inputs = first_inputs
        self.count = 0
        self.sample = self.lay.gid[:, : handles.n_sample]
        self.t0_s = handles.t0_ms * 1e-3
        # per-step rows since the last drain; membrane potentials the monitor holds beyond them
        self.rate_rows: list[np.ndarray] = []
        self.elig_rows: list[np.ndarray] = []
        self.v_carry = None
        self.elig = monitors.EligibilityMean(b, K) if p.rstdp_rate > 0 else None

    def start(self) -> None:
        """Every replica running, counters cleared, first inputs on."""
        self.g[:] = 1.0
        self.nspk[:] = 0.0
        if self.phase is not None:
            self.phase[:] = self.phase0
        self.dopamine[:] = 0.0
        self.set_input_rates(self.inputs)
        b = self.h.built
        if b.v_probe is not None:  # leftovers of an earlier call would shift this run's samples
            b.v_probe.resize(0)
        if b.spk_probe is not None:
            monitors.clear_events(b.spk_probe)

    def tick(self) -> None:
        """Network operation: at t = s * step, finish step s - 1 (nothing to do at t = 0)."""
        if self.count > 0:
            self.step()
        else:
            self.count = 1

    def set_input_rates(self, x: np.ndarray) -> None:
        """Input populations fire at the rates of input vector ``x`` (K, n_inputs); none where done."""
        p = self.p
        r = np.where(self.learner.done[:, None], 0.0, p.background_rate_hz + p.input_rate_hz * np.clip(x, 0.0, None))
        self.rates[:] = np.repeat(r.ravel(), p.n_input_per_symbol)
        if p.input_noise == "locked":
            self.phase[:] = self.phase0

    def step(self) -> None:
        """Read step s's spikes, emit its CortexOutput through ``exchange``, apply the answer."""
        s = self.count - 1
        learner, slow = self.learner, self.h.slow
        if not np.isfinite(self.v).all():
            raise NumericalError(learner.step, "cx.v", np.unique(self.lay.replica[~np.isfinite(self.v)]))
        counts = self.nspk[self.exc].astype(np.float32)       # (K, n_exc)
        activity = self.nspk[self.sample].astype(np.float32)
        self.nspk[:] = 0.0
        self.rate_rows.append(counts.sum(1) / (self.p.n_exc * self.p.step_ms * 1e-3))
        if self.elig is not None:  # at the end of step s: the eligibility its dopamine meets
            self.elig_rows.append(self.elig.mean(self.t0_s + (s + 1) * self.p.step_ms * 1e-3))
        on = learner.running
        filtered = slow.run(counts[:, None], on[:, None])[:, 0] if slow is not None else None
        x = feat.features(counts, filtered).astype(learner.predictor.dtype, copy=False)
        ex = self.exchange(s, learner.output(x, x[:, :-1], activity))  # heads add their own bias unit
        gate = learner.answer(ex, x, x[:, :-1])
        self.inputs = np.asarray(ex.inputs, float)
        blocks = self.lay.gid
        self.plastic[blocks] = gate[:, None].astype(float)
        self.dopamine[blocks] = np.asarray(ex.modulators.dopamine, float)[:, None]
        self.g[blocks] = learner.running[:, None].astype(float)
        self.set_input_rates(self.inputs)
        self.count += 1

    def finish(self) -> None:
        """After the run: learn the readout's last block, restore the plasticity flag."""
        self.learner.finish()
        self.plastic[:] = float(self.learner.plastic)
        self.dopamine[:] = 0.0

    def drain(self) -> dict:
        """Traces of the steps finished since the last drain (keys and layout as the open-loop
        ``SequenceOutput.extra``), then forgets them: ``rate_hz`` (K, n) Hz, ``v_mv`` (K, n, n_v)
        mV at each step's start, spike events ``spikes_replica``/``spikes_index``/``spikes_time_ms``
        (network time since reset, ms) of the sampled neurons, and ``eligibility/mean`` (K, n)
        when reward-modulated STDP is on. Empty dict when no step finished."""
        n = len(self.rate_rows)
        if n == 0:
            return {}
        b = self.h.built
        out = {"rate_hz": np.stack(self.rate_rows, axis=1).astype(np.float32)}
        self.rate_rows = []
        if self.elig_rows:
            out["eligibility/mean"] = np.stack(self.elig_rows, axis=1).astype(np.float32)
            self.elig_rows = []
        if b.spk_probe is not None:  # the probe records the sampled neurons only
            out.update(monitors.sampled_events(*monitors.take_spikes(b.spk_probe), self.lay, self.h.n_sample))
        v = self.drain_v(n)
        if v is not None:
            out["v_mv"] = v
        return out

    def drain_v(self, n: int):
        """(K, n, n_v) membrane potentials of the next n steps; samples beyond them wait in
        ``v_carry`` (the monitor and the network operation share the step clock)."""
        mon = self.h.built.v_probe
        if mon is None:
            return None
        v = np.asarray(mon.v_[:]).T * 1e3  # (samples, K * n_v)
        mon.resize(0)
        if self.v_carry is not None:
            v = np.concatenate([self.v_carry, v])
        v, self.v_carry = v[:n], (v[n:] if len(v) > n else None)
        if len(v) < n:  # never expected: keep the rows aligned with the steps anyway
            v = np.concatenate([v, np.full((n - len(v), v.shape[1]), np.nan)])
        return v.reshape(n, self.lay.K, -1).transpose(1, 0, 2).astype(np.float32)
