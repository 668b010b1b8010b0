"""Plotting reads saved runs: every figure renders from synthetic run directories of each kind (written
through the real recorder, so in the schema of experiments/traces.py), with labelled axes and marked
phases; partial runs give exit code 1 naming what is missing; a path that is not a run gives 2; a
10^6-step run plots quickly without reading everything; and no backend module is imported along the
way."""
from __future__ import annotations

import importlib.util
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.image import imread

from experiments.plotting import PLOTS, plot_main, plot_run
from experiments.plotting.events import event_times_ms, spikes
from experiments.plotting.figures import DPI, WIDTH_IN, unlabelled
from experiments.plotting.io import RunReader

_spec = importlib.util.spec_from_file_location("synthetic_runs", Path(__file__).parent / "data" / "synthetic_runs.py")
synth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth)

REPO = Path(__file__).resolve().parents[1]
BUILDERS = {"sequence": synth.sequence_run, "closed_loop": synth.closed_loop_run,
            "spiking": lambda d: synth.closed_loop_run(d, spiking=True), "distal_reward": synth.distal_reward_run}
EXPECTED = {"sequence": {"neural", "learning", "sequences"}, "closed_loop": {"neural", "reward", "learning"},
            "spiking": {"neural", "reward", "learning"}, "distal_reward": {"neural", "reward", "weights"}}


@pytest.fixture(scope="module", params=list(BUILDERS))
def run(request, tmp_path_factory):
    """(kind, run dir) for each kind of synthetic run, built once per module."""
    return request.param, BUILDERS[request.param](tmp_path_factory.mktemp(request.param) / "run")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk; fails unless the file starts with the PNG signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def copy_of(kind: str, tmp_path: Path) -> Path:
    return BUILDERS[kind](tmp_path / kind)


# -- figures ---------------------------------------------------------------------------------------
def test_run_plots_every_recorded_kind_as_valid_nonblank_pngs(run):
    kind, run_dir = run
    result = plot_run(run_dir)
    assert result.exit_code == 0, result.problems
    assert set(result.written) == EXPECTED[kind]
    for name, path in result.written.items():
        assert path == run_dir / "plots" / f"{name}.png"
        width, height = png_size(path)
        assert width == WIDTH_IN * DPI and height >= 7 * DPI
        pixels = imread(path)
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05, f"{name}.png looks blank"


def test_every_axis_is_labelled_with_units_and_phases_are_named(run):
    kind, run_dir = run
    with RunReader(run_dir) as reader:
        for name, build in PLOTS.items():
            fig = build(reader)
            if fig is None:
                continue
            assert unlabelled(fig) == [], f"{kind}/{name}"
            texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]
            if name in ("reward", "learning") and len(reader.phases) > 1:
                for phase in reader.phases:
                    assert any(text.strip().startswith(phase.name) for text in texts), (name, phase.name)


def test_report_holds_metrics_with_chance_and_links_each_figure(run):
    kind, run_dir = run
    result = plot_run(run_dir)
    report = result.report.read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for phase, values in metrics.items():
        section = report.split(f"### {phase}")[1].split("###")[0]
        for metric, value in values.items():
            if metric != "per_replica" and not metric.endswith("_chance"):
                chance = values.get(f"{metric}_chance")
                row = next(line for line in section.splitlines() if line.startswith(f"| {metric} |"))
                assert f"{value:.4g}" in row and (chance is None or f"{chance:.4g}" in row)
    for name in result.written:
        assert f"](plots/{name}.png)" in report
    assert "Problems" not in report


def test_shift_onset_is_marked_after_the_world_changes(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    with RunReader(run_dir) as reader:
        assert [p.shift for p in reader.phases] == [False, True]
        fig = PLOTS["reward"](reader)
        onset = reader.phase("shift").start_step  # a rate run: its axis counts steps
        red_lines = [line for ax in fig.axes for line in ax.lines if line.get_color() == "tab:red"]
        assert red_lines and all(line.get_xdata()[0] == pytest.approx(onset) for line in red_lines)


@pytest.mark.parametrize("fmt,magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_other_formats(tmp_path, fmt, magic):
    run_dir = copy_of("closed_loop", tmp_path)
    assert plot_main(run_dir, only="reward", fmt=fmt, out=io.StringIO()) == 0
    assert (run_dir / "plots" / f"reward.{fmt}").read_bytes().startswith(magic)
    assert f"(plots/reward.{fmt})" in (run_dir / "report.md").read_text()


def test_only_draws_the_named_plots(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    result = plot_run(run_dir, only=["reward", "learning"])
    assert set(result.written) == {"reward", "learning"}
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == ["learning.png", "reward.png"]


# -- partial runs and bad input ------------------------------------------------------------------
def _main(run_dir, **kw):
    out, err = io.StringIO(), io.StringIO()
    code = plot_main(run_dir, out=out, err=err, **kw)
    return code, out.getvalue(), err.getvalue()


def test_missing_dataset_is_named_and_the_rest_is_still_drawn(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    with h5py.File(run_dir / "traces.h5", "a") as h5:
        del h5["train/dopamine"]
    code, _, err = _main(run_dir, only="reward,neural")
    assert code == 1
    assert "/train/dopamine missing" in err
    assert (run_dir / "plots" / "reward.png").is_file() and (run_dir / "plots" / "neural.png").is_file()
    assert "/train/dopamine missing" in (run_dir / "report.md").read_text()


def test_truncated_dataset_is_named(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    with h5py.File(run_dir / "traces.h5", "a") as h5:
        h5["shift/reward"].resize(400, axis=1)  # the run died while appending
    code, _, err = _main(run_dir, only="reward")
    assert code == 1
    assert "/shift/reward truncated (400 of 1000 samples)" in err
    assert (run_dir / "plots" / "reward.png").is_file()


def test_truncated_file_and_missing_file_give_exit_1_and_a_report(tmp_path):
    run_dir = copy_of("sequence", tmp_path)
    traces = run_dir / "traces.h5"
    traces.write_bytes(traces.read_bytes()[:4096])
    code, _, err = _main(run_dir)
    assert code == 1 and "traces.h5: unreadable" in err
    traces.unlink()
    code, _, err = _main(run_dir)
    assert code == 1 and "traces.h5: missing" in err
    assert "Problems" in (run_dir / "report.md").read_text()


def test_failed_run_is_reported_as_failed(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    (run_dir / "error.txt").write_text("Traceback ...\nFloatingPointError: invalid value in dopamine\n")
    plot_run(run_dir, only="reward")
    assert "**failed**: FloatingPointError" in (run_dir / "report.md").read_text()


def test_not_a_run_dir_gives_exit_2(tmp_path):
    code, _, err = _main(tmp_path)
    assert code == 2 and "not a run directory" in err and "config.yaml" in err
    code, _, err = _main(tmp_path / "nowhere")
    assert code == 2 and "not a run directory" in err


def test_unknown_plot_name_or_format_gives_exit_2(tmp_path):
    run_dir = copy_of("closed_loop", tmp_path)
    code, _, err = _main(run_dir, only="rewards")
    assert code == 2 and "rewards" in err and "reward" in err
    code, _, err = _main(run_dir, fmt="jpeg")
    assert code == 2 and "jpeg" in err


# -- the schema ---------------------------------------------------------------------------------
def test_the_reader_refuses_names_outside_the_schema_and_files_of_another_version(tmp_path):
    run_dir = copy_of("distal_reward", tmp_path)
    with RunReader(run_dir) as reader:
        assert reader.problems == []
        with pytest.raises(KeyError, match="weights"):
            reader.has("learn", "weights")
        assert not reader.has("learn", "reward")  # a closed-loop name: declared, but not here
    with h5py.File(run_dir / "traces.h5", "a") as h5:
        h5.attrs["format_version"] = 1
    code, _, err = _main(run_dir, only="weights")
    assert code == 1 and "format_version 1" in err


# -- cost of a long run, and the import wall -------------------------------------------------------
PROBE = """
import json, resource, sys, time
import h5py
from experiments.plotting import plot_run
read = [0]
getitem = h5py.Dataset.__getitem__
def counting(self, key):
    out = getitem(self, key)
    read[0] += getattr(out, "nbytes", 0)
    return out
h5py.Dataset.__getitem__ = counting
t = time.perf_counter()
results = [plot_run(run_dir) for run_dir in sys.argv[1:]]
print(json.dumps({"wall_s": time.perf_counter() - t, "read_bytes": read[0],
                  "code": max(r.exit_code for r in results),
                  "written": sorted({name for r in results for name in r.written}),
                  "problems": [p for r in results for p in r.problems],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "modules": sorted({m.split(".")[0] for m in sys.modules} & {"cortex", "subcortex", "brian2"}
                                    | ({"matplotlib.pyplot"} & set(sys.modules)))}))
"""


def _probe(*run_dirs: Path) -> dict:
    """Plot in a fresh interpreter: clean sys.modules, honest time and peak memory."""
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, run_dirs)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_plotting_imports_no_backend_and_no_pyplot(tmp_path):
    probe = _probe(*(build(tmp_path / kind) for kind, build in BUILDERS.items()))
    assert probe["code"] == 0, probe["problems"]
    assert set(probe["written"]) == set(PLOTS)  # every figure was drawn at least once
    assert probe["modules"] == []


def test_a_million_step_run_plots_without_reading_everything(tmp_path):
    # what makes it fast is measured, not timed (wall time on a shared machine is noise): bytes read, peak memory
    run_dirs = [synth.big_run(tmp_path / kind, n_steps=10**6, kind=kind) for kind in ("closed_loop", "sequence")]
    sizes = []
    for run_dir in run_dirs:
        with h5py.File(run_dir / "traces.h5") as h5:
            h5.visititems(lambda _, obj: sizes.append(obj.size * obj.dtype.itemsize)
                          if isinstance(obj, h5py.Dataset) else None)
    probe = _probe(*run_dirs)
    assert probe["code"] == 0, probe["problems"]
    assert {"neural", "reward", "learning", "sequences"} <= set(probe["written"])
    assert probe["read_bytes"] < 0.6 * sum(sizes)  # activity (K, T, 64) and 10^7 spikes only in part
    assert probe["maxrss_mb"] < 1024
    assert probe["modules"] == []


# -- what the reader hands to the figures -----------------------------------------------------------
def test_block_means_match_numpy_and_keep_the_block_range(run):
    kind, run_dir = run
    with RunReader(run_dir) as reader:
        phase = reader.phases[-1]
        name = {"sequence": "surprisal", "distal_reward": "dopamine"}.get(kind, "reward")
        raw = reader.dataset(phase.name, name)[...].astype(np.float64)
        series = reader.reduce(phase.name, name, stride_ms=10 * reader.sample_ms(phase.name, name))
        n = raw.shape[1] // 10 * 10
        blocks = raw[:, :n].reshape(raw.shape[0], -1, 10)
        np.testing.assert_allclose(series.mean[:, : n // 10], np.nanmean(blocks, axis=2), rtol=1e-6)
        np.testing.assert_allclose(series.hi[:, : n // 10], np.nanmax(blocks, axis=2))
        assert series.t_ms[0] == pytest.approx(reader.origin_ms(phase.name, name)
                                               + 4.5 * reader.sample_ms(phase.name, name))


def test_distal_reward_timing_follows_the_phase_attributes(tmp_path):
    run_dir = synth.distal_reward_run(tmp_path / "run", duration_s=60)
    with RunReader(run_dir) as reader:
        assert reader.sample_ms("learn", "dopamine") == 10.0
        assert reader.sample_ms("learn", "rewarded_weight") == 1000.0
        assert reader.origin_ms("learn", "rewarded_weight") == 1000.0  # the first sample at the end of 1 s
        assert reader.origin_ms("learn", "dopamine") == 10.0
        assert reader.phase("learn").duration_ms == 60_000 and reader.problems == []
        owner = reader.h5["learn/reward_replica"][...]
        times = event_times_ms(reader, "learn", "reward_times_s", replica=1)
        np.testing.assert_allclose(times, reader.h5["learn/reward_times_s"][...][owner == 1] * 1e3)


def test_raster_window_holds_exactly_the_spikes_of_one_replica_whatever_the_file_order(tmp_path):
    # events stored replica after replica, under the spiking cortex's names, in network time
    run_dir = synth.closed_loop_run(tmp_path / "run", spiking=True)
    with RunReader(run_dir) as reader:
        g = reader.h5["shift"]  # 2000-3000 ms of the run
        t_all, i_all, r_all = g["spikes_time_ms"][...], g["spikes_index"][...], g["spikes_replica"][...]
        for replica, (t0, t1) in ((0, (2900.0, 3000.0)), (1, (2000.0, 2050.0)), (2, (2500.0, 2520.0))):
            # small blocks, so the scan has to cross other replicas' stretches of the file
            t, i = spikes(reader, "shift", t0, t1, replica=replica, block=64)
            want = (r_all == replica) & (t_all >= t0) & (t_all < t1)
            got, expected = np.argsort(t), np.argsort(t_all[want])
            np.testing.assert_allclose(t[got], t_all[want][expected])
            np.testing.assert_array_equal(i[got], i_all[want][expected])
