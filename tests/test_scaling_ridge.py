"""The spiking cortex's readout ridge in docs/results.md ("Language"): its table re-derived seed by
seed from the committed replicas.csv files (cortex_scaling_spiking_ridge*.yaml, and the ladder's
runs at ridge 30), and its sentence's verdict from the same numbers."""
import csv

import numpy as np
import pytest

from tool_helpers import load_tool


def _rows(path):
    return list(csv.DictReader(open(path))) if path.exists() else []


def test_the_ridge_table_holds_each_ridges_seed_mean_and_the_best_ridges_gain():
    tool = load_tool("scaling_study")
    ridge = [(r, float(r["cortex.readout.rls_reg"])) for name in tool.SPIKING_RIDGE
             for r in _rows(tool.STUDY / name / "replicas.csv")]
    if not ridge:
        pytest.skip("no ridge sweep committed")
    cells = {(tool.rung_of(r["base"]), int(r["cortex.n_units"])) for r, _ in ridge}
    ridge += [(r, 30.0) for name in tool.SPIKING_SWEEPS for r in _rows(tool.STUDY / name / "replicas.csv")
              if (tool.rung_of(r["base"]), int(r["cortex.n_units"])) in cells]
    seeds: dict = {}
    for r, reg in ridge:
        rung = tool.rung_of(r["base"])
        _, phase, metric, _, _ = tool.RUNGS[rung]
        seeds.setdefault((rung, int(r["cortex.n_units"]), reg), {})[int(r["replica"])] = float(r[f"{phase}.{metric}"])
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| rung | metric | neurons | ridge"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    ridges = [float(h.split()[1]) for h in header if h.startswith("ridge ")]
    table = {}
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        row = [c.strip() for c in ln.strip("|").split("|")]
        table[(row[0], int(row[2].replace(",", "")))] = row
    labels = {v[0]: k for k, v in tool.RUNGS.items()}
    assert {(labels[a], n) for a, n in table} == cells
    for (label, n), row in table.items():
        rung, hb = labels[label], tool.RUNGS[labels[label]][4]
        means = {}
        for reg, cell in zip(ridges, row[3:3 + len(ridges)]):
            got = seeds.get((rung, n, reg))
            assert (cell == "") == (got is None), (label, n, reg)
            if got:
                assert len(got) == 5 and cell.split(" +- ")[0] == f"{np.mean(list(got.values())):.3f}", (label, n, reg)
                means[reg] = np.mean(list(got.values()))
        best = (max if hb else min)(means, key=means.get)
        assert row[3 + len(ridges)] == f"{best:g}"
        gain = [(a - seeds[(rung, n, 30.0)][k]) * (1 if hb else -1) for k, a in seeds[(rung, n, best)].items()]
        if best != 30.0:
            assert row[4 + len(ridges)].startswith(f"{np.mean(gain):+.3f} +- {np.std(gain, ddof=1) / np.sqrt(5):.3f}")
        else:
            assert row[4 + len(ridges)] == ""
    if ("agreement", 4000) in table and ("agreement", 400) in table:
        assert "agreement, each size at its best ridge (400 neurons: ridge" in section
