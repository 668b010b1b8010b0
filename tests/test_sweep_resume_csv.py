"""A sweep resumes from its results.csv alone: points marked done there are not run again, even
when their run directories are gone (a study's committed results.csv on a new machine)."""
from __future__ import annotations

import shutil

from sweep_helpers import cli_sweep, read_results, write_sweep


def test_points_done_in_results_csv_are_not_run_again(tmp_path, capsys):
    path = write_sweep(tmp_path, seeds=2)
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, workers=1, quiet=True) == 0
    before = {r["run_id"]: r for r in read_results(out)}
    shutil.rmtree(out / "runs")  # only results.csv (and sweep.json) are left, as in a clone
    path = write_sweep(tmp_path, seeds=3)
    assert cli_sweep(path, out_dir=out, workers=1) == 0
    assert "3 runs, 2 already done" in capsys.readouterr().err
    ran = {d.name for d in (out / "runs").glob("[!.]*")}
    assert len(ran) == 1 and not ran & set(before)
    after = {r["run_id"]: r for r in read_results(out)}
    assert len(after) == 3 and all(r["status"] == "done" for r in after.values())
    for rid, row in before.items():  # the earlier rows keep their metrics
        assert {k: after[rid][k] for k in row} == row
