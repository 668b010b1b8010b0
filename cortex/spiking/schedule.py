"""The cpp_standalone plan of an open-loop experiment: simulated ahead once, replayed block by block.

With ``target: cpp_standalone`` the spiking cortex wants the whole experiment's input ahead
(``wants_input_ahead``). :meth:`Schedule.simulate` draws every block's input spikes in order,
exactly as the runtime path draws them, and runs all phases as one compiled simulation
(``cortex.spiking.standalone``); :meth:`Schedule.replay` then hands ``run_sequence`` the next
block's per-step counts, sampled spikes and membrane potentials, in the same form as the runtime
path, so readout, checks and outputs are the same numpy work. Only one block's spikes are in
memory at a time (the rest stay in the simulation's result files); once the last block is
replayed the files go.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.base import NumericalError
from cortex.spiking import features as feat
from cortex.spiking import inputs as inp
from cortex.spiking import monitors
from cortex.spiking.build import Layout


class Schedule:
    """The blocks given to :meth:`simulate`, its recording, and which block comes next."""

    def __init__(self, p, blocks: list, rec, layout: Layout, n_sample: int):
        self.p, self.blocks, self.rec, self.layout, self.n_sample = p, blocks, rec, layout, n_sample
        self.next = 0
        self.first_bad = None
        if rec.bad:  # the first step whose recorded v is non-finite, else the last step
            nonfinite = np.flatnonzero(~np.isfinite(rec.v_mv).all(axis=1)) if rec.v_mv is not None else []
            total = sum(inputs.shape[1] for _, inputs, _ in blocks)
            self.first_bad = int(nonfinite[0]) if len(nonfinite) else total - 1

    @classmethod
    def simulate(cls, p, K: int, n_inputs: int, n_sample: int, structure_rngs, input_rngs, input_phases,
                 cache, phases: Sequence[tuple[bool, Sequence[tuple[np.ndarray, np.ndarray]]]]) -> "Schedule":
        """Simulate ``phases`` (per phase its ``plastic`` flag and its ``(inputs, active)`` blocks
        of (K, T_b)) as one cpp_standalone run; plasticity switches between phases."""
        from cortex.spiking import standalone

        blocks, runs, idx, times, step = [], [], [], [], 0
        for plastic, phase_blocks in phases:
            start = step
            for inputs, active in phase_blocks:
                i, t = inp.block_spikes(p, input_rngs, input_phases, inputs, active, n_inputs, step * p.step_ms)
                idx.append(i)
                times.append(t)
                blocks.append((step, inputs, active))
                step += inputs.shape[1]
            runs.append((step - start, bool(plastic)))
        all_active = np.concatenate([a for _, _, a in blocks], axis=1) if blocks else np.ones((K, 0), bool)
        gate = inp.gate_spikes(all_active, p.step_ms, 0.0, p.dt_ms)
        spikes = (np.concatenate(idx) if idx else np.zeros(0, np.int64), np.concatenate(times) if times else np.zeros(0))
        del idx[:], times[:]  # the whole experiment's input spikes: one copy (Brian2 makes its own)
        rec = standalone.simulate(p, K, n_inputs, n_sample, structure_rngs, spikes, gate, runs, cache,
                                  running=all_active[:, 0] if all_active.shape[1] else np.ones(K, bool))
        return cls(p, blocks, rec, Layout.make(K, p.n_units, p.n_exc, n_sample), n_sample)

    @property
    def timings(self) -> dict:
        """Seconds spent generating, compiling, running and reading the simulation."""
        return self.rec.timings

    def replay(self, inputs: np.ndarray, active: np.ndarray):
        """The next block's (counts (K, T, n_exc), sampled spike events, v (K, T, n_v) or None,
        first step); raises NumericalError at the first step whose recorded v is non-finite if the
        simulation ended with a non-finite state."""
        p, lay, rec = self.p, self.layout, self.rec
        if self.next >= len(self.blocks):
            raise RuntimeError("cpp_standalone: run_sequence called beyond the schedule given to simulate_ahead")
        start, planned_inputs, planned_active = self.blocks[self.next]
        if not (np.array_equal(planned_active, active) and np.array_equal(planned_inputs[active], inputs[active])):
            raise ValueError("cpp_standalone: run_sequence must get the blocks given to simulate_ahead, in order")
        self.next += 1
        K, T = inputs.shape
        t0 = start * p.step_ms
        i, t_ms = rec.spikes.between(t0 - p.dt_ms / 2, t0 + T * p.step_ms - p.dt_ms / 2)
        counts = feat.bin_counts(i, t_ms, lay.replica, lay.local, K, T, p.n_exc, t0, p.step_ms, p.dt_ms)
        spikes = monitors.sampled_events(i, t_ms, lay, self.n_sample)
        v = None
        if rec.v_mv is not None:
            v = rec.v_mv[start:start + T].reshape(T, K, -1).transpose(1, 0, 2)
        if self.next == len(self.blocks):
            self.rec.spikes = None  # the last block: its files can go
        if self.first_bad is not None and self.first_bad < start + T:
            raise NumericalError(max(self.first_bad, start), ", ".join(rec.bad), rec.bad_replicas)
        return counts, spikes, v, start
