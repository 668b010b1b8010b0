"""The readout's ridge in the scaling study (docs/results.md, "Language"), per backend: each ridge's
seed mean, the best ridge and its paired gain over the ladder's own ridge, re-derived seed by seed
from the ridge sweeps' and the ladder's replicas.csv, independently of tools/scaling_readout.py."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from tool_helpers import load_tool, section_table

ROOT = Path(__file__).resolve().parent.parent


def _rate_ridge(rung: str) -> float:
    """The rung config's own ridge per feature (the rate size sweeps leave it), else the default."""
    cortex = yaml.safe_load((ROOT / "configs" / "language" / rung).read_text())["cortex"]
    return float(cortex.get("readout", {}).get("rls_reg_per_feature", 1e-3))


# backend -> (ridge sweeps, swept key, the ladder's sweeps, the ladder's ridge of a rung, size noun)
BACKENDS = {
    "rate": (("ridge", "ridge_memory", "ridge_memory_low"), "cortex.readout.rls_reg_per_feature", ("size", "large", "huge"), _rate_ridge, "units"),
    "spiking": (("spiking_ridge", "spiking_ridge_ladder", "spiking_ridge_scaled"), "cortex.readout.rls_reg",
                ("spiking", "spiking_ladder", "spiking_ladder_large"), lambda rung: 30.0, "neurons"),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_the_ridge_table_holds_each_ridges_seed_mean_and_the_best_ridges_gain(backend):
    tool = load_tool("scaling_study")
    sweeps, key, ladder, base, noun = BACKENDS[backend]
    ridge = [(r, float(r[key])) for name in sweeps for r in tool.read_csv(tool.STUDY / name / "replicas.csv")]
    if not ridge:
        pytest.skip(f"no {backend} ridge sweep committed")
    sizes: dict = {}
    for r, _ in ridge:
        sizes.setdefault(tool.rung_of(r["base"]), set()).add(int(r["cortex.n_units"]))
    # the ladder's own runs join at every size between a rung's smallest and largest ridge-sweep size
    ridge += [(r, base(rung)) for name in ladder for r in tool.read_csv(tool.STUDY / name / "replicas.csv")
              if (rung := tool.rung_of(r["base"])) in sizes and min(sizes[rung]) <= int(r["cortex.n_units"]) <= max(sizes[rung])]
    cells = {(tool.rung_of(r["base"]), int(r["cortex.n_units"])) for r, _ in ridge}
    seeds: dict = {}
    for r, reg in ridge:
        rung = tool.rung_of(r["base"])
        _, phase, metric, _, _ = tool.RUNGS[rung]
        seeds.setdefault((rung, int(r["cortex.n_units"]), reg), {})[int(r["seed"]) + int(r["replica"])] = float(r[f"{phase}.{metric}"])
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    first = f"| rung | metric | {noun} | ridge"
    header = next(ln for ln in section.splitlines() if ln.startswith(first))
    ridges = [float(c.split()[1]) for c in (c.strip() for c in header.strip("|").split("|")) if c.startswith("ridge ")]
    assert header.endswith("| the ladder's ridge | best ridge | gain of the best over the ladder's (paired, s.e.) |")
    table = {(row[0], int(row[2].replace(",", ""))): row for row in section_table(section, first)}
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
        best, own = (max if hb else min)(means, key=means.get), base(rung)
        assert row[3 + len(ridges):5 + len(ridges)] == [f"{own:g}", f"{best:g}"]
        gain = [(a - seeds[(rung, n, own)][k]) * (1 if hb else -1) for k, a in seeds[(rung, n, best)].items()]
        if best != own:
            assert row[5 + len(ridges)].startswith(f"{np.mean(gain):+.3f} +- {np.std(gain, ddof=1) / np.sqrt(5):.3f}")
        else:
            assert row[5 + len(ridges)] == ""
    # a rung run at two sizes or more gets its sentence: each size at its best ridge, the largest
    # against the best smaller one
    for rung in {b for b, _ in cells if sum(1 for c in cells if c[0] == b) > 1}:
        hb = tool.RUNGS[rung][4]
        at_best = {n: (max if hb else min)(np.mean(list(v.values())) for (b, m, _), v in seeds.items() if (b, m) == (rung, n))
                   for b, n in cells if b == rung}
        hi = max(at_best)
        lo = (max if hb else min)((n for n in at_best if n != hi), key=at_best.get)
        sentence = f"{tool.RUNGS[rung][0]}, each size at its best ridge ("
        # the rung's sentence of this backend (the rate and spiking tables share rung labels)
        text = next(t for part in section.split(sentence)[1:] if f" {noun}: ridge" in (t := part.split("the same seeds).", 1)[0]))
        assert f"): {hi:,} {noun} are " in text and f" {lo:,}, the best smaller size (" in text, (rung, hi, lo)


def test_the_held_out_sweep_reads_each_rung_at_the_ridge_its_rule_chooses():
    """cortex_scaling_ridge_heldout.yaml sets each rung the ridge `chosen_ridge` picks from the
    committed ridge sweeps (seeds 0-4), and runs other seeds."""
    readout, tool = load_tool("scaling_readout"), load_tool("scaling_study")
    sweep = yaml.safe_load((ROOT / "configs" / "sweeps" / "cortex_scaling_ridge_heldout.yaml").read_text())
    data = tool.load()
    for entry in sweep["base"]:
        rung = Path(entry["config"]).name
        assert entry["set"]["cortex.readout.rls_reg_per_feature"] == readout.chosen_ridge(data, rung), rung
    assert sweep["seeds"][0] >= sweep["set"]["replicas"]   # no seed of the choice (0..replicas-1) is run again


def test_the_held_out_table_holds_each_sizes_seed_mean_at_the_rungs_one_ridge():
    """docs/results.md's held-out table, re-derived from ridge_heldout/replicas.csv: per rung the
    ridge of the sweep file, the seed mean at each size (seeds 5-9 only), and the largest size's
    paired advantage over the best smaller one."""
    tool = load_tool("scaling_study")
    rows = tool.read_csv(tool.STUDY / "ridge_heldout" / "replicas.csv")
    if not rows:
        pytest.skip("no held-out ridge sweep committed")
    sweep = yaml.safe_load((ROOT / "configs" / "sweeps" / "cortex_scaling_ridge_heldout.yaml").read_text())
    ridge = {Path(e["config"]).name: e["set"]["cortex.readout.rls_reg_per_feature"] for e in sweep["base"]}
    seeds: dict = {}
    for r in rows:
        _, phase, metric, _, _ = tool.RUNGS[r["base"]]
        assert float(r["cortex.readout.rls_reg_per_feature"]) == ridge[r["base"]]
        seeds.setdefault((r["base"], int(r["cortex.n_units"])), {})[int(r["seed"]) + int(r["replica"])] = float(r[f"{phase}.{metric}"])
    assert all(sorted(v) == [5, 6, 7, 8, 9] for v in seeds.values())
    section = tool.RESULTS_MD.read_text().split(tool.START, 1)[1].split(tool.END, 1)[0]
    first = "| rung | metric | ridge per feature |"
    header = [c.strip() for c in next(ln for ln in section.splitlines() if ln.startswith(first)).strip("|").split("|")]
    sizes = [int(c.replace(",", "")) for c in header[3:-1]]
    labels = {v[0]: k for k, v in tool.RUNGS.items()}
    table = section_table(section, first)
    assert {labels[row[0]] for row in table} == {b for b, _ in seeds}
    for row in table:
        rung = labels[row[0]]
        hb = tool.RUNGS[rung][4]
        assert float(row[2]) == ridge[rung]
        means = {}
        for n, cell in zip(sizes, row[3:-1]):
            got = seeds.get((rung, n))
            assert (cell == "not run yet") == (got is None), (rung, n)
            if got:
                means[n] = np.mean(list(got.values()))
                assert cell.split(" +- ")[0] == f"{means[n]:.3f}", (rung, n)
        hi = max(means)
        lo = (max if hb else min)((n for n in means if n != hi), key=means.get)
        d = [(seeds[(rung, hi)][k] - seeds[(rung, lo)][k]) * (1 if hb else -1) for k in range(5, 10)]
        assert row[-1].startswith(f"{hi:,} vs {lo:,}: {np.mean(d):+.3f} +- {np.std(d, ddof=1) / np.sqrt(5):.3f}"), rung
