"""The scaling study (docs/results.md, "Language"): its tables come from the committed CSVs, its
quick look's smallest point runs, and its probes behave. The spiking cortex's tables:
tests/test_scaling_spiking.py; the fits and criteria on made-up points: tests/test_scaling_criteria.py."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main as neurosteer
from sweep_helpers import run_point
from tool_helpers import load_tool, section_table

ROOT = Path(__file__).resolve().parent.parent


_load = load_tool


# -- docs/results.md is what the committed CSVs give ---------------------------------------------------
def test_results_md_language_section_is_rendered_from_the_committed_csvs():
    tool = _load("scaling_study")
    text = tool.RESULTS_MD.read_text()
    section = text.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert section == tool.render(tool.load()).strip(), "run: python tools/scaling_study.py --write"


def test_every_metric_the_language_prose_quotes_is_in_the_rendered_tables():
    """The hand-written answer above the rendered part quotes metrics (three decimals): each must be
    a value the rendered tables and sentences hold, so a re-render that moves one fails here until
    the prose follows."""
    import re

    tool = _load("scaling_study")
    text = tool.RESULTS_MD.read_text()
    prose = text[text.index("## Language"):text.index(tool.START)]
    rendered = tool.render(tool.load())
    quoted = set(re.findall(r"(?<![\d.])\d+\.\d{3}(?!\d)", prose))
    assert len(quoted) > 20
    assert not sorted(q for q in quoted if q not in rendered)


@pytest.mark.parametrize("sweep", _load("scaling_study").SWEEPS)
def test_replicas_csv_holds_the_replicas_whose_means_results_csv_holds(sweep):
    tool = _load("scaling_study")
    results = {r["run_id"]: r for r in tool.read_csv(tool.STUDY / sweep / "results.csv") if r["status"] == "done"}
    replicas = tool.read_csv(tool.STUDY / sweep / "replicas.csv")
    if not results:
        pytest.skip(f"studies/scaling/{sweep} not committed")
    assert {r["run_id"] for r in replicas} == set(results)
    for run_id, row in results.items():
        mine = [r for r in replicas if r["run_id"] == run_id]
        for col in ("test.kl_to_optimal", "test.longrange_accuracy"):
            if row.get(col) not in (None, ""):
                assert np.mean([float(r[col]) for r in mine]) == pytest.approx(float(row[col]), abs=1e-9)


def test_probes_cover_both_backends_and_the_spiking_rows_are_the_spiking_sweeps_runs(monkeypatch):
    """probes.csv / cka.csv hold the rate cortex (the size sweeps' runs, 16-65,536 units) and the
    spiking cortex (runs of cortex_scaling_spiking.yaml: every done run of its results.csv, and a run
    that finished after it was written may be there too; 8,000 neurons from
    cortex_scaling_spiking_projected.yaml, whose runs record the same activity as full RLS's at the
    sizes both ran); the section's spiking cells are their means."""
    import cortex.memory
    from experiments.sweep.run import plan

    # the sweeps' points, whatever this machine's free memory
    monkeypatch.setattr(cortex.memory, "available_bytes", lambda: None)
    tool = _load("scaling_study")
    probes, cka = tool.read_csv(tool.STUDY / "probes.csv"), tool.read_csv(tool.STUDY / "cka.csv")
    assert {r["backend"] for r in probes} == {r["backend"] for r in cka} == {"rate", "spiking"}

    data = tool.load()

    def points(rows):
        return {(r["base"], int(r["cortex.n_units"])) for r in rows}

    rate = {(r["base"], int(r["n_units"])) for r in probes if r["backend"] == "rate"}
    assert rate == set().union(*(points(data[name]["results"]) for name in tool.SIZE_SWEEPS))
    spiking = {(r["base"], int(r["n_units"])) for r in probes if r["backend"] == "spiking"}
    planned = {(Path(r.point.base).name, r.resolved["cortex"]["n_units"])
               for f in ("cortex_scaling_spiking.yaml", "cortex_scaling_spiking_projected.yaml")
               for r in plan(ROOT / "configs" / "sweeps" / f).runs}
    done = points(data["spiking"]["results"]) | points(data["spiking_projected"]["results"])
    assert done and done <= spiking <= planned, (sorted(done), sorted(spiking), sorted(planned))
    for base, n in spiking:   # every replica, on the recorded counts and on the readout's filters
        mine = [r for r in probes if r["backend"] == "spiking" and (r["base"], int(r["n_units"])) == (base, n)]
        for target in ("state", "branch"):
            for features in ("", "counts + filters", "input symbols + filters"):
                got = [r for r in mine if r["target"] == target and r["features"].startswith(features)
                       and bool(r["features"]) == bool(features)]
                assert sorted(int(r["replica"]) for r in got) == list(range(5)), (n, target, features)
    assert {int(r["a"]) for r in cka if r["backend"] == "spiking" and r["between"] == "seeds"} == {n for _, n in spiking}
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    table = section_table(section, "| rung | read from |")
    header = next(ln for ln in section.splitlines() if ln.startswith("| rung | read from |"))
    sizes = [int(c.strip().replace(",", "")) for c in header.strip().strip("|").split("|")[4:]]
    row = next(r for r in table if r[1] == "spiking: spike counts" and r[2] == "branch")
    for base, n in spiking:
        scores = [float(r["score"]) for r in probes if r["backend"] == "spiking" and int(r["n_units"]) == n
                  and r["target"] == "branch" and not r["features"]]
        assert row[4 + sizes.index(n)].split(" (")[0] == f"{np.mean(scores):.3f}", n


def test_the_full_grid_resumes_from_the_thinned_sweeps_committed_results(tmp_path):
    from experiments.sweep.run import pending_jobs, plan

    tool = _load("scaling_study")
    seeded = {r["run_id"] for r in tool.read_csv(tool.STUDY / "full" / "results.csv")}
    rows = [r for n in tool.RATE_SWEEPS for r in tool.read_csv(tool.STUDY / n / "results.csv")]
    assert seeded == {r["run_id"] for r in rows if r["status"] == "done"}   # failed points: the full sweep runs them
    out = tmp_path / "full"   # a clone: results.csv only, no run directories
    out.mkdir()
    (out / "results.csv").write_text((tool.STUDY / "full" / "results.csv").read_text())
    runs = plan(ROOT / "configs" / "sweeps" / "cortex_scaling.yaml").runs
    assert len(runs) == 196
    assert {j["run_id"] for j in pending_jobs(out, runs)} == {r.run_id for r in runs} - seeded


def test_the_thinned_sweeps_points_are_points_of_the_full_grid():
    """Their run ids are the full grid's: a point run in a thinned sweep is not run again by it (a
    config key added to a rung, even at a default that changes nothing, changes its run ids)."""
    from experiments.sweep.run import plan

    tool = _load("scaling_study")
    grid = {r.run_id for r in plan(ROOT / "configs" / "sweeps" / "cortex_scaling.yaml").runs}
    stale = sorted({(n, r["base"] if "base" in r else "(one base)") for n in tool.RATE_SWEEPS
                    for r in tool.read_csv(tool.STUDY / n / "results.csv") if r["run_id"] not in grid})
    assert not stale, f"run ids no longer in cortex_scaling.yaml's plan (sweep, rung): {stale}"
    # and together they are the whole grid: no point of it is left to no thinned sweep
    assert {r["run_id"] for n in tool.RATE_SWEEPS for r in tool.read_csv(tool.STUDY / n / "results.csv")} == grid


# -- the data axis at every size: re-derived here from the CSVs alone ---------------------------------
def _rate_cells(study: Path, rungs: dict, sweeps) -> tuple[dict, set]:
    """(rung, size, strings) -> seed values of the rung's metric, read straight from the replicas.csv
    of `sweeps` (1,000 strings where a sweep has no strings column), and the (rung, size, strings) of every
    failed row of results.csv."""
    import csv

    values, failed = {}, set()
    for sweep in sweeps:
        path = study / sweep / "replicas.csv"
        for r in csv.DictReader(open(path)) if path.exists() else []:
            _, phase, metric, _, _ = rungs[r["base"]]
            key = (r["base"], int(r["cortex.n_units"]), int(r.get("phases.train.strings") or 1000))
            values.setdefault(key, []).append(float(r[f"{phase}.{metric}"]))
        path = study / sweep / "results.csv"
        for r in csv.DictReader(open(path)) if path.exists() else []:
            if r["status"] == "failed":
                failed.add((r["base"], int(r["cortex.n_units"]), int(r.get("phases.train.strings") or 1000)))
    return values, failed


def test_the_strings_to_criterion_table_is_what_the_csvs_give_at_every_size():
    tool = _load("scaling_study")
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    values, failed = _rate_cells(tool.STUDY, tool.RUNGS, tool.RATE_SWEEPS)
    sizes = sorted({n for (_, n, s) in values | dict.fromkeys(failed) if s != 1000})
    assert sizes[:4] == [16, 64, 256, 1024]   # data_small (16-256) and data (1,024): every rung; data_large (4,096, 16,384), data_huge (65,536): part
    rows = {r[0]: r for r in section_table(section, "| rung | criterion | 16 units")}
    assert len(rows) == len(tool.RUNGS)
    for rung, (label, _, _, crit, hb) in tool.RUNGS.items():
        for col, n in enumerate(sizes, start=2):
            cell = rows[label][col]
            tried = sorted(s for (b, m, s) in values if b == rung and m == n)
            gone = sorted(s for (b, m, s) in failed if b == rung and m == n)
            unrun = sorted({50, 200, 1000, 5000} - set(tried) - set(gone))
            met = [s for s in tried if (np.mean(values[(rung, n, s)]) >= crit if hb else np.mean(values[(rung, n, s)]) <= crit)]
            if unrun and not (met and met[0] < unrun[0]):
                # a sweep stopped before points that could change the answer: none, and it says which are not run
                assert n > 1024 and cell == f"not run ({', '.join(f'{u:,}' for u in unrun)} strings)", (rung, n, cell)
                continue
            assert tried, (rung, n)
            if met and not any(g < met[0] for g in gone):
                assert cell == f"{met[0]:,}", (label, n, cell)
            elif not met and not gone:
                assert cell == f"never ({min(tried):,}-{max(tried):,})", (label, n, cell)
            else:   # a failed point could change the answer: the cell says so, and names it
                assert "run failed" in cell and all(f"{g:,}" in cell for g in gone), (label, n, cell)


def test_points_a_stopped_sweep_has_not_reached_are_not_failures(tmp_path):
    """A sweep stopped part-way writes its unreached points as `missing` (or `running`): the study
    leaves them out (no value, no "run failed"); only `failed` rows are failures."""
    import shutil

    tool = _load("scaling_study")
    for sweep in tool.SWEEPS:
        if (tool.STUDY / sweep).exists():
            shutil.copytree(tool.STUDY / sweep, tmp_path / sweep, ignore=shutil.ignore_patterns("runs", "plots"))
    rows = tool.read_csv(tmp_path / "data" / "results.csv")
    replicas = tool.read_csv(tmp_path / "data" / "replicas.csv")
    gone = rows[0]
    key = (gone["base"], int(gone["cortex.n_units"]), int(gone["phases.train.strings"]))
    gone["status"] = "missing"
    for k in gone:
        if "." in k and k not in ("phases.train.strings", "cortex.n_units", "recording.sample_units", "cortex.in_degree"):
            gone[k] = ""
    _load("study_tables").write_csv(tmp_path / "data" / "results.csv", rows)
    _load("study_tables").write_csv(tmp_path / "data" / "replicas.csv", [r for r in replicas if r["run_id"] != gone["run_id"]])
    data = tool.load(tmp_path)
    assert key not in tool.missing(data)
    assert key[2] not in tool.data_points(data, key[0], key[1])
    assert tool.render(data).count("run failed") == tool.render(tool.load()).count("run failed")


def test_failed_points_show_as_missing_with_their_error_and_nowhere_as_a_value():
    tool = _load("scaling_study")
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    values, failed = _rate_cells(tool.STUDY, tool.RUNGS, tool.RATE_SWEEPS)
    assert not failed & set(values)   # a failed run has no replicas
    table = section_table(section, "| rung | predictor | 50 strings")
    label = ""
    for row in table:   # the per-size data table: a failed point's cell says so, every other cell is a number
        label = row[0] or label
        if not row[1].startswith("rate,"):
            continue
        rung = next(r for r, v in tool.RUNGS.items() if v[0] == label)
        n = int(row[1].split()[1].replace(",", ""))
        for s, cell in zip((50, 200, 1000, 5000), row[2:]):
            if (rung, n, s) in failed:
                assert cell == "missing (run failed)"
            elif (rung, n, s) not in values:   # not run yet (data_large stopped part-way)
                assert n > 1024 and cell == "", (label, n, s, cell)
            else:
                assert cell.split(" +- ")[0] == f"{np.mean(values[(rung, n, s)]):.3f}", (label, n, s, cell)
    errors = {r["run_id"]: r["error"] for sweep in ("data", "data_small")
              for r in tool.read_csv(tool.STUDY / sweep / "failed.csv")}
    for rung, n, s in failed:
        line = f"- {tool.RUNGS[rung][0]}, {n:,} units, {s:,} strings: `"
        assert line in section
        assert any(f"{line}{e}`" in section for e in errors.values()), "run: python tools/scaling_study.py collect ..."


def _lstm_cells(study: Path, rungs: dict) -> dict:
    """(rung, regime, strings) -> seed values of the rung's metric for the LSTM baselines, read
    straight from the baseline sweeps' replicas.csv."""
    import csv

    values = {}
    for sweep in ("baselines", "baselines_data", "lstm_converge"):
        path = study / sweep / "replicas.csv"
        for r in csv.DictReader(open(path)) if path.exists() else []:
            model = json.loads(r["cortex"])
            if model.get("model") == "lstm":
                _, phase, metric, _, _ = rungs[r["base"]]
                key = (r["base"], model.get("regime", "one_pass"), int(r["phases.train.strings"]))
                values.setdefault(key, []).append(float(r[f"{phase}.{metric}"]))
    return values


def test_the_lstm_data_axis_is_what_the_csvs_give_beside_the_cortex():
    """The one-pass LSTM at every number of strings and the converged one at 1,000, on every rung:
    its rows of the per-size data table, its strings to criterion, and the cortex's best size
    against it on the same strings, all re-derived from replicas.csv."""
    tool = _load("scaling_study")
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    lstm, (rate, _) = _lstm_cells(tool.STUDY, tool.RUNGS), _rate_cells(tool.STUDY, tool.RUNGS, tool.RATE_SWEEPS)
    strings = [50, 200, 1000, 5000]
    for rung in tool.RUNGS:   # the data axis is complete: one pass at every number of strings, converged at 1,000
        assert all(len(lstm[(rung, "one_pass", s)]) == 5 for s in strings), rung
        assert len(lstm[(rung, "converge", 1000)]) == 5 and not any((rung, "converge", s) in lstm for s in (50, 200, 5000))

    def ms(v):
        return f"{np.mean(v):.3f} +- {np.std(v, ddof=1):.3f}"

    rows, label = {}, ""
    for row in section_table(section, "| rung | predictor | 50 strings"):
        label = row[0] or label
        rows[(label, row[1])] = row[2:]
    for rung, (name, _, _, crit, hb) in tool.RUNGS.items():
        assert rows[(name, "LSTM, one pass")] == [ms(lstm[(rung, "one_pass", s)]) for s in strings], name
        assert rows[(name, "LSTM, trained to convergence")] == ["", "", ms(lstm[(rung, "converge", 1000)]), ""], name

    size_rows = {r[0]: r for r in section_table(section, "| rung | metric | 16 |")}
    crit_rows = {r[0]: r for r in section_table(section, "| rung | criterion | 16 units")}
    versus = {r[0]: r[1:] for r in section_table(section, "| rung | 50 strings: one pass")}
    for rung, (name, _, _, crit, hb) in tool.RUNGS.items():
        # the converged LSTM on every rung of the size table
        assert size_rows[name][-1] == f"{np.mean(lstm[(rung, 'converge', 1000)]):.3f}", name
        verdict = next(ln for ln in section.splitlines() if ln.startswith(f"- **{name}**"))
        assert f"the LSTM trained to convergence {np.mean(lstm[(rung, 'converge', 1000)]):.3f}" in verdict, name
        # the one-pass LSTM's fewest strings meeting the criterion (its seed mean)
        means = {s: np.mean(lstm[(rung, "one_pass", s)]) for s in strings}
        ok = [s for s in strings if (means[s] >= crit if hb else means[s] <= crit)]
        want = "never (50-5,000)" if not ok else f"{ok[0]:,}" + (
            f" (not at {', '.join(f'{s:,}' for s in strings if s > ok[0] and s not in ok)})"
            if any(s > ok[0] and s not in ok for s in strings) else "")
        assert crit_rows[name][-2] == want, (name, crit_rows[name][-2], want)
        # the cortex at its best size with the same strings against each LSTM
        for col, (regime, s) in enumerate([("one_pass", s) for s in strings] + [("converge", 1000)]):
            sizes = {n: v for (b, n, k), v in rate.items() if b == rung and k == s}
            best = (max if hb else min)(sizes, key=lambda n: np.mean(sizes[n]))
            a, b = sizes[best], lstm[(rung, regime, s)]
            se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
            gap = np.mean(a) - np.mean(b)
            who = "level" if abs(gap) <= max(0.01, 2 * se) else "cortex" if (gap > 0) == hb else "LSTM"
            assert versus[name][col] == f"{who} ({np.mean(a):.3f} at {best:,} units vs {np.mean(b):.3f})", (name, regime, s)


def test_a_failed_point_is_taken_once_it_is_re_run(tmp_path):
    """A data-axis point that failed (status failed, no replicas: once the 16-unit, 5,000-string
    points, non-finite readout weights) shows as missing; re-run and collected, it replaces the
    'missing' cell with no change to the code. The failure is made here from a done point of the
    committed CSVs (every committed point is done today)."""
    import shutil

    tool, tables = _load("scaling_study"), _load("study_tables")
    for sweep in tool.SWEEPS:
        if (tool.STUDY / sweep).exists():
            shutil.copytree(tool.STUDY / sweep, tmp_path / sweep, ignore=shutil.ignore_patterns("runs", "plots"))
    results = tool.read_csv(tmp_path / "data_small" / "results.csv")
    replicas = tool.read_csv(tmp_path / "data_small" / "replicas.csv")
    point = next(r for r in results if r["status"] == "done" and r["base"] == "embedded_reber.yaml"
                 and r["phases.train.strings"] == "5000")
    rung, n, s = point["base"], int(point["cortex.n_units"]), int(point["phases.train.strings"])
    point["status"] = "failed"
    tables.write_csv(tmp_path / "data_small" / "results.csv", results)
    tables.write_csv(tmp_path / "data_small" / "replicas.csv", [r for r in replicas if r["run_id"] != point["run_id"]])
    before = tool.load(tmp_path)
    assert (rung, n, s) in tool.missing(before) and s not in tool.data_points(before, rung, n)
    assert "run failed" in tool.render(before)
    _, phase, metric, crit, hb = tool.RUNGS[rung]
    good = 1.0 if hb else 0.0   # the re-run meets the criterion: the first meeting moves to it
    template = next(r for r in replicas if r["base"] == rung)
    fresh = [{**{k: "" for k in template}, "run_id": point["run_id"], "base": rung, "phases.train.strings": str(s),
              "cortex.n_units": str(n), "replica": str(i), f"{phase}.{metric}": str(good)} for i in range(5)]
    point["status"] = "done"
    tables.write_csv(tmp_path / "data_small" / "results.csv", results)
    tables.write_csv(tmp_path / "data_small" / "replicas.csv",
                     [r for r in replicas if r["run_id"] != point["run_id"]] + fresh)
    after = tool.load(tmp_path)
    assert (rung, n, s) not in tool.missing(after)
    assert tool.data_points(after, rung, n)[s] == [good] * 5
    got = _load("scaling_tables").to_criterion(after, rung, n)
    assert s not in got["gone"] and got["met"] is not None and got["met"] <= s


# -- the quick look's smallest point and the probes -----------------------------------------------------
def test_the_quick_looks_smallest_point_runs(tmp_path):
    from experiments.sweep.run import plan

    runs = plan(ROOT / "configs" / "sweeps" / "cortex_scaling_quick.yaml").runs
    smallest = min(runs, key=lambda r: r.resolved["cortex"]["n_units"])
    metrics = run_point(smallest, tmp_path / "run")
    assert len(metrics["test"]["per_replica"]["kl_to_optimal"]) == 5


def test_probes_decode_the_embedded_branch_and_cka_is_a_similarity(tmp_path):
    from experiments.probes.sequence import linear_cka, probe_sequence_run

    out = tmp_path / "run"
    assert neurosteer(["run", str(ROOT / "configs/language/embedded_reber.yaml"), "--out", str(out), "--quiet",
                       "--set", "cortex.n_units=64", "--set", "replicas=1", "--set", "recording.sample_units=64",
                       "--set", "phases.train.strings=300", "--set", "phases.test.strings=100"]) == 0
    rows = {r["target"]: r for r in probe_sequence_run(out)}
    assert set(rows) == {"state", "branch"}
    assert rows["branch"]["chance"] == 0.5 and rows["branch"]["score"] > 0.7   # the cortex carries T/P
    X = np.random.default_rng(0).normal(size=(200, 10))
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(10, 10)))
    assert linear_cka(X, X @ Q * 3) == pytest.approx(1.0)         # invariant to rotation and scale
    assert linear_cka(X, np.random.default_rng(2).normal(size=(200, 10))) < 0.2
    assert not math.isnan(rows["state"]["score"])
