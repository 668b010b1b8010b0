"""Three-factor readouts on top of any cortex: thought assessors, critic and actor.

Every head is a linear readout of the cortex's features (plus a constant bias unit) whose weights
change only by a local three-factor rule:

    dW = lr_eff * (third factor) * (postsynaptic term) x (presynaptic eligibility trace)

* presynaptic trace ``e``: low-pass filter of the features, time constant ``tau_elig_steps``;
* critic: third factor = dopamine (TD error), postsynaptic term 1;
* actor: third factor = dopamine, postsynaptic term = activity of the unit of the action taken
  (1 for it, 0 for the others; the actor-critic of Barto, Sutton & Anderson 1983), so positive
  dopamine makes the eligible action more likely and negative dopamine less likely. Unlike the
  policy gradient's (onehot - policy), this term does not vanish once the policy saturates, so a
  confident habit that starts to hurt is still unlearnt;
* assessor s: third factor = the subcortex's supervisory error for signal s (NaN = not sensed,
  no change), postsynaptic term 1.

Timing: the subcortex scores step t-1's value and assessments once step t-1's outcome is sensed,
so at ``learn(features_t, modulators, action_t)`` the trace still holds features up to t-1: the
weights change first, then features_t (and action_t's eligibility) join the trace.

``lr_eff = lr / max(e.x, |x|^2)``, the trace's overlap with the features of the step being scored
(normalised least mean squares; one scalar gain per network, like a neuromodulatory gain). Then
``lr`` is the share of an error that one update corrects for the input that caused it (above 1
overshoots), whatever the feature count, trace length or backend (rate units or filtered spikes).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cortex.base import Modulators
from cortex.params import HeadsParams

INIT_STD = 0.01        # small random actor weights: replicas break ties differently, as seeds should


class ThreeFactorHeads:
    """Assessors, critic and actor for K replicas with F features each.

    signals: names of the innate signals the assessors predict (the subcortex's assessed order).
    seeds: one per replica; each replica's initial weights come from its own generator.
    """

    #: saved state (cortex.base.capture_state)
    state_attrs = ("w_assess", "w_value", "w_actor", "trace", "actor_trace", "overlap")

    def __init__(self, n_replicas: int, n_features: int, signals: Sequence[str], n_actions: int,
                 params: HeadsParams, seeds: Sequence[int]):
        self.n_replicas, self.n_features = int(n_replicas), int(n_features)
        self.signals, self.n_actions, self.params = tuple(signals), int(n_actions), params
        self.decay = float(np.exp(-1.0 / params.tau_elig_steps))
        self.reset(seeds)

    def reset(self, seeds: Sequence[int]) -> None:
        """Fresh weights (critic and assessors at zero, actor small random) and empty traces."""
        if len(seeds) != self.n_replicas:
            raise ValueError(f"need {self.n_replicas} seeds, got {len(seeds)}")
        K, F1, S, A = self.n_replicas, self.n_features + 1, len(self.signals), self.n_actions
        rngs = [np.random.default_rng(np.random.SeedSequence([int(s), 7])) for s in seeds]
        self.w_assess = np.zeros((K, S, F1))
        self.w_value = np.zeros((K, F1))
        self.w_actor = np.stack([INIT_STD * rng.standard_normal((A, F1)) for rng in rngs])
        self.trace = np.zeros((K, F1))
        self.actor_trace = np.zeros((K, A, F1))
        self.overlap = np.ones(K)   # e.x of the step being scored (no step yet: harmless 1)

    def _with_bias(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=float)
        if features.shape != (self.n_replicas, self.n_features):
            raise ValueError(f"features must be (K={self.n_replicas}, F={self.n_features}), got {features.shape}")
        return np.concatenate([features, np.ones((self.n_replicas, 1))], axis=1)

    def forward(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Read out (assessments (K, S), value (K,), action logits (K, A)).

        The logits already include the softmax temperature (prefs / temperature): sample actions
        from softmax(logits). All three are in the units of what they predict (signal intensity,
        discounted reward) except the logits (dimensionless).
        """
        x = self._with_bias(features)
        assessments = np.einsum("ksf,kf->ks", self.w_assess, x)
        value = np.einsum("kf,kf->k", self.w_value, x)
        logits = np.einsum("kaf,kf->ka", self.w_actor, x) / self.params.temperature
        return assessments, value, logits

    def policy(self, features: np.ndarray) -> np.ndarray:
        """Action probabilities (K, A) = softmax(prefs / temperature)."""
        return _softmax(self.forward(features)[2])

    def learn(self, features: np.ndarray, modulators: Modulators, action: np.ndarray) -> None:
        """One three-factor update, then push ``features`` (and ``action``'s eligibility) into the traces.

        features: (K, F) this step's features; modulators: dopamine (K,), supervisory (K, S) with NaN
        for unsensed signals, plastic (K,) bool gating all weight changes; action: (K,) int taken at
        this step, -1 for none (no actor eligibility).
        """
        x = self._with_bias(features)
        dopamine = np.asarray(modulators.dopamine, dtype=float).reshape(self.n_replicas)
        if not np.all(np.isfinite(dopamine)):
            raise FloatingPointError(f"non-finite dopamine reached the heads: {dopamine}")
        supervisory = np.asarray(modulators.supervisory, dtype=float).reshape(self.n_replicas, len(self.signals))
        gate = np.asarray(modulators.plastic, dtype=bool).reshape(self.n_replicas)
        action = np.asarray(action).reshape(self.n_replicas)

        scale = np.where(gate, 1.0 / self.overlap, 0.0)                     # (K,)

        p = self.params
        self.w_value += (p.lr_critic * scale * dopamine)[:, None] * self.trace
        self.w_actor += (p.lr_actor * scale * dopamine)[:, None, None] * self.actor_trace
        err = np.nan_to_num(supervisory, nan=0.0)                          # not sensed: no change
        self.w_assess += p.lr_assessor * (scale[:, None] * err)[:, :, None] * self.trace[:, None, :]

        self.trace = self.decay * self.trace + x
        # features anti-correlated with their past could make e.x tiny: never normalise below |x|^2
        self.overlap = np.maximum(np.einsum("kf,kf->k", self.trace, x), np.einsum("kf,kf->k", x, x))
        post = np.zeros((self.n_replicas, self.n_actions))
        acted = (action >= 0) & (action < self.n_actions)
        post[np.flatnonzero(acted), action[acted]] = 1.0
        self.actor_trace = self.decay * self.actor_trace + post[:, :, None] * x[:, None, :]

    def state(self) -> dict[str, np.ndarray]:
        """Copies of all weights and traces (for checkpoints and tests)."""
        return {k: getattr(self, k).copy() for k in ("w_assess", "w_value", "w_actor", "trace", "actor_trace")}


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
