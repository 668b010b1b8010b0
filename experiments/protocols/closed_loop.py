"""The closed-loop (steering) protocol: cortex <-> world <-> subcortex, phase after phase.

:class:`ClosedLoopProtocol` builds the world, the subcortex and the cortex once; they carry over
from phase to phase (the subcortex's drives too), and its cross-phase step adds the steering gap
and recovery metrics (``experiments.metrics.steering.cross_phase``).

One phase (:func:`run_closed_phase`): the cortex owns the clock and calls ``exchange(t, out)``
once per environment step. Inside it:

1. the subcortex scores the consequences of the *previous* world step (taste, gut, pain) against
   the cortex's previous value and assessments: reward, dopamine, supervisory errors, reflexes;
2. reflexes act on the world (spitting out before absorption);
3. at decision steps an action is sampled from softmax(out.action_prefs) (the heads' logits,
   temperature included) with the replica's own generator. For the metrics, the subcortex rates
   every option as if it could sense all of it (``option_rewards``): a choice is faithful when
   no option would have been rewarded more; the proxy's choice is the option its proxy cue
   promises most (a trial where the proxy cue ranks options equal has no proxy choice);
4. the world steps; its revealed properties wait for the next call.

So in the per-step traces row t holds the cortex's value/assessments/action at t and the
subcortex's reward/dopamine/sensed/fitness for the transition t-1 -> t. After ``cortex.run``
returns, the last step's consequences are scored once more (terminal: V = 0) so every trial's reward
and fitness are complete. Traces are buffered and appended to the recorder in chunks; per trial,
``trials/`` holds fidelity, reward, immediate_reward, fitness, conflict, proxy_follow (-1 outside
conflict trials), action, item (kind index of the item taken, -1 for none; names in the phase's
``item_names``), and offered / offered_cue (K, trials, choices: the kinds on offer and the
proxy-cue category each showed, the world's ``cues``), which experiments.probes decodes from the
activity at the cue step.
A cortex that keeps traces of its own (``traces()``; the spiking cortex's: spikes, population rate,
membrane potentials, eligibility) hands them over at every flush, so they land next to the
per-step traces under the same names as in open loop, and memory stays bounded. Every dataset
carries ``units`` and ``description`` attributes (declared in :mod:`experiments.traces`).
"""
from __future__ import annotations

import numpy as np

from cortex.base import Cortex, CortexOutput, Exchange, Modulators
from cortex.encoding import FeatureEncoder
from experiments.metrics.steering import REFERENCE_PHASES, SteeringScorer, cross_phase
from experiments.protocols.base import ExperimentProtocol, PhaseResult, Progress, SilentBar
from experiments.recording import append_traces
from experiments.worlds import WORLDS
from subcortex import Subcortex, make_subcortex

WORLD_KEY, ACTION_KEY = 11, 12       # SeedSequence keys: replica seed, stream, phase index
CHUNK_STEPS = 1024                   # steps buffered before a recorder append
TIE = 1e-9                           # options within this much reward count as equally good


def _phase_rngs(seeds, key: int, phase_index: int) -> list[np.random.Generator]:
    return [np.random.default_rng(np.random.SeedSequence([int(s), key, phase_index])) for s in seeds]


def _argmax_last(values: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the last action."""
    return values.shape[1] - 1 - np.argmax(values[:, ::-1], axis=1)


class _Trace:
    """Per-step and per-trial buffers, appended to the recorder every ``CHUNK_STEPS`` steps,
    together with the cortex's own traces of the same steps (if it keeps any)."""

    def __init__(self, recorder, phase_name: str, cortex: Cortex):
        self.recorder, self.phase, self.cortex = recorder, phase_name, cortex
        self.steps: dict[str, list] = {}
        self.trials: dict[str, list] = {}
        self.n = 0

    def step(self, **arrays):
        for name, value in arrays.items():
            self.steps.setdefault(name, []).append(np.asarray(value))
        self.n += 1

    def trial(self, **arrays):
        for name, value in arrays.items():
            self.trials.setdefault(f"trials/{name}", []).append(np.asarray(value))

    def flush(self):
        # taken even without a recorder: the cortex holds them until someone does
        own = self.cortex.traces()
        if self.recorder is not None:
            for buf in (self.steps, self.trials):
                for name, values in buf.items():
                    if values:
                        units = self.cortex.activity_units if name == "activity" else None
                        self.recorder.append(self.phase, name, np.stack(values, axis=1), units=units)
            append_traces(self.recorder, self.phase, own, self.cortex.trace_info)
        self.steps, self.trials, flushed, self.n = {}, {}, self.n, 0
        return flushed


class _Loop:
    """The ``exchange`` closure of one phase, with its bookkeeping."""

    def __init__(self, world, subcortex, encoder, scorer, trace, rngs, plastic, progress):
        self.world, self.sub, self.encode, self.scorer, self.trace = world, subcortex, encoder, scorer, trace
        self.rngs, self.progress = rngs, progress
        K = self.K = world.n_replicas
        self.plastic = np.full(K, bool(plastic))
        self.pending = None          # info of the last world step, scored at the next call
        self.decide = None           # info of the upcoming step (decision or not)
        self.trial = self._empty_trial()

    def _empty_trial(self):
        z = np.zeros(self.K)
        return {"reward": z.copy(), "fitness": z.copy(), "lethal": z.copy(), "faithful": np.zeros(self.K, bool),
                "conflict": np.zeros(self.K, bool), "proxy_follow": np.zeros(self.K, bool),
                "chance": None, "action": np.full(self.K, -1), "item": np.full(self.K, -1),
                "offered": None, "offered_cue": None, "immediate": z.copy(), "scored": 0,
                "tempted": np.zeros(self.K, bool), "abstain": np.zeros(self.K, bool)}

    def score(self, assessments, value):
        """Subcortex step on the pending consequences; closes the trial they finish."""
        hidden = None if self.pending is None else self.pending["sensed"]
        out = self.sub.step(hidden, assessments, value)
        self.scorer.add_errors(out.supervisory)
        if self.pending is not None:
            tr = self.trial
            tr["reward"] += out.reward
            # the cue and outcome steps' consequences (taste, contact pain, gut): the immediate part
            if tr["scored"] < 2:
                tr["immediate"] += out.reward
            tr["scored"] += 1
            tr["fitness"] += self.pending["fitness"]
            tr["lethal"] += self.pending["lethal"]
            if self.pending["trial_done"].all():
                self._close_trial()
        return out

    def _close_trial(self):
        tr = self.trial
        self.scorer.add_trial(tr["faithful"], tr["reward"], tr["fitness"], tr["conflict"], tr["proxy_follow"],
                              tr["lethal"], tr["chance"], immediate=tr["immediate"], tempted=tr["tempted"],
                              abstain=tr["abstain"])
        if tr["offered"] is not None:
            self.trace.trial(offered=tr["offered"].astype(np.int16), offered_cue=tr["offered_cue"].astype(np.int16))
        self.trace.trial(immediate_reward=tr["immediate"].astype(np.float32),
                         fidelity=tr["faithful"].astype(np.int8), reward=tr["reward"].astype(np.float32),
                         fitness=tr["fitness"].astype(np.float32), conflict=tr["conflict"].astype(np.int8),
                         proxy_follow=np.where(tr["conflict"], tr["proxy_follow"], -1).astype(np.int8),
                         action=tr["action"].astype(np.int8), item=tr["item"].astype(np.int16))
        self.trial = self._empty_trial()

    def choose(self, logits) -> np.ndarray:
        """Sample the action at a decision step and note what the informed and proxy choices were."""
        info = self.decide
        if not info["decide"].all():
            return np.full(self.K, -1)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        u = np.array([rng.random() for rng in self.rngs])
        action = np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), p.shape[1] - 1)
        rows = np.arange(self.K)
        rewards = self.sub.option_rewards(info["options"])
        good_enough = rewards.max(axis=1) - TIE
        # an unfamiliar proxy category (NaN) promises nothing: the rules read NaN as 'not sensed'
        promised = self.sub.option_rewards(info["proxy_options"])
        proxy = _argmax_last(promised)
        decisive = (promised >= promised.max(axis=1, keepdims=True) - TIE).sum(axis=1) == 1
        tr = self.trial
        tr["faithful"] = rewards[rows, action] >= good_enough
        # a conflict trial: the proxy cue singles out an option the informed subcortex would not pick
        tr["conflict"] = info["conflict"] & decisive & (rewards[rows, proxy] < good_enough)
        tr["proxy_follow"] = action == proxy
        # a temptation trial: an option best for the immediate reward is not good enough over the trial
        now = self.sub.option_rewards(info["options_now"]) if "options_now" in info else rewards
        tempting = (now >= now.max(axis=1, keepdims=True) - TIE) & (rewards < good_enough[:, None])
        tr["tempted"] = tempting.any(axis=1)
        tr["abstain"] = tr["tempted"] & ~tempting[rows, action]
        # a uniformly random chooser on these offers: it is faithful with the share of good-enough
        # actions, and follows a conflict trial's proxy with probability 1 / n_actions
        tr["chance"] = {"fidelity": (rewards >= good_enough[:, None]).mean(axis=1),
                        "subcortex_reward": rewards.mean(axis=1),
                        "proxy_reliance": np.full(self.K, 1.0 / rewards.shape[1]),
                        "abstinence": 1.0 - tempting.mean(axis=1)}
        taken = action < info["items"].shape[1]
        tr["action"] = action
        tr["item"] = np.where(taken, info["items"][rows, np.minimum(action, info["items"].shape[1] - 1)], -1)
        tr["offered"], tr["offered_cue"] = info["items"], info.get("cues", np.full_like(info["items"], -1))
        return action

    def __call__(self, t: int, out: CortexOutput) -> Exchange:
        value = np.asarray(out.value, dtype=float)
        scored = self.score(out.assessments, value)
        self.world.apply_reflexes(scored.reflexes)
        action = self.choose(np.asarray(out.action_prefs, dtype=float))
        obs, _, _, _, info = self.world.step(action)
        fitness = np.zeros(self.K) if self.pending is None else self.pending["fitness"]
        self.pending, self.decide = info, info
        rec = {"reward": scored.reward, "dopamine": scored.dopamine, "value": value,
               "action": action.astype(np.int16), "fitness": fitness}
        rec.update({f"drives/{n}": lvl for n, lvl in self.sub.drives.items()})
        rec.update({f"assessments/{s}": out.assessments[:, i] for i, s in enumerate(self.sub.assessed_signals)})
        rec.update({f"sensed/{s}": v for s, v in scored.sensed.items()})
        if out.activity is not None and np.size(out.activity):
            rec["activity"] = out.activity
        self.trace.step(**{k: np.asarray(v, dtype=np.float32) if k != "action" else v for k, v in rec.items()})
        if self.trace.n >= CHUNK_STEPS:
            self.progress(self.trace.flush())
        mods = Modulators(dopamine=scored.dopamine, supervisory=scored.supervisory, plastic=self.plastic)
        return Exchange(inputs=self.encode(obs), modulators=mods, action=action, done=np.zeros(self.K, bool))

    def finish(self):
        """Score the last world step's consequences (terminal: nothing follows) and flush."""
        self.score(None, None)
        self.progress(self.trace.flush())


def run_closed_phase(cortex: Cortex, world, subcortex: Subcortex, phase, world_params, recorder, seeds,
                     progress=None, *, phase_index: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run ``phase`` (``.name``, ``.trials``, ``.plastic``) of the closed loop; return its (K,)
    metrics and their chance levels (a random chooser on the same offers), as ``summarize`` takes.

    world_params: the world's params for this phase (its variant); recorder: ``append(phase, name,
    (K, T, ...), units=, description=)`` and ``attrs(phase, **attrs)``, plus ``append_events`` when
    the cortex keeps traces (as :class:`~experiments.recording.Recorder` has), or None; seeds: one
    per replica (world items and action sampling of this phase derive from them and
    ``phase_index``); progress: callable advanced by steps done. A plastic shift phase's metrics
    hold recovery tables instead of the recovery metrics: those need the phase's reference
    fidelity, which the other phases' metrics give (:meth:`ClosedLoopProtocol.cross_phase`).
    The subcortex must have been ``reset`` once for the run; its drives carry over between phases.
    """
    progress = progress or (lambda n: None)
    world.set_params(world_params)
    world_seeds = [np.random.SeedSequence([int(s), WORLD_KEY, phase_index]).generate_state(1)[0] for s in seeds]
    obs, info = world.reset(seed=world_seeds)
    subcortex.new_phase()
    cortex.set_plasticity(bool(phase.plastic))
    encoder = FeatureEncoder(world.feature_sizes, world.gains)
    scorer = SteeringScorer(world.n_replicas, phase.trials, subcortex.assessed_signals,
                            shift=phase.name not in REFERENCE_PHASES, plastic=phase.plastic)
    if recorder is not None:
        recorder.attrs(phase.name, item_names=list(world.item_names), action_names=list(world.action_names),
                       signals=list(subcortex.assessed_signals), steps_per_trial=world.steps_per_trial)
    loop = _Loop(world, subcortex, encoder, scorer, _Trace(recorder, phase.name, cortex),
                 _phase_rngs(seeds, ACTION_KEY, phase_index), phase.plastic, progress)
    loop.decide = info
    cortex.run(phase.trials * world.steps_per_trial, loop, encoder(obs))
    loop.finish()
    return scorer.result(), scorer.chance()


class ClosedLoopProtocol(ExperimentProtocol):
    """Closed-loop phases of a foraging world; ``world``, ``subcortex``, ``cortex``: ones to use
    instead of building them (a subcortex given here must have been ``reset``, a cortex too)."""

    family = "closed_loop"
    state_attrs = ("phase_index", "start_step", "cortex", "subcortex", "world")

    def __init__(self, spec, recorder, progress: Progress = SilentBar, *, world=None,
                 subcortex: Subcortex | None = None, cortex: Cortex | None = None):
        super().__init__(spec, recorder, progress)
        K = spec.replicas
        self.world = WORLDS[spec.world.kind].cls(spec.world.params, K) if world is None else world
        if subcortex is None:
            subcortex = make_subcortex(spec.subcortex, self.world.hidden_signals)
            subcortex.reset(self.seeds)
        self.subcortex = subcortex
        if cortex is None:
            from cortex import make_cortex

            cortex = make_cortex(spec.cortex, n_inputs=self.world.observation_size, n_replicas=K,
                                 sample_units=spec.recording.sample_units, signals=subcortex.assessed_signals,
                                 n_actions=self.world.n_actions)
            cortex.reset(self.seeds)
        self.cortex = cortex

    @property
    def target(self) -> str:
        return self.cortex.target

    def _run(self, phase) -> PhaseResult:
        self._begin(phase, self.cortex.step_ms)
        steps = phase.trials * self.world.steps_per_trial
        with self.progress(steps, phase.name, unit="steps") as bar:
            metrics, chance = run_closed_phase(self.cortex, self.world, self.subcortex, phase,
                                               self.spec.world.variant(phase.variant), self.recorder, self.seeds,
                                               bar.update, phase_index=self.phase_index)
        return PhaseResult(metrics, chance, steps)

    def cross_phase(self, metrics: dict) -> None:
        """The steering gap of every shift phase and the recovery metrics of its plastic ones."""
        cross_phase(metrics)
