"""Foraging: items with visible cues and hidden innate properties; take one (or leave them).

Trial structure (2 + ``delay_steps`` environment steps, the same for every replica):

* **cue step**: ``choices`` items are on offer; the observation shows each one's visible features
  (colour, shape, smell ... as categories); with several on offer they are of different kinds
  (while the mixture has enough kinds). Actions ``0..choices-1`` take that item into the mouth;
  with ``can_leave`` action ``choices`` leaves them all. Taking an item reveals its taste and pain.
* **outcome step**: the observation shows what is in the mouth. Whatever the subcortex did not spit
  out (``apply_reflexes``) is absorbed: nutrition is revealed to the gut, fitness (nutrition minus
  toxin) is scored, and a lethal item kills with probability ``lethal`` times the absorbed share.
  Deaths are counted (catastrophes), not terminal: the replica carries on so phases stay aligned.
* **digestion steps** (``delay_steps``, 0 by default): the mouth keeps showing what was swallowed
  (its aftertaste) and ``stage`` reads 2; at the last of them an item's ``delayed_pain`` (times the
  absorbed share) is revealed to the ``pain`` sensor: a consequence that comes ``delay_steps`` steps
  after the taste, which only a long-term predictor (the critic) can weigh against it.

Observation: a dict of (K,) int categories (-1 = nothing), one feature per ``item<c>.<feature>``,
``mouth.<feature>`` and ``stage`` (0 cue, 1 outcome). ``feature_sizes`` and ``gains`` give what
``cortex.encoding.FeatureEncoder`` needs to turn it into the cortex's input vector, whose length is
``observation_size``; the world does not import ``cortex``.

Cues: ``gains`` sets each feature's salience. The ``proxy_cue`` (salient, e.g. colour) and the
item's true taste are perfectly correlated in training unless ``diversity`` > 0: in that share of
training trials the proxy categories of the training items are dealt out to the offered items at
random (without replacement while they last; one random category when one item is offered). Shift modes:
``cue_conflict`` (training items whose proxy value is swapped to that of an item with different
hidden properties), ``novel_items`` and ``superstimulus`` (items from ``mixtures.<mode>``).
"""
from __future__ import annotations

import numpy as np

from experiments.worlds.foraging_params import (DRAWS_PER_ITEM, HIDDEN, STEPS_PER_TRIAL, ForagingParams, _as_list,
                                                _vocabulary)


class Foraging:
    """Vectorised foraging world, K replicas in lock step. See the module docstring."""

    #: saved state (experiments/state.py): each replica's generator and the trial under way
    state_attrs = ("_rngs", "_mouth", "_slot", "_spit", "_kind", "_visible", "_stage", "_death_draw")

    Params = ForagingParams
    hidden_signals = HIDDEN

    def __init__(self, params: ForagingParams, n_replicas: int):
        self.n_replicas = int(n_replicas)
        self.delay_steps = params.delay_steps
        self.steps_per_trial = STEPS_PER_TRIAL + params.delay_steps
        self.base = params          # fixes the observation layout for every variant
        self.features = tuple(params.gains)
        self.item_names = tuple(params.items)
        self.vocab = {f: _vocabulary(params, f) for f in self.features}
        self.choices = params.choices
        self.can_leave = params.can_leave
        self.n_actions = params.choices + int(params.can_leave)
        self.action_names = tuple(f"take_{c}" for c in range(params.choices)) + (("leave",) if params.can_leave else ())
        self.set_params(params)
        self._rngs = None

    # -- layout ---------------------------------------------------------------------------------
    @property
    def feature_sizes(self) -> dict[str, int]:
        """Categorical observation layout: feature -> number of categories (FeatureEncoder order)."""
        out = {f"{slot}.{f}": len(self.vocab[f]) for slot in self._slots() for f in self.features}
        out["stage"] = 2 + int(self.delay_steps > 0)
        return out

    @property
    def gains(self) -> dict[str, float]:
        """Input gain of each observation feature (the salience of its cue)."""
        out = {f"{slot}.{f}": self.params.gains[f] for slot in self._slots() for f in self.features}
        out["stage"] = 1.0
        return out

    @property
    def observation_size(self) -> int:
        """Length of the encoded input vector (sum of feature_sizes)."""
        return sum(self.feature_sizes.values())

    def _slots(self):
        return [f"item{c}" for c in range(self.choices)] + ["mouth"]

    # -- configuration --------------------------------------------------------------------------
    def set_params(self, params: ForagingParams) -> None:
        """Switch to another variant of the same world (mode, mixtures, diversity ...).

        The observation layout (features, their categories, item kinds, choices) must stay the
        same, since the cortex's input weights are built for it
        (:meth:`ForagingParams.variant_problems`). Raises ValueError otherwise.
        """
        problems = self.base.variant_problems(params)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(path)}: {message}" for path, message in problems))
        self.params = params
        items = [params.items[n] for n in self.item_names]
        self._hidden = np.array([[getattr(it, h) for h in HIDDEN] for it in items])          # (I, H)
        self._delayed_pain = np.array([it.delayed_pain for it in items])
        # what taking an item brings over the whole trial (delayed pain included): the informed options
        self._total = self._hidden.copy()
        self._total[:, HIDDEN.index("pain")] += self._delayed_pain
        self._toxin = np.array([it.toxin for it in items])
        self._lethal = np.array([it.lethal for it in items])
        # each kind's allowed categories per feature, padded: (F, I, max) and their counts (F, I)
        allowed = [[_as_list(it.visible[f]) for it in items] for f in self.features]
        width = max(len(v) for per_f in allowed for v in per_f)
        self._allowed = np.array([[[self.vocab[f].index(v) for v in vals] + [0] * (width - len(vals))
                                   for vals in per_f] for f, per_f in zip(self.features, allowed)])
        self._n_allowed = np.array([[len(vals) for vals in per_f] for per_f in allowed])
        self._proxy = self.features.index(params.proxy_cue)
        train = params.mixtures["train"]
        mixture = train if params.mode == "cue_conflict" else params.mixtures[params.mode]
        self._weights = np.array([mixture.get(n, 0.0) for n in self.item_names])
        self._proxy_table, self._conflict_values = _proxy_tables(self, train)
        self._train_values = np.flatnonzero(np.isfinite(self._proxy_table[:, 0]))

    # -- Gymnasium-style API --------------------------------------------------------------------
    def reset(self, seed):
        """Start a phase. ``seed``: one int per replica (replica k's items depend on seed[k] only).

        Returns (observation dict of (K,) int, info); info as in :meth:`step`.
        """
        seeds = np.atleast_1d(np.asarray(seed, dtype=np.int64))
        if len(seeds) != self.n_replicas:
            raise ValueError(f"reset needs {self.n_replicas} seeds (one per replica), got {len(seeds)}")
        self._rngs = [np.random.default_rng(int(s)) for s in seeds]
        self._mouth = np.full(self.n_replicas, -1)
        self._slot = np.zeros(self.n_replicas, int)
        self._spit = np.zeros(self.n_replicas)
        self._new_trial()
        return self._observation(), self._info(sensed=None, fitness=None, lethal=None, done=False)

    def apply_reflexes(self, reflexes: dict) -> None:
        """Motor commands from the subcortex's reflexes; ``spit``: (K,) share of the mouth's
        contents expelled before absorption. Unknown commands raise ValueError."""
        for command, amount in reflexes.items():
            if command != "spit":
                raise ValueError(f"foraging world has no reflex '{command}' (it knows: spit)")
            self._spit = np.clip(np.asarray(amount, dtype=float), 0.0, 1.0)

    def step(self, action):
        """Advance one step for all replicas.

        action: (K,) int; at the cue step 0..choices-1 takes that item, ``choices`` (if can_leave)
        or -1 takes nothing; at the outcome step it is ignored. Returns (obs, fitness (K,), terminated (K,) all False,
        truncated (K,) all False, info). info keys: ``sensed`` (property -> (K,), NaN = not revealed),
        ``fitness`` (K,), ``lethal`` (K,) bool, ``trial_done`` (K,) bool, ``decide`` (K,) bool (next
        step takes an action), ``options``/``proxy_options`` (property -> (K, n_actions): what each
        action would reveal over the trial, delayed pain included / what its proxy cue suggests it
        would reveal, NaN if unknown), ``options_now`` (the same without the delayed pain: what the
        cue and outcome steps reveal),
        ``conflict`` (K,) bool (an offered item's proxy cue points to different hidden properties),
        ``items`` (K, choices) int kind indices, ``cues`` (K, choices) int proxy-cue category each
        offered item shows (index into the proxy feature's categories).
        """
        if self._rngs is None:
            raise RuntimeError("call reset(seed=...) before step()")
        action = np.asarray(action).reshape(self.n_replicas)
        if self._stage == 0:
            if np.any((action < -1) | (action >= self.n_actions)):
                raise ValueError(f"actions must lie in [-1, {self.n_actions - 1}], got {action}")
            take = (action >= 0) & (action < self.choices)
            rows = np.arange(self.n_replicas)
            self._slot = np.clip(action, 0, self.choices - 1)
            self._mouth = np.where(take, self._kind[rows, self._slot], -1)
            self._spit = np.zeros(self.n_replicas)
            sensed = {h: np.where(take, self._hidden[self._mouth, i], np.nan) for i, h in enumerate(HIDDEN) if h != "nutrition"}
            self._stage = 1
            fitness, lethal, done = np.zeros(self.n_replicas), np.zeros(self.n_replicas, bool), False
        elif self._stage == 1:
            ate = self._mouth >= 0
            absorbed = np.where(ate, 1.0 - self._spit, 0.0)
            kind = np.clip(self._mouth, 0, None)
            nutrition = self._hidden[kind, HIDDEN.index("nutrition")]
            sensed = {"nutrition": np.where(ate & (absorbed > 0), absorbed * nutrition, np.nan)}
            fitness = absorbed * (nutrition - self._toxin[kind])
            lethal = self._death_draw < self._lethal[kind] * absorbed
            self._absorbed = absorbed
            done = self.delay_steps == 0
            self._stage = 2
        else:   # digestion: the delayed pain comes at the last step
            fitness, lethal = np.zeros(self.n_replicas), np.zeros(self.n_replicas, bool)
            self._stage += 1
            done = self._stage == 2 + self.delay_steps
            sensed = {}
            if done:
                kind = np.clip(self._mouth, 0, None)
                got = (self._mouth >= 0) & (self._absorbed > 0)
                sensed = {"pain": np.where(got, self._absorbed * self._delayed_pain[kind], np.nan)}
        if done and self._stage > 0:
            self._mouth = np.full(self.n_replicas, -1)
            self._new_trial()
        obs = self._observation()
        info = self._info(sensed, fitness, lethal, done)
        no = np.zeros(self.n_replicas, bool)
        return obs, fitness, no, no.copy(), info

    # -- internals ------------------------------------------------------------------------------
    def _new_trial(self):
        """Draw the next trial's items for every replica from its own generator."""
        C, F, V = self.choices, len(self.features), len(self._train_values)
        u = np.stack([rng.random(C * (DRAWS_PER_ITEM + F) + 2 + V) for rng in self._rngs])
        self._death_draw, diverse, keys = u[:, 0], u[:, 1] < self.params.diversity, u[:, 2:2 + V]
        u = u[:, 2 + V:].reshape(self.n_replicas, C, DRAWS_PER_ITEM + F)
        kind = self._draw_kinds(u[..., 0])
        pick = (u[..., DRAWS_PER_ITEM:] * self._n_allowed[:, kind].transpose(1, 2, 0)).astype(int)   # (K, C, F)
        visible = np.stack([self._allowed[f][kind, pick[..., f]] for f in range(F)], axis=-1)
        p = self._proxy
        if self.params.mode == "train" and self.params.diversity > 0:
            # a diverse trial deals the training categories of the proxy cue out at random, without
            # replacement while they last: the cue says nothing about which item is which there
            shuffled = self._train_values[np.argsort(keys, axis=1)]                              # (K, V)
            dealt = shuffled[:, np.arange(C) % V]
            visible[..., p] = np.where(diverse[:, None], dealt, visible[..., p])
        elif self.params.mode == "cue_conflict":
            cands, counts = self._conflict_values
            n = counts[kind]
            swapped = cands[kind, (u[..., 1] * np.maximum(n, 1)).astype(int)]
            visible[..., p] = np.where(n > 0, swapped, visible[..., p])
        self._kind, self._visible, self._stage = kind, visible, 0

    def _draw_kinds(self, u: np.ndarray) -> np.ndarray:
        """(K, C) kinds from the mixture, one uniform draw each; distinct within a trial if possible."""
        K, I = self.n_replicas, len(self._weights)
        weights = np.broadcast_to(self._weights, (K, I)).copy()
        distinct = (self._weights > 0).sum() >= self.choices
        kinds = np.zeros((K, self.choices), int)
        for c in range(self.choices):
            cdf = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
            kinds[:, c] = np.minimum((cdf <= u[:, c, None]).sum(axis=1), I - 1)
            if distinct:
                weights[np.arange(K), kinds[:, c]] = 0.0
        return kinds

    def _observation(self) -> dict[str, np.ndarray]:
        K = self.n_replicas
        obs = {}
        cue = self._stage == 0
        for c in range(self.choices):
            for f, name in enumerate(self.features):
                obs[f"item{c}.{name}"] = self._visible[:, c, f].copy() if cue else np.full(K, -1)
        # the mouth shows the taken item as it looked when offered
        rows = np.arange(K)
        for f, name in enumerate(self.features):
            obs[f"mouth.{name}"] = np.where(self._mouth >= 0, self._visible[rows, self._slot, f], -1)
        obs["stage"] = np.full(K, min(self._stage, 2))
        return obs

    def _info(self, sensed, fitness, lethal, done) -> dict:
        K, A = self.n_replicas, self.n_actions
        nan_sensed = {h: np.full(K, np.nan) for h in HIDDEN}
        if sensed:
            nan_sensed.update(sensed)
        decide = self._stage == 0
        conflict = np.zeros(K, bool)
        if decide:   # 'leave' (the last action, if any) would reveal nothing: zeros
            options = {h: np.zeros((K, A)) for h in HIDDEN}
            proxy = {h: np.zeros((K, A)) for h in HIDDEN}
            implied = self._proxy_table[self._visible[..., self._proxy]]                       # (K, C, H)
            actual = self._total[self._kind]                                                  # (K, C, H)
            now = {h: np.zeros((K, A)) for h in HIDDEN}     # what each action reveals at once
            for i, h in enumerate(HIDDEN):
                now[h][:, : self.choices] = self._hidden[self._kind][..., i]
            for i, h in enumerate(HIDDEN):
                options[h][:, : self.choices] = actual[..., i]
                proxy[h][:, : self.choices] = implied[..., i]
            conflict = np.any(np.isfinite(implied).all(-1) & ~np.isclose(implied, actual).all(-1), axis=1)
        else:
            options = {h: np.full((K, A), np.nan) for h in HIDDEN}
            proxy = {h: np.full((K, A), np.nan) for h in HIDDEN}
            now = {h: np.full((K, A), np.nan) for h in HIDDEN}
        return {
            "sensed": nan_sensed,
            "fitness": np.zeros(K) if fitness is None else fitness,
            "lethal": np.zeros(K, bool) if lethal is None else lethal,
            "trial_done": np.full(K, done),
            "decide": np.full(K, decide),
            "options": options, "options_now": now, "proxy_options": proxy, "conflict": conflict,
            "items": self._kind.copy(),
            "cues": self._visible[..., self._proxy].copy(),
        }


def _proxy_tables(world: Foraging, train: dict[str, float]):
    """What each proxy category predicts, learnt from the training mixture, and the swap table.

    Returns (table (V, H): mixture-weighted mean hidden properties of the training kinds showing
    that category, NaN for categories no training kind shows; (candidates (I, V) int, counts (I,)):
    for each kind, the training categories of kinds whose hidden properties differ from its own).
    """
    p = world._proxy
    V, H = len(world.vocab[world.features[p]]), len(HIDDEN)
    total, weight = np.zeros((V, H)), np.zeros(V)
    for i, name in enumerate(world.item_names):
        if name in train:
            cats = world._allowed[p, i, : world._n_allowed[p, i]]
            for v in cats:
                total[v] += train[name] / len(cats) * world._total[i]
                weight[v] += train[name] / len(cats)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(weight[:, None] > 0, total / weight[:, None], np.nan)
    n_items = len(world.item_names)
    cands = np.zeros((n_items, max(V, 1)), int)
    counts = np.zeros(n_items, int)
    for i in range(n_items):
        own = set(world._allowed[p, i, : world._n_allowed[p, i]].tolist())
        other = [v for v in range(V) if weight[v] > 0 and v not in own and not np.allclose(table[v], world._total[i])]
        cands[i, : len(other)] = other
        counts[i] = len(other)
    return table, (cands, counts)
