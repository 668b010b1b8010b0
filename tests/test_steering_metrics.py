"""Steering metrics in three scenarios with exact values: one reference fidelity for a shift
phase's gap and recovery (whatever the phase order), no recovery in a frozen phase, and chance levels computed on
the phase's own offers. Then the same rules through a small end-to-end run."""
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

import experiments
from cortex.control import ControlCortex, ControlParams
from experiments.metrics import drop_tables, summarize
from experiments.metrics.steering import SteeringScorer, cross_phase
from experiments.protocols.closed_loop import run_closed_phase
from experiments.worlds.foraging import Foraging, ForagingParams
from subcortex import SubcortexParams, make_subcortex

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "steering"


def scored(faithful, *, shift=False, plastic=True, lethal=None):
    """A phase block of one replica per row of ``faithful`` (lists of 0/1 per trial)."""
    faithful = np.asarray(faithful, dtype=float)
    K, T = faithful.shape
    s = SteeringScorer(K, T, (), shift=shift, plastic=plastic)
    for t in range(T):
        s.add_trial(faithful[:, t], np.ones(K), np.zeros(K), np.zeros(K, bool), np.zeros(K, bool),
                    np.zeros(K) if lethal is None else lethal[:, t])
    return summarize(s.result(), s.chance())


def test_gap_and_recovery_share_the_reference_of_the_cortex_entering_the_shift():
    """train ends perfect (fidelity_late 1.0), test scores 0.8. Order train, plastic cue_conflict,
    test: the reference is train's 1.0 for the gap and recovery alike (a window of 45 of 50);
    order train, test, cue_conflict: it is test's 0.8 for both (36 of 50)."""
    train, test = scored([[0] * 160 + [1] * 40]), scored([[1, 1, 1, 1, 0] * 20])
    lethal = np.array([[1.0] * 10 + [0.0] * 190])
    shift = lambda: scored([[0] * 30 + [1] * 170], shift=True, lethal=lethal)  # noqa: E731
    before = {"train": train, "cue_conflict": shift(), "test": test}
    after = {"train": train, "test": test, "cue_conflict": shift()}
    drop_tables(cross_phase(before))
    drop_tables(cross_phase(after))
    assert train["fidelity_late"] == 1.0 and test["fidelity"] == pytest.approx(0.8)
    first, second = before["cue_conflict"], after["cue_conflict"]
    assert first["steering_gap"] == pytest.approx(1.0 - 0.85) and first["recovery_trials"] == 30 + 45
    assert second["steering_gap"] == pytest.approx(0.8 - 0.85) and second["recovery_trials"] == 30 + 36
    for block in (first, second):
        assert block["recovered"] == 1.0 and block["catastrophes_before_recovery"] == 10
        assert "tables" not in block
    assert "recovery_trials" not in test and "steering_gap" not in test


def test_without_a_test_phase_the_reference_is_late_train_for_gap_and_recovery():
    metrics = {"train": scored([[0] * 160 + [1] * 40, [0] * 160 + [1, 0] * 20]),
               "novel_items": scored([[0] * 30 + [1] * 70, [0] * 100], shift=True)}
    cross_phase(metrics)
    shift = metrics["novel_items"]["per_replica"]
    assert shift["steering_gap"] == pytest.approx([1.0 - 0.7, 0.5 - 0.0])
    assert shift["recovery_trials"] == [75.0, None] and shift["recovered"] == [1.0, 0.0]
    first = {"novel_items": scored([[1] * 100], shift=True), "train": scored([[1] * 100])}
    cross_phase(first)                                  # nothing measured the cortex before it
    assert first["novel_items"]["steering_gap"] is None and first["novel_items"]["recovered"] is None


def test_a_frozen_shift_phase_has_no_recovery_but_keeps_its_gap():
    """Plasticity off: a window that happens to reach the reference is not a recovery."""
    metrics = {"train": scored([[1] * 100] * 2), "test": scored([[1] * 100] * 2),
               "cue_conflict": scored([[0] * 20 + [1] * 80, [1] * 100], shift=True, plastic=False)}
    cross_phase(metrics)
    shift = metrics["cue_conflict"]
    for name in ("recovery_trials", "recovered", "catastrophes_before_recovery"):
        assert shift[name] is None and shift["per_replica"][name] == [None, None], name
    assert shift["steering_gap"] == pytest.approx(0.1)


ITEMS = {
    "berry": {"visible": {"colour": "red", "shape": ["round", "long"], "smell": "fruity"}, "sweet": 1.0, "nutrition": 1.0},
    "nightshade": {"visible": {"colour": "green", "shape": ["round", "long"], "smell": "acrid"}, "bitter": 1.0,
                   "toxin": 1.0, "lethal": 0.2},
    "bluefruit": {"visible": {"colour": "blue", "shape": "long", "smell": "fruity"}, "sweet": 1.0, "nutrition": 1.0},
}


def shift_block(mode: str, can_leave: bool, mixtures: dict, trials: int = 60):
    """metrics.json block of a frozen shift phase chosen by an untrained (linear) cortex."""
    k, seeds = 3, [0, 1, 2]
    params = ForagingParams(items=ITEMS, mixtures=mixtures, mode=mode, choices=2, can_leave=can_leave)
    world = Foraging(params, k)
    sub = make_subcortex(SubcortexParams(), world.hidden_signals)
    sub.reset(seeds)
    cortex = ControlCortex(ControlParams(), world.observation_size, k, signals=sub.assessed_signals,
                           n_actions=world.n_actions)
    cortex.reset(seeds)
    phase = SimpleNamespace(name=mode, trials=trials, plastic=False)
    return summarize(*run_closed_phase(cortex, world, sub, phase, params, None, seeds))


TRAIN = {"train": {"berry": 1, "nightshade": 1}}
EQUAL_NOVEL = {**TRAIN, "novel_items": {"berry": 1, "bluefruit": 1}}   # two equally good items


def test_two_equally_good_items_make_every_chooser_faithful_so_chance_is_one():
    block = shift_block("novel_items", can_leave=False, mixtures=EQUAL_NOVEL)
    assert block["fidelity"] == 1.0 and block["fidelity_chance"] == 1.0
    # nothing on offer has a lying colour: no conflict trials, so no proxy reliance nor its chance
    assert block["proxy_reliance"] is None and block["proxy_reliance_chance"] is None


def test_chance_fidelity_is_the_share_of_good_enough_actions():
    block = shift_block("novel_items", can_leave=True, mixtures=EQUAL_NOVEL)
    assert block["fidelity_chance"] == pytest.approx(2 / 3)        # either item, never 'leave'


def test_proxy_reliance_chance_is_one_over_the_actions_in_conflict_trials():
    block = shift_block("cue_conflict", can_leave=True, mixtures=TRAIN)
    assert block["conflict_share"] > 0 and block["proxy_reliance_chance"] == pytest.approx(1 / 3)
    assert block["fidelity_chance"] == pytest.approx(1 / 3)        # berry vs nightshade: take the berry


# -- end to end: a tiny train_and_shift with the shift before test ------------------------------

def _first_recovery(fidelity, reference, window=50, share=0.9):
    """Independent recovery rule: first trial whose trailing window reaches share * reference."""
    for t in range(window, len(fidelity) + 1):
        if fidelity[t - window:t].sum() / window >= share * reference - 1e-9:
            return t
    return None


def test_a_run_with_the_shift_before_test_uses_one_reference(tmp_path):
    overrides = ["replicas=3", "cortex.n_units=30", "recording.sample_units=4",
                 "phases=[{name: train, trials: 200}, {name: cue_conflict_plastic, variant: cue_conflict, trials: 150},"
                 " {name: cue_conflict, variant: cue_conflict, trials: 60, plastic: false},"
                 " {name: test, trials: 100, plastic: false}]"]
    result = experiments.run(CONFIGS / "train_and_shift.yaml", overrides, out=tmp_path / "run", plots=False)
    m = result.metrics
    # the cortex entering the shift was last measured by train; test measures what the shift taught
    reference = np.array(m["train"]["per_replica"]["fidelity_late"])
    plastic = m["cue_conflict_plastic"]["per_replica"]
    np.testing.assert_allclose(plastic["steering_gap"], reference - np.array(plastic["fidelity"]))
    with h5py.File(result.run_dir / "traces.h5", "r") as f:
        fidelity = f["cue_conflict_plastic/trials/fidelity"][()]
    assert plastic["recovery_trials"] == [_first_recovery(fidelity[k], reference[k]) for k in range(3)]
    frozen = m["cue_conflict"]
    assert frozen["recovered"] is None and frozen["recovery_trials"] is None and frozen["steering_gap"] is not None
    assert "tables" not in m["cue_conflict_plastic"]
