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
"""
from __future__ import annotations

import dataclasses

import numpy as np

from cortex.base import CortexOutput, NumericalError
from cortex.spiking import features as feat


class ClosedLoop:
    """State of one ``SpikingCortex.run`` call (see module docstring)."""

    def __init__(self, cortex, steps: int, exchange, first_inputs: np.ndarray):
        K, n_in = cortex.n_replicas, cortex.n_inputs
        if first_inputs.shape != (K, n_in):
            raise ValueError(f"first_inputs must be (K={K}, n_inputs={n_in}), got {first_inputs.shape}")
        self.cx, self.steps, self.exchange = cortex, steps, exchange
        b, p = cortex._built, cortex.params
        self.p, self.lay = p, b.layout
        var = b.cx.variables
        self.v, self.nspk = var["v"].get_value(), var["nspk"].get_value()
        self.g, self.plastic, self.dopamine = var["g"].get_value(), var["plastic"].get_value(), var["dopamine"].get_value()
        self.rates = b.inp_rate.variables["rates"].get_value()
        # locked input: every step restarts each input neuron's phase (as in open loop)
        self.phase = b.inp_rate.variables["phase"].get_value() if p.input_noise != "poisson" else None
        self.phase0 = cortex._phases.ravel()
        self.exc = self.lay.gid[:, : p.n_exc]           # (K, n_exc) global indices
        self.done = np.zeros(K, bool)
        self.inputs = first_inputs
        self.buffer = _Block(cortex._readout, K, cortex.n_features, n_in, p.block_steps, cortex._dtype)
        self.count = 0
        self.sample = self.lay.gid[:, : cortex.n_sample]
        self.t0_s = cortex.time_ms * 1e-3
        # per-step rows since the last drain; membrane potentials the monitor holds beyond them
        self.rate_rows: list[np.ndarray] = []
        self.elig_rows: list[np.ndarray] = []
        self.v_carry = None
        self.elig = _Eligibility(b, self.lay, K) if p.rstdp_rate > 0 else None

    def start(self) -> None:
        """Every replica running, counters cleared, first inputs on."""
        self.g[:] = 1.0
        self.nspk[:] = 0.0
        if self.phase is not None:
            self.phase[:] = self.phase0
        self.dopamine[:] = 0.0
        self._set_rates(self.inputs)
        b = self.cx._built
        if b.v_probe is not None:  # leftovers of an earlier call would shift this run's samples
            b.v_probe.resize(0)
        if b.spk_probe is not None:
            from cortex.spiking.network import _clear_events

            _clear_events(b.spk_probe)

    def tick(self) -> None:
        """Network operation: at t = s * step, finish step s - 1 (nothing to do at t = 0)."""
        if self.count > 0:
            self.step()
        else:
            self.count = 1

    def _set_rates(self, x: np.ndarray) -> None:
        p = self.p
        r = np.where(self.done[:, None], 0.0, p.background_rate_hz + p.input_rate_hz * np.clip(x, 0.0, None))
        self.rates[:] = np.repeat(r.ravel(), p.n_input_per_symbol)
        if p.input_noise == "locked":
            self.phase[:] = self.phase0

    def step(self) -> None:
        """Read step s's spikes, emit its CortexOutput through ``exchange``, apply the answer."""
        s = self.count - 1
        cx = self.cx
        if not np.isfinite(self.v).all():
            raise NumericalError(s, "cx.v", np.unique(self.lay.replica[~np.isfinite(self.v)]))
        counts = self.nspk[self.exc].astype(np.float32)       # (K, n_exc)
        activity = self.nspk[self.sample].astype(np.float32)
        self.nspk[:] = 0.0
        self.rate_rows.append(counts.sum(1) / (self.p.n_exc * self.p.step_ms * 1e-3))
        if self.elig is not None:  # at the end of step s: the eligibility its dopamine meets
            self.elig_rows.append(self.elig.mean(self.t0_s + (s + 1) * self.p.step_ms * 1e-3))
        on = ~self.done
        slow = cx._slow.run(counts[:, None], on[:, None])[:, 0] if cx._slow is not None else None
        x = feat.features(counts, slow).astype(cx._dtype, copy=False)
        out = CortexOutput(next_input=cx._readout.distribution(cx._readout.predict(x)), activity=activity)
        if cx._heads is not None:
            out.assessments, out.value, out.action_prefs = cx._heads.forward(x[:, :-1])
        ex = self.exchange(s, out)
        done = np.asarray(ex.done, bool)
        gate = np.asarray(ex.modulators.plastic, bool) & on & cx._plastic
        if cx._heads is not None:
            cx._heads.learn(x[:, :-1], dataclasses.replace(ex.modulators, plastic=gate), ex.action)
        # the readout learns to predict the next input; a finished episode's next input is no consequence
        self.buffer.add(x, np.asarray(ex.inputs, float), gate & ~done)
        self.done |= done
        self.inputs = np.asarray(ex.inputs, float)
        blocks = self.lay.gid
        self.plastic[blocks] = gate[:, None].astype(float)
        self.dopamine[blocks] = np.asarray(ex.modulators.dopamine, float)[:, None]
        self.g[blocks] = (~self.done)[:, None].astype(float)
        self._set_rates(self.inputs)
        self.count += 1

    def finish(self) -> None:
        """After the run: learn the readout's last block, restore the plasticity flag."""
        self.buffer.flush()
        self.plastic[:] = float(self.cx._plastic)
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
        b, lay = self.cx._built, self.lay
        out = {"rate_hz": np.stack(self.rate_rows, axis=1).astype(np.float32)}
        self.rate_rows = []
        if self.elig_rows:
            out["eligibility/mean"] = np.stack(self.elig_rows, axis=1).astype(np.float32)
            self.elig_rows = []
        if b.spk_probe is not None:
            from cortex.spiking.network import _clear_events

            i = np.asarray(b.spk_probe.i[:], np.int64)
            out.update(spikes_replica=lay.replica[i].astype(np.int16), spikes_index=lay.local[i].astype(np.int32),
                       spikes_time_ms=np.asarray(b.spk_probe.t_[:]) * 1e3)
            _clear_events(b.spk_probe)
        v = self._drain_v(n)
        if v is not None:
            out["v_mv"] = v
        return out

    def _drain_v(self, n: int):
        """(K, n, n_v) membrane potentials of the next n steps; samples beyond them wait in
        ``v_carry`` (the monitor and the network operation share the step clock)."""
        mon = self.cx._built.v_probe
        if mon is None:
            return None
        v = np.asarray(mon.v_[:]).T * 1e3  # (samples, K * n_v)
        mon.resize(0)
        if self.v_carry is not None:
            v = np.concatenate([self.v_carry, v])
        v, self.v_carry = v[:n], (v[n:] if len(v) > n else None)
        if len(v) < n:  # never expected: keep the rows aligned with the steps anyway
            v = np.concatenate([v, np.full((n - len(v), v.shape[1]), np.nan)])
        return v.reshape(n, self.cx.n_replicas, -1).transpose(1, 0, 2).astype(np.float32)


class _Eligibility:
    """Mean eligibility of each replica's E->E synapses, decayed to a given time: one pass over
    the synapses' raw arrays per call (~30 us per step for 32,000 synapses), no per-dt cost.
    The eligibility decays lazily (``t_elig``: when each synapse's value was last brought up to
    date), so the mean applies each synapse's own decay since then."""

    def __init__(self, built, layout, K: int):
        var = built.syn_ee.variables
        self.elig, self.t_elig = var["elig"].get_value(), var["t_elig"].get_value()
        self.tau = float(var["tau_elig"].get_value().item())
        self.replica = layout.replica[np.asarray(var["_synaptic_pre"].get_value(), np.int64)]
        counts = np.bincount(self.replica, minlength=K)
        self.count, self.K = np.maximum(counts, 1), K
        # build() connects replica after replica: contiguous, non-empty blocks sum with one reduceat
        contiguous = np.all(np.diff(self.replica) >= 0) and np.all(counts > 0)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if contiguous else None

    def mean(self, t_s: float) -> np.ndarray:
        """(K,) mean eligibility at network time ``t_s`` (s); 0 for a replica without synapses."""
        e = self.elig * np.exp((self.t_elig - t_s) / self.tau)
        total = np.add.reduceat(e, self.starts) if self.starts is not None else np.bincount(self.replica, e, self.K)
        return total / self.count


class _Block:
    """Buffers (features, next input, learn?) rows and trains the readout once per block, so
    the readout's work runs as matrix-matrix products (as in open loop)."""

    def __init__(self, readout, K: int, F: int, n_out: int, size: int, dtype):
        self.readout, self.size, self.j = readout, size, 0
        self.x, self.y = np.zeros((K, size, F), dtype), np.zeros((K, size, n_out), dtype)
        self.known = np.zeros((K, size), bool)

    def add(self, x: np.ndarray, y: np.ndarray, known: np.ndarray) -> None:
        """Queue one step per replica; learns when the block is full."""
        self.x[:, self.j], self.y[:, self.j], self.known[:, self.j] = x, y, known
        self.j += 1
        if self.j == self.size:
            self.flush()

    def flush(self) -> None:
        """Learn the queued rows (if any is known) and empty the buffer."""
        j, self.j = self.j, 0
        if j and self.known[:, :j].any():
            self.readout.learn(self.x[:, :j], self.y[:, :j], self.known[:, :j])
