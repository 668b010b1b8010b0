"""The spiking cortex in the scaling study (docs/results.md, "Language"): its ladder table, its
readout table (full RLS against a fixed projection) re-derived seed by seed from the committed CSVs.
tests/test_scaling_study.py does the same for the rate cortex, tests/test_scaling_ridge.py for both
backends' ridge tables."""
import numpy as np
import pytest

from tool_helpers import load_tool, section_table

_load = load_tool


def test_the_spiking_ladder_rows_are_the_results_csv_means_and_a_failed_point_says_so():
    """The spiking cortex's ladder table (every rung: cortex_scaling_spiking_ladder*.yaml; embedded
    Reber: cortex_scaling_spiking.yaml, one base and no base column) holds results.csv's seed means
    at each size in neurons, a failed point as missing with its error listed, and the per-backend
    verdict names the spiking cortex. At 8,000 neurons (full RLS does not fit) the column says it
    reads the readout projected to 4,096 dimensions, and holds those runs: the 8,000-neuron
    ladder's, and embedded Reber's of cortex_scaling_spiking_projected.yaml at that dim only."""
    import csv

    tool = _load("scaling_study")
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    table = section_table(section, "| rung | metric | 100 neurons")
    header = next(ln for ln in section.splitlines() if ln.startswith("| rung | metric | 100 neurons"))
    cols = [c.strip() for c in header.strip().strip("|").split("|")]
    assert "8,000 neurons, readout projected to 4,096" in cols
    cells = {(row[0], int(cols[i].split()[0].replace(",", ""))): row[i]
             for row in table for i in range(2, len(cols)) if " neurons" in cols[i]}
    seen = 0
    for sweep in tool.SPIKING_SWEEPS + (tool.SPIKING_PROJECTED_LADDER, tool.SPIKING_PROJECTED):
        path = tool.STUDY / sweep / "results.csv"
        if not path.exists() and sweep in ("spiking", "spiking_ladder"):
            pytest.skip(f"studies/scaling/{sweep} not committed")
        for r in csv.DictReader(open(path)) if path.exists() else []:
            n = int(r["cortex.n_units"])
            if sweep == tool.SPIKING_PROJECTED and int(r["cortex.readout.dim"]) != tool.PROJECTED_AT.get(n):
                continue   # the readout table's points, not the ladder's
            # full RLS below 8,000 neurons, the projected readout at it
            assert (n in tool.PROJECTED_AT) == (sweep in (tool.SPIKING_PROJECTED_LADDER, tool.SPIKING_PROJECTED)), (sweep, n)
            rung = tool.rung_of(r.get("base") or "embedded_reber_spiking.yaml")
            label, phase, metric, _, _ = tool.RUNGS[rung]
            if r["status"] in ("missing", "running"):   # not reached by a stopped sweep
                assert cells.get((label, n), "not run") == "not run"
                continue
            cell = cells[(label, n)]
            if r["status"] == "done":
                assert cell.split(" +- ")[0] == f"{float(r[f'{phase}.{metric}']):.3f}", (label, n, cell)
                seen += 1
            else:
                assert cell == "missing (run failed)"
                assert f"{label}, spiking cortex, {n:,} neurons" in section
    assert seen >= 3 * len(tool.RUNGS) + 1   # every rung at 100 / 400 / 1,600 neurons, embedded Reber at 8,000
    assert "- spiking cortex (" in section


def test_the_spiking_readout_table_pairs_the_same_seeds_of_both_readouts():
    """Embedded Reber on the spiking cortex, full RLS (cortex_scaling_spiking.yaml) against the
    projected readouts (cortex_scaling_spiking_projected.yaml, one column pair per dim): each
    cell's mean and paired difference re-derived from the two replicas.csv files, seed by seed."""
    import csv

    tool = _load("scaling_study")
    path = tool.STUDY / "spiking_projected" / "replicas.csv"
    if not path.exists():
        pytest.skip("studies/scaling/spiking_projected not committed")
    col = "test.longrange_accuracy"

    def seeds(p, dim=lambda r: None):
        out = {}
        for r in csv.DictReader(open(p)):
            out.setdefault((int(r["cortex.n_units"]), dim(r)), {})[int(r["seed"]) + int(r["replica"])] = float(r[col])
        return out
    full = {n: v for (n, _), v in seeds(tool.STUDY / "spiking" / "replicas.csv").items()}
    proj = seeds(path, lambda r: int(r["cortex.readout.dim"]))
    dims = sorted({d for _, d in proj})
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    rows = {int(r[0].replace(",", "")): r for r in section_table(section, "| neurons | full RLS")}
    assert set(rows) == {n for n, _ in proj} and 8000 in rows
    for n, row in rows.items():
        if n in full:
            assert row[1].split(" +- ")[0] == f"{np.mean(list(full[n].values())):.3f}"
        else:
            assert row[1].startswith("not run")
        for i, d in enumerate(dims):
            mean, diff = row[2 + 2 * i], row[3 + 2 * i]
            if (n, d) not in proj:
                assert mean == diff == ""
                continue
            assert mean.split(" +- ")[0] == f"{np.mean(list(proj[(n, d)].values())):.3f}"
            if n in full:
                delta = [proj[(n, d)][k] - full[n][k] for k in sorted(full[n])]
                assert len(delta) == 5 and diff.split(" +- ")[0] == f"{np.mean(delta):+.3f}"
