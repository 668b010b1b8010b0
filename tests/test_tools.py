"""The tools' own checks: metrics_snapshot.py knows a small size for every shipped config (else it
refuses to run), and rekey_studies.py keeps committed run ids current."""
from pathlib import Path

from tool_helpers import load_tool

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_snapshot_has_small_overrides_for_every_shipped_config():
    tool = load_tool("metrics_snapshot")
    shipped = {f"{d}/{p.stem}" for d in ("language", "steering", "universals") for p in (ROOT / "configs" / d).glob("*.yaml")}
    assert set(tool.SMALL) == shipped


def test_every_committed_study_run_id_is_the_id_its_config_resolves_to_today():
    # else a sweep resuming from a committed results.csv runs its points again (python tools/rekey_studies.py)
    stale = {old: new for old, new in load_tool("rekey_studies").current_ids().items() if old != new}
    assert not stale, f"{len(stale)} stale run ids, e.g. {next(iter(stale.items()))}: run python tools/rekey_studies.py"


def test_rekeying_rewrites_the_ids_of_csvs_and_manifests_and_nothing_else(tmp_path):
    import json

    tool = load_tool("rekey_studies")
    study = tmp_path / "scaling" / "size"
    study.mkdir(parents=True)
    manifest = json.loads((ROOT / "studies" / "scaling" / "size" / "sweep.json").read_text())
    manifest["runs"] = manifest["runs"][:2]
    first, second = "000000000000", manifest["runs"][1]["run_id"]
    manifest["runs"][0]["run_id"] = first   # an id no config resolves to
    (study / "sweep.json").write_text(json.dumps(manifest, indent=1))
    (study / "results.csv").write_text(f"run_id,test.kl_to_optimal\n{first},0.5\n{second},0.25\n")
    (study / "notes.txt").write_text(first)
    (study / "runs" / first).mkdir(parents=True)
    now = tool.current_ids(tmp_path)
    assert now[first] != first
    changed = tool.rekey(tmp_path)
    assert {p.name for p in changed} == {"results.csv", "sweep.json"}
    assert (study / "results.csv").read_text().splitlines()[1:] == [f"{now[first]},0.5", f"{now[second]},0.25"]
    assert [r["run_id"] for r in json.loads((study / "sweep.json").read_text())["runs"]] == [now[first], now[second]]
    assert (study / "runs" / now[first]).is_dir() and not (study / "runs" / first).exists()
    assert (study / "notes.txt").read_text() == first
    assert tool.rekey(tmp_path) == []   # nothing left to do


def test_collect_keeps_the_committed_rows_of_runs_whose_directories_are_gone(tmp_path):
    """A sweep resumed on another machine from the committed CSVs has run directories only for the
    points it ran there: collecting must add those and keep the committed rows (replicas, errors) of
    the others, not drop them; a point not run yet gets no rows."""
    import json

    tool = load_tool("scaling_collect")
    study = load_tool("study_tables")
    runs = [{"run_id": rid, "base": "../language/bigram.yaml", "params": {"cortex.n_units": n}}
            for rid, n in (("old", 16), ("new", 64), ("broke", 256), ("later", 1024))]
    (tmp_path / "sweep.json").write_text(json.dumps({"runs": runs}))
    study.write_csv(tmp_path / "results.csv", [{"run_id": r, "status": s} for r, s in
                                              (("old", "done"), ("new", "done"), ("broke", "failed"), ("later", "missing"))])
    study.write_csv(tmp_path / "replicas.csv", [{"run_id": "old", "base": "bigram.yaml", "cortex.n_units": 16, "replica": i,
                                                 "test.kl_to_optimal": 0.1 + i} for i in range(2)])
    study.write_csv(tmp_path / "failed.csv", [{"run_id": "broke", "base": "bigram.yaml", "cortex.n_units": 256,
                                               "error": "FloatingPointError: readout diverged"}])
    (tmp_path / "runs" / "new").mkdir(parents=True)
    (tmp_path / "runs" / "new" / "metrics.json").write_text(json.dumps({"test": {"per_replica": {"kl_to_optimal": [0.5, 0.7]}}}))
    tool.collect(tmp_path)
    rows = study.read_csv(tmp_path / "replicas.csv")
    assert [(r["run_id"], r["replica"], float(r["test.kl_to_optimal"])) for r in rows] == [
        ("old", "0", 0.1), ("old", "1", 1.1), ("new", "0", 0.5), ("new", "1", 0.7)]
    assert [r["cortex.n_units"] for r in rows] == ["16", "16", "64", "64"]
    assert [(r["run_id"], r["error"]) for r in study.read_csv(tmp_path / "failed.csv")] == [
        ("broke", "FloatingPointError: readout diverged")]
