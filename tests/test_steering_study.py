"""The steering study (docs/results.md, "Steering"): its tables come from the committed CSVs, its
world extension (digestion steps, delayed pain) and probes behave, and the three ways of going
against the innate reward show their distinction on small runs."""
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import experiments
from experiments.worlds.foraging import Foraging, ForagingParams
from tool_helpers import load_tool

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    return load_tool("steering_study")


# -- docs/results.md is what the committed CSVs give ---------------------------------------------------
def test_results_md_steering_section_is_rendered_from_the_committed_csvs():
    tool = _tool()
    text = tool.RESULTS_MD.read_text()
    section = text.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(tool.load()).strip(), "run: python tools/steering_study.py --write"


def test_replicas_csv_holds_the_replicas_whose_means_results_csv_holds():
    tool = _tool()
    for name in ("diversity", "diversity_spiking"):
        if not (tool.STUDY / name / "replicas.csv").exists():
            continue
        results = {r["run_id"]: r for r in tool.read_csv(tool.STUDY / name / "results.csv") if r["status"] == "done"}
        per_run = tool._cells(tool.read_csv(tool.STUDY / name / "replicas.csv"), lambda r: r["run_id"])
        assert set(per_run) == set(results)
        for run_id, rows in per_run.items():
            for phase, metric in tool.REPLICA_METRICS:
                col = f"{phase}.{metric}"
                got = tool._mean(r[col] for r in rows)
                want = results[run_id][col]
                assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-9), (name, run_id, col)



def test_collect_on_another_machine_keeps_the_committed_rows_and_never_writes_an_empty_file(tmp_path):
    """A sweep dir with its committed CSVs but no run directories (a new clone): collect rewrites
    replicas.csv byte for byte; with no replicas.csv either it refuses and writes nothing."""
    collect = load_tool("steering_collect").collect
    src = ROOT / "studies" / "steering" / "diversity"
    sweep = tmp_path / "diversity"
    sweep.mkdir()
    for name in ("results.csv", "sweep.json", "replicas.csv"):
        shutil.copy(src / name, sweep / name)
    collect(sweep)
    assert (sweep / "replicas.csv").read_bytes() == (src / "replicas.csv").read_bytes()
    (sweep / "replicas.csv").unlink()
    with pytest.raises(SystemExit, match="nothing to write"):
        collect(sweep)
    assert not (sweep / "replicas.csv").exists()

def test_anchor_threshold_is_where_the_failure_goes_for_good():
    tool = _tool()
    d = np.array([0.0, 0.1, 0.2, 0.5])
    assert tool.threshold(d, np.array([1.0, 0.4, 0.6, 0.1]), np.array([1.0, 0.05, 0.5, 0.0])) == 0.5
    assert tool.threshold(d, np.array([1.0, 0.4, 0.3, 0.1]), np.array([1.0, 0.05, 0.05, 0.0])) == 0.1
    assert math.isinf(tool.threshold(d, np.ones(4), np.ones(4)))


# -- the world's digestion steps ------------------------------------------------------------------------
def _delay_world(delay_steps=2):
    items = {"berry": {"visible": {"colour": "red"}, "sweet": 1.0, "nutrition": 1.0},
             "sweetrot": {"visible": {"colour": "purple"}, "sweet": 1.0, "toxin": 1.0, "delayed_pain": 2.0}}
    params = ForagingParams(items=items, gains={"colour": 1.0}, mixtures={"train": {"sweetrot": 1.0}},
                            delay_steps=delay_steps)
    return Foraging(params, 2)


def test_delayed_pain_comes_delay_steps_after_absorption_and_only_to_who_ate():
    world = _delay_world(2)
    assert world.steps_per_trial == 4 and world.feature_sizes["stage"] == 3
    _, info = world.reset(seed=[0, 1])
    # informed options count the delayed pain; options_now do not
    assert info["options"]["pain"][0, 0] == 2.0 and info["options_now"]["pain"][0, 0] == 0.0
    pains, done = [], []
    for action in ([0, 1], [-1, -1], [-1, -1], [-1, -1]):     # replica 0 eats, replica 1 leaves
        obs, _, _, _, info = world.step(np.array(action))
        pains.append(info["sensed"]["pain"].copy())
        done.append(bool(info["trial_done"][0]))
    assert done == [False, False, False, True]
    assert pains[3][0] == 2.0 and np.isnan(pains[3][1])
    assert all(np.isnan(p[0]) or p[0] == 0.0 for p in pains[:3])
    assert obs["stage"][0] == 0                                   # the next trial's cue step


def test_delayed_pain_needs_digestion_steps_and_variants_keep_them():
    with pytest.raises(ValueError, match="delayed_pain: needs delay_steps"):
        _delay_world(0)
    world = _delay_world(2)
    with pytest.raises(ValueError, match="delay_steps"):
        world.set_params(world.base.model_copy(update={"delay_steps": 1}))


# -- the three ways, on small runs ---------------------------------------------------------------------
SMALL = ["cortex.n_units=50", "replicas=4", "recording.sample_units=0"]


def _run(config, extra, tmp_path, tag):
    return experiments.run(ROOT / "configs" / "steering" / config, SMALL + extra, out=tmp_path / tag, plots=False).metrics


@pytest.mark.timeout(600)
def test_three_ways_against_the_innate_reward_show_their_distinction(tmp_path):
    # (a) abstinence: the long-term predictor passes up the sweet item that hurts later, giving up
    # immediate innate reward for more total innate reward (and fitness); a myopic subcortex does not
    short = ["phases.train.trials=800", "phases.test.trials=100"]
    far = _run("abstinence.yaml", short, tmp_path, "a")["test"]
    myopic = _run("abstinence.yaml", short + ["subcortex.gamma=0"], tmp_path, "a0")["test"]
    assert far["abstinence"] > 0.8 > 0.2 > myopic["abstinence"]
    assert far["immediate_reward"] < myopic["immediate_reward"]
    assert far["subcortex_reward"] > myopic["subcortex_reward"]
    assert far["fitness"] > myopic["fitness"]
    # (b) superstimulus: innate reward rises after the shift while fitness falls
    ss = _run("superstimulus.yaml", ["phases.train.trials=800", "phases.test.trials=100",
                                     "phases.superstimulus.trials=100", "phases.superstimulus_plastic.trials=50"],
              tmp_path, "b")
    assert ss["superstimulus"]["subcortex_reward"] > ss["test"]["subcortex_reward"]
    assert ss["superstimulus"]["fitness"] < ss["test"]["fitness"]
    # (c) a learned proxy: after the shift it earns less innate reward (and fitness) than before
    ts = _run("train_and_shift.yaml", ["phases.train.trials=800", "phases.test.trials=100",
                                       "phases.cue_conflict.trials=100", "phases.novel_items.trials=20",
                                       "phases.cue_conflict_plastic.trials=50"], tmp_path, "c")
    assert ts["cue_conflict"]["subcortex_reward"] < ts["test"]["subcortex_reward"]
    assert ts["cue_conflict"]["fitness"] < ts["test"]["fitness"]
    assert ts["cue_conflict"]["proxy_reliance"] > 0.5


@pytest.mark.timeout(600)
def test_probes_read_a_run_dir_and_find_taste_where_the_cue_no_longer_predicts_it(tmp_path):
    from experiments.probes import probe_run

    run = experiments.run(ROOT / "configs" / "steering" / "train_and_shift.yaml",
                          ["cortex.n_units=50", "replicas=2", "recording.sample_units=50", "phases.train.trials=400",
                           "phases.test.trials=100", "phases.cue_conflict.trials=100", "phases.novel_items.trials=100",
                           "phases.cue_conflict_plastic.trials=10"], out=tmp_path / "p", plots=False)
    rows = probe_run(run.run_dir)
    acc = lambda t, p: np.mean([r["accuracy"] for r in rows if r["target"] == t and r["probe"] == p])  # noqa: E731
    assert acc("taste", "pooled:test+cue_conflict") > 0.9       # the cortex still carries the reliable cue
    assert acc("taste", "transfer:test->cue_conflict") < 0.5     # but its in-distribution taste axis is colour
    assert acc("cue", "pooled:test+cue_conflict") > 0.9
