"""The voice gate: an innate, language-specific teaching signal of the sequence worlds.

A hand-coded sensor tells whether the sound coming in now is a conspecific's voice (in a grammar
world: whether the current symbol belongs to one of the grammar's own strings or to a distractor,
``GrammarString.voice``), and the gate turns that into how plastic the cortex is at the step:
``plasticity_conspecific`` while a conspecific is heard, ``plasticity_other`` otherwise. It is
fixed, like every part of the subcortex: it learns nothing and never sees inside the cortex. The
cortex does not hear the sensor; it only learns more, or less, at each step (``run_sequence``'s
per-step plasticity factor). Songbirds and infants are the model: an innate preference for the
species' own calls decides which sounds the learning system copies.
"""
from __future__ import annotations

import numpy as np

from .params import SequenceSubcortexParams, VoiceGateParams


class VoiceGate:
    """Per-step plasticity from the voice sensor (module docstring)."""

    def __init__(self, params: VoiceGateParams):
        self.params = params

    def plasticity(self, voice: np.ndarray) -> np.ndarray:
        """(K, T) plasticity factors in [0, 1] from the voice sensor's (K, T) readings (True while the
        input comes from a conspecific)."""
        p = self.params
        return np.where(np.asarray(voice, bool), p.plasticity_conspecific, p.plasticity_other)


def make_voice_gate(params: SequenceSubcortexParams | None) -> VoiceGate | None:
    """The gate a sequence world's ``subcortex:`` block configures; None where there is no block,
    no gate or a switched-off one: no gating (plasticity 1 at every step)."""
    gate = None if params is None else params.voice_gate
    return VoiceGate(gate) if gate is not None and gate.enabled else None
