"""The sequence protocol: open-loop phases on grammar streams, and what they share.

The stream is known ahead, so the cortex gets it in blocks of whole strings (no per-step
callback); strings are concatenated without resetting the cortex. Replicas draw their own strings,
so their streams differ in length: shorter ones are padded, and padding steps change nothing.
Memory stays bounded: one block per replica is alive at a time, metrics accumulate online and
traces are appended to HDF5 block by block.

Across phases the protocol keeps the cortex (built for the first phase's grammar) and the longest
string each replica trained on (the threshold of the length-generalisation metrics). A cortex
that wants the whole input ahead (``wants_input_ahead``: the spiking cortex with cpp_standalone)
gets every block of every phase once, before the first phase runs: the strings are drawn from the
same per-replica, per-phase streams as below, so they are the very blocks the phases then hand to
``run_sequence`` (the grammar streams never depend on the cortex). Only their symbols and padding
masks are kept for that; the phases draw the strings again as usual. Sequence phases are not
compared with each other: there are no cross-phase metrics.

Distractors (``world.distractors`` > 0): each string of the phase is, with that probability, a
distractor instead of one of the grammar's own. The coin and the distractor strings come from a
stream of their own (``DISTRACTOR_SEED``) and never draw from the grammar's stream. That does not
make the grammar's own strings those of a run without distractors: a block of b strings with c
distractors asks the grammar for b - c strings at once, and the vectorised samplers draw
differently for a different count. What holds is that the gated and ungated arms of a config (the
same world, with and without ``subcortex.voice_gate``) get the very same stream. Every step is
tagged with its string's ``voice`` (recorded in such phases). Where the config has a voice gate
(``subcortex.voice_gate``, subcortex/voice.py), the gate turns the voice into a per-step
plasticity factor for ``run_sequence``; without one nothing is passed (the default path). The
longest string trained on (length generalisation's threshold) counts the grammar's own strings only.
"""
from __future__ import annotations

import numpy as np

from cortex.base import Cortex
from experiments.metrics.sequence import SequenceScorer
from experiments.protocols.base import ExperimentProtocol, PhaseResult, Progress, SilentBar, recorded_step_ms
from experiments.recording import append_traces
from experiments.worlds import WORLDS
from experiments.worlds.grammar_base import FIELDS, GrammarString
from subcortex.voice import make_voice_gate

STREAM_SEED = 1        # SeedSequence key of the world's string stream (per replica, per phase)
DISTRACTOR_SEED = 2    # SeedSequence key of the distractor strings and of which strings they are
BLOCK_STRINGS = 128    # strings per replica handed to the cortex at once

# per-string series: scorer key -> dataset name (units and descriptions: experiments/traces.py)
STRING_SERIES = {"cross_entropy": "strings/cross_entropy", "kl": "strings/kl_to_optimal",
                 "longrange_correct": "strings/longrange_correct", "all_correct": "strings/all_correct",
                 "string_len": "strings/string_len"}


def stack(parts: list, n_symbols: int) -> tuple[dict, np.ndarray]:
    """Per-replica GrammarStrings -> dict of (K, T, ...) arrays padded to the longest, and the
    (K, T) mask of real (non-padding) steps."""
    K, T = len(parts), max(len(p) for p in parts)
    out = {
        "symbols": np.zeros((K, T), np.int64), "next_dist": np.zeros((K, T, n_symbols)),
        "state": np.zeros((K, T), np.int64), "depth": np.zeros((K, T), np.int64),
        "group": np.full((K, T), -1, np.int64), "deterministic": np.zeros((K, T), bool),
        "alt": np.full((K, T), -1, np.int64), "string_id": np.full((K, T), -1, np.int64),
        "string_len": np.zeros((K, T), np.int64), "voice": np.zeros((K, T), bool),
    }
    active = np.zeros((K, T), bool)
    for k, part in enumerate(parts):
        L = len(part)
        active[k, :L] = True
        for name in FIELDS:
            out[name][k, :L] = getattr(part, name)
    return out, active


class SequenceProtocol(ExperimentProtocol):
    """Open-loop phases of a grammar world; ``cortex``: one to use instead of building it."""

    family = "sequence"
    state_attrs = ("phase_index", "start_step", "cortex", "train_max_len")

    def __init__(self, spec, recorder, progress: Progress = SilentBar, cortex: Cortex | None = None):
        super().__init__(spec, recorder, progress)
        self.cortex = cortex
        #: longest string each replica has trained on so far, (K,); None before a plastic phase
        self.train_max_len: np.ndarray | None = None
        self.simulated_ahead = False
        self._described = False  # the root attributes (symbols, groups, step) are in the recorder

    @property
    def target(self) -> str:
        return self.cortex.target

    def _build(self, grammar) -> Cortex:
        from cortex import make_cortex

        spec = self.spec
        cortex = make_cortex(spec.cortex, n_inputs=len(grammar.symbols), n_replicas=spec.replicas,
                             sample_units=spec.recording.sample_units)
        cortex.reset(self.seeds)
        return cortex

    def load_state(self, tree: dict) -> None:
        """Build the cortex (for the first phase's grammar, as a run does) and continue from ``tree``."""
        if self.cortex is None:
            self.cortex = self._build(WORLDS[self.spec.world.kind].cls(self.spec.world.variant(self.spec.phases[0].variant)))
        super().load_state(tree)

    def _run(self, phase) -> PhaseResult:
        """Run ``phase`` (``phase.strings`` strings per replica)."""
        spec, K = self.spec, self.spec.replicas
        grammar = WORLDS[spec.world.kind].cls(spec.world.variant(phase.variant))
        n = len(grammar.symbols)
        if self.cortex is None:
            self.cortex = self._build(grammar)
        cortex, rec = self.cortex, self.recorder
        if not self._described:
            rec.meta(symbols=list(grammar.symbols), groups=[list(g) for g in grammar.groups],
                     step_ms=recorded_step_ms(cortex.step_ms))
            self._described = True
        if cortex.wants_input_ahead and not self.simulated_ahead:
            with self.progress(1, "simulating all phases ahead (cpp_standalone)", unit="build"):
                cortex.simulate_ahead(list(self._schedule()))
            self.simulated_ahead = True
        cortex.set_plasticity(phase.plastic)
        self._begin(phase, cortex.step_ms)
        gate = make_voice_gate(spec.subcortex)
        mixed = grammar.params.distractors > 0

        threshold = self.train_max_len if grammar.length_generalization else None
        scorer = SequenceScorer(K, n, grammar.groups, length_threshold=threshold)
        max_len = np.zeros(K, np.int64)

        done_steps, recorded = 0, 0
        blocks = _string_blocks(grammar, self.seeds, self.phase_index, phase.strings, phase.shared_strings)
        block = next(blocks, None)
        with self.progress(phase.strings, phase.name, unit="strings") as bar:
            while block is not None:
                following = next(blocks, None)
                parts, b = block
                arrays, active = stack(parts, n)
                # the symbol that follows each position; the first symbol of the next block follows the
                # last one; after the phase's last symbol nothing follows (-1: not scored)
                nxt = np.full(active.shape, -1, np.int64)
                for k, part in enumerate(parts):
                    L = len(part)
                    nxt[k, : L - 1] = part.symbols[1:]
                    if following is not None:
                        nxt[k, L - 1] = following[0][k].symbols[0]
                    own = part.string_len[part.voice]
                    max_len[k] = max(max_len[k], int(own.max()) if own.size else 0)
                if gate is None:
                    out = cortex.run_sequence(arrays["symbols"], active)
                else:
                    out = cortex.run_sequence(arrays["symbols"], active, plasticity=gate.plasticity(arrays["voice"]))
                scorer.update(out.probs, GrammarString(**arrays), nxt, active)
                _record(rec, phase.name, arrays, active, nxt, out, spec.recording.predictions_steps - recorded, cortex)
                if mixed:
                    rec.append(phase.name, "voice", np.where(active, arrays["voice"], -1).astype(np.int8))
                _record_strings(rec, phase.name, scorer.pop_strings(), K)
                recorded += active.shape[1]
                done_steps += active.shape[1]
                bar.update(b)
                block = following
        if phase.plastic:
            previous = self.train_max_len
            self.train_max_len = max_len if previous is None else np.maximum(previous, max_len)
        chance = scorer.chance()
        chance.pop("optimal_cross_entropy", None)  # a property of the grammar, not of a predictor
        result = scorer.result()
        # exact, unlike optimal_cross_entropy (sampled on this phase's stream); NaN -> null where not
        # computed, and for a stream mixed with distractors (the grammar's rate is not the stream's)
        rate = None if mixed else grammar.entropy_rate()
        result["entropy_rate"] = np.full(K, np.nan if rate is None else rate)
        return PhaseResult(result, chance, done_steps)

    def _schedule(self):
        """Every phase's (plastic, blocks), each block (symbols, active) exactly as :meth:`_run`
        will hand it to the cortex (both draw through ``_string_blocks``)."""
        spec = self.spec
        for index, phase in enumerate(spec.phases):
            grammar = WORLDS[spec.world.kind].cls(spec.world.variant(phase.variant))
            stacked = (stack(parts, len(grammar.symbols))
                       for parts, _ in _string_blocks(grammar, self.seeds, index, phase.strings, phase.shared_strings))
            yield phase.plastic, [(arrays["symbols"], active) for arrays, active in stacked]


def _string_blocks(grammar, seeds, phase_index: int, strings: int, shared: bool = False):
    """The phase's strings, block by block: (one part of ``b`` strings per replica, ``b``), each
    replica drawing from its own stream of this phase (and its own distractor stream), or with
    ``shared`` every replica the first replica's."""
    if shared:
        seeds = [seeds[0]] * len(seeds)
    rngs = [np.random.default_rng(np.random.SeedSequence([s, STREAM_SEED, phase_index])) for s in seeds]
    others = [np.random.default_rng(np.random.SeedSequence([s, DISTRACTOR_SEED, phase_index])) for s in seeds]
    for start in range(0, strings, BLOCK_STRINGS):
        b = min(BLOCK_STRINGS, strings - start)
        yield [grammar.sample_mixed(rng, other, b) for rng, other in zip(rngs, others)], b


def _record(rec, phase: str, arrays: dict, active, nxt, out, pred_budget: int, cortex: Cortex) -> None:
    p_next = np.take_along_axis(out.probs, np.clip(nxt, 0, None)[..., None], axis=2)[..., 0]
    surprisal = np.where(active & (nxt >= 0), -np.log(np.clip(p_next, 1e-12, None)), np.nan)
    # units and descriptions: experiments/traces.py (the cortex states its activity units)
    rec.append(phase, "input", np.where(active, arrays["symbols"], -1).astype(np.int16))
    rec.append(phase, "surprisal", surprisal.astype(np.float32))
    rec.append(phase, "group", np.where(active, arrays["group"], -1).astype(np.int8))
    rec.append(phase, "depth", arrays["depth"].astype(np.int16))
    rec.append(phase, "state", np.where(active, arrays["state"], -1).astype(np.int16))
    if out.activity is not None and out.activity.size:
        rec.append(phase, "activity", out.activity.astype(np.float32), units=cortex.activity_units)
    append_traces(rec, phase, out.extra, cortex.trace_info)
    if pred_budget > 0:
        t = min(pred_budget, active.shape[1])
        rec.append(phase, "pred", out.probs[:, :t].astype(np.float32))
        rec.append(phase, "optimal", arrays["next_dist"][:, :t].astype(np.float32))


def _record_strings(rec, phase: str, strings: dict, K: int) -> None:
    """Per-string learning-curve series, appended as (K, n_strings) datasets."""
    replica = strings["replica"]
    if replica.size == 0:
        return
    counts = np.bincount(replica, minlength=K)
    m = int(counts.min())
    order = np.lexsort((strings["string_id"], replica))
    for name, dataset in STRING_SERIES.items():
        values = strings[name][order]
        # every replica completes the same number of strings per block; keep shapes rectangular anyway
        per = np.stack([values[replica[order] == k][:m] for k in range(K)]).astype(np.float32)
        rec.append(phase, dataset, per)
