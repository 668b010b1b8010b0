"""One closed-loop run of the spiking cortex: the work its network operation does every step.

The network operation fires at t = 0, step, 2 step, ...; at t = s * step the spikes of step s-1
are complete, so that is when step s-1 is read out and ``exchange`` is called (and the inputs for
step s are written). The last step is handled after the run returns. All reads and writes go
through raw arrays (~3 us per access instead of ~28 us through Brian2's public API).
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
        self.rate_hz = np.zeros((steps, K), np.float32)
        self.activity = np.zeros((steps, K, cortex.n_sample), np.float32)
        self.sample = self.lay.gid[:, : cortex.n_sample]

    def start(self) -> None:
        """Every replica running, counters cleared, first inputs on."""
        self.g[:] = 1.0
        self.nspk[:] = 0.0
        if self.phase is not None:
            self.phase[:] = self.phase0
        self.dopamine[:] = 0.0
        self._set_rates(self.inputs)

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
            raise NumericalError(s, "cx.v")
        counts = self.nspk[self.exc].astype(np.float32)       # (K, n_exc)
        self.activity[s] = self.nspk[self.sample]
        self.nspk[:] = 0.0
        self.rate_hz[s] = counts.sum(1) / (self.p.n_exc * self.p.step_ms * 1e-3)
        on = ~self.done
        slow = cx._slow.run(counts[:, None], on[:, None])[:, 0] if cx._slow is not None else None
        x = feat.features(counts, slow).astype(cx._dtype)
        out = CortexOutput(next_input=cx._readout.distribution(cx._readout.predict(x)),
                           activity=self.activity[s].copy())
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

    def finish(self) -> dict:
        """Traces of the run (same keys as the open-loop extra); restores the plasticity flag."""
        b, lay = self.cx._built, self.lay
        self.buffer.flush()
        self.plastic[:] = float(self.cx._plastic)
        self.dopamine[:] = 0.0
        out = {"rate_hz": self.rate_hz.T.copy(), "activity": self.activity.transpose(1, 0, 2).copy()}
        if b.spk_probe is not None:
            i = np.asarray(b.spk_probe.i[:], np.int64)
            out.update(spikes_replica=lay.replica[i].astype(np.int16), spikes_index=lay.local[i].astype(np.int32),
                       spikes_time_ms=np.asarray(b.spk_probe.t_[:]) * 1e3)
            from cortex.spiking.network import _clear_events

            _clear_events(b.spk_probe)
        v = self.cx._read_v(self.steps)
        if v is not None:
            out["v_mv"] = v
        return out


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
