"""The scaling study's fits and criteria (tools/scaling_fits.py, tools/scaling_tables.py) on made-up
points whose answers are known; tests/test_scaling_study.py checks the rendered tables against
the committed CSVs."""
import numpy as np
import pytest

from tool_helpers import load_tool

_load = load_tool


def test_strings_to_criterion_waits_only_for_unrun_points_that_could_change_it():
    """At a size whose data axis is part-run, the fewest strings meeting the criterion is given when
    every unrun number of strings is above the finished points' first meeting, and "not run" when
    one below it (or any, if none meets) is missing."""
    tool = _load("scaling_study")
    tables = _load("scaling_tables")
    rung, col = "reber.yaml", "test.kl_to_optimal"   # criterion: KL <= 0.05
    data = {name: {"results": [], "failed": [], "replicas": [], "errors": {}} for name in tool.SWEEPS}

    def point(sweep, n, strings, kl):
        row = {"base": rung, "cortex.n_units": str(n), "phases.train.strings": str(strings), col: str(kl), "status": "done"}
        data[sweep]["results"].append(row)
        data[sweep]["replicas"].extend([row] * 5)

    for strings in (50, 200, 5000):   # 5,000 run at another size: the axis has it
        point("data", 1024, strings, 0.03)
    point("size", 1024, 1000, 0.03)
    point("huge", 65536, 1000, 0.04)   # meets at 1,000
    point("data_huge", 65536, 50, 0.5)
    point("data_huge", 65536, 200, 0.2)   # 5,000 not run: it cannot make 1,000 fewer
    got = tables.to_criterion(data, rung, 65536)
    assert (got["met"], got["sure"]) == (1000, True) and tables.to_criterion_cell(got) == "1,000"
    data["data_huge"]["results"].pop()
    data["data_huge"]["replicas"] = data["data_huge"]["replicas"][:5]   # 200 not run: it could
    got = tables.to_criterion(data, rung, 65536)
    assert not got["sure"] and tables.to_criterion_cell(got) == "not run (200, 5,000 strings)"
    data["huge"]["replicas"] = [{**r, col: "0.06"} for r in data["huge"]["replicas"]]   # nothing meets: 5,000 could
    data["data_huge"]["replicas"].extend([{**data["data_huge"]["replicas"][0], "phases.train.strings": "200"}] * 5)
    assert tables.to_criterion_cell(tables.to_criterion(data, rung, 65536)) == "not run (5,000 strings)"


# -- fits and criteria ----------------------------------------------------------------------------------
def test_the_fits_recover_a_known_power_law_and_a_known_sigmoid():
    fits = _load("scaling_fits")
    sizes = np.repeat([16, 64, 256, 1024, 4096], 5)
    err = 0.8 * sizes ** -0.3 * np.exp(np.random.default_rng(0).normal(0, 0.02, sizes.size))
    got = fits.power_law(sizes, 1 - err, higher_better=True)
    assert got["b"] == pytest.approx(-0.3, abs=3 * got["b_se"] + 0.01)
    x = np.log2(sizes)
    y = 0.5 + 0.45 / (1 + np.exp(-(x - 7) / 1.2)) + np.random.default_rng(1).normal(0, 0.005, x.size)
    s = fits.sigmoid(sizes, y, chance=0.5)
    assert s["top"] == pytest.approx(0.95, abs=0.02) and s["x50"] == pytest.approx(7, abs=0.3)
    assert fits.best_fit(sizes, y, True, 0.5)["model"] == "sigmoid"


def test_first_meeting_names_the_first_point_or_none():
    fits = _load("scaling_fits")
    points = {16: [0.5, 0.6], 256: [0.96, 0.94], 1024: [0.99]}
    assert fits.first_meeting(points, 0.95, True) == 256
    assert fits.first_meeting(points, 0.999, True) is None
    assert fits.first_meeting({16: [0.3], 64: [0.04]}, 0.05, False) == 64


def test_a_failed_point_makes_a_first_meeting_unsure_only_where_it_could_change_it():
    fits = _load("scaling_fits")
    got = fits.first_meeting_with_gaps({50: [0.5], 200: [0.96]}, [5000], 0.95, True)
    assert got["met"] == 200 and got["sure"]            # met before the failed point
    got = fits.first_meeting_with_gaps({50: [0.5], 1000: [0.96]}, [200], 0.95, True)
    assert got["met"] == 1000 and not got["sure"]       # the failed point lies below the meeting
    got = fits.first_meeting_with_gaps({50: [0.5], 1000: [0.6]}, [5000], 0.95, True)
    assert got["met"] is None and not got["sure"] and got["tried"] == [50, 1000]
    assert fits.direction([None, None, 1000, 1000]) == "falls" and fits.direction([200, 1000, 5000]) == "rises"
    assert fits.direction([None, None]) == "never" and fits.direction([1000, 200, 5000]) == "mixed"
    assert fits.direction([1000, 1000]) == "same"
    assert fits.differs([0.90] * 3, [0.95] * 3) and not fits.differs([0.950, 0.951], [0.952, 0.953])


def test_the_shape_with_size_names_a_peak_even_when_the_largest_size_falls_below_the_smallest():
    """How a rung moves with size (the per-rung sentences and the per-backend summary): a curve
    that rises to a middle size and then falls, past where it started, is "peaks", not "flat"; a
    fall within the seeds' noise after the best size is "saturates"; no gain over the smallest size
    is "flat"; a last step that still gains is "rises". Accuracies (higher is better) and a KL
    (lower is better)."""
    shape = _load("scaling_verdicts")._shape
    seeds = np.array([-0.01, -0.005, 0.0, 0.005, 0.01])

    def pts(means):
        return {n: list(m + seeds) for n, m in zip((100, 400, 1600, 4000), means)}

    assert shape(pts([0.92, 0.94, 0.91, 0.84]), True)[0] == "peaks"   # the spiking cortex on agreement
    assert shape(pts([0.19, 0.10, 0.14, 0.35]), False)[0] == "peaks"   # its KL on Reber
    assert "improves up to 400" in shape(pts([0.92, 0.94, 0.91, 0.84]), True, "neurons")[1]
    assert shape(pts([0.80, 0.90, 0.95, 0.948]), True)[0] == "saturates"   # 0.002 below the best: noise
    assert shape(pts([0.80, 0.90, 0.95, 0.99]), True)[0] == "rises"
    assert shape(pts([0.95, 0.90, 0.85, 0.80]), True)[0] == "flat"   # best at the smallest size
    assert shape(pts([0.013, 0.026, 0.068, 0.11]), False)[0] == "flat"
    assert shape(pts([0.900, 0.905, 0.90, 0.90]), True)[0] == "flat"   # gains under 0.01
