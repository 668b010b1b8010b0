"""The steering study's tables (docs/results.md, "Steering"), each made from the committed CSVs.

Called by :func:`steering_study.render` and ``python tools/steering_study.py table SWEEP_DIR``.
"""
from __future__ import annotations

from steering_study import DIV, FROZEN, PLASTIC, SIZE, SPIKING_SIZE, _cells, _f, _mean, _wall, anchors, diversity_rows
from study_tables import table


def diversity_table(data: dict) -> str:
    rows = []
    for backend, name in (("rate", "diversity"), ("spiking", "diversity_spiking")):
        if f"{name}/results" not in data:
            continue
        seeds = {k: len(v) for k, v in _cells(data[f"{name}/replicas"], lambda r: (int(r.get(SIZE, SPIKING_SIZE)), r[DIV])).items()}
        for (size, div), m in diversity_rows(data[f"{name}/results"]).items():
            rows.append([backend, f"{size:,}", _f(div), seeds[(size, div)],
                         _f(m[f"{FROZEN}.proxy_reliance"]), _f(m[f"{FROZEN}.steering_gap"]),
                         _f(m[f"{FROZEN}.catastrophes"], 1), _f(m[f"{PLASTIC}.steering_gap"]),
                         _f(m[f"{PLASTIC}.recovered"]), _f(m[f"{PLASTIC}.recovery_trials"], 0),
                         _f(m[f"{PLASTIC}.catastrophes_before_recovery"], 1)])
    return table(["backend", "cortex units", "diversity", "seeds", "frozen: proxy_reliance", "frozen: steering_gap",
                   "frozen: catastrophes / 300 trials", "plastic: steering_gap (600 trials)", "plastic: recovered",
                   "plastic: recovery_trials", "plastic: catastrophes_before_recovery"], rows)


def anchor_table(data: dict) -> str:
    rows = []
    for backend, name in (("rate", "diversity"), ("spiking", "diversity_spiking")):
        if f"{name}/replicas" in data:
            for size, (point, lo, hi, n) in anchors(data[f"{name}/replicas"]).items():
                rows.append([backend, f"{size:,}", n, _f(point), f"{_f(lo)} to {_f(hi)}"])
    return table(["backend", "cortex units", "seeds per cell", "diversity at which the failure goes",
                   "95% bootstrap interval (seeds)"], rows)


AGAINST = [  # (base config, label, phases)
    ("abstinence.yaml", "(a) abstinence", ("train", "test")),
    ("superstimulus.yaml", "(b) superstimulus", ("test", "superstimulus", "superstimulus_plastic")),
    ("train_and_shift.yaml", "(c) learned proxy", ("test", "cue_conflict", "cue_conflict_plastic")),
]


def against_table(data: dict) -> str:
    rows = []
    results = data["against_reward/results"]
    for base, label, phases in AGAINST:
        for gamma in (0.9, 0.0):
            r = next(r for r in results if r["base"] == base and r["subcortex.gamma"] == gamma)
            for phase in phases:
                other = r.get(f"{phase}.abstinence") if base == "abstinence.yaml" else r.get(f"{phase}.proxy_reliance")
                rows.append([label, _f(gamma, 1), phase, _f(r[f"{phase}.immediate_reward"], 3),
                             _f(r[f"{phase}.subcortex_reward"], 3), _f(r[f"{phase}.fitness"], 3),
                             _f(r[f"{phase}.fidelity"]), ("abstinence " if base == "abstinence.yaml" else "proxy ") + _f(other)])
    return table(["case", "gamma", "phase", "immediate innate reward / trial", "total innate reward / trial",
                   "fitness / trial", "fidelity", "abstinence or proxy_reliance"], rows)


ASSESSED = ("taste.sweet", "taste.bitter")
ASSESSOR_PHASES = ("test", FROZEN, "novel_items", PLASTIC)


def assessor_table(data: dict) -> str:
    rows = []
    for (size, div), rs in _cells(data["diversity/results"], lambda r: (int(r[SIZE]), r[DIV])).items():
        if div not in (0.0, 0.2, 1.0):
            continue
        row = [f"{size:,}", _f(div)]
        for signal in ASSESSED:
            row += [_f(_mean(r[f"{p}.assessor_error/{signal}"] for r in rs)) for p in ASSESSOR_PHASES]
        rows.append(row)
    header = ["cortex units", "diversity"] + [f"{s.split('.')[1]}: {p}" for s in ASSESSED for p in ASSESSOR_PHASES]
    return table(header, rows)


PROBES = [("taste", "cv:test"), ("taste", "cv:cue_conflict"), ("taste", "transfer:test->cue_conflict"),
          ("taste", "pooled:test+cue_conflict"), ("cue", "pooled:test+cue_conflict"),
          ("taste", "cv:novel_items"), ("toxin", "pooled:test+novel_items")]


def probe_table(data: dict) -> str:
    rows = []
    full = max(r["units"] for r in data["probes/probes"])
    for (size, div), rs in _cells([r for r in data["probes/probes"] if r["units"] == full],
                                  lambda r: (int(r[SIZE]), r[DIV])).items():
        acc = {(t, p): _mean(r["accuracy"] for r in rs if r["target"] == t and r["probe"] == p) for t, p in PROBES}
        rows.append([f"{size:,}", _f(div), len({r['seed'] for r in rs})] + [_f(acc[k]) for k in PROBES])
    return table(["cortex units", "diversity", "seeds"] + [f"{t} {p}" for t, p in PROBES], rows)


def sample_table(data: dict) -> str:
    """Is the recorded sample enough? The pooled taste decoder on the first n recorded units."""
    pr = data["probes/probes"]
    ns = sorted({int(r["units"]) for r in pr})
    rows = []
    for (size, div), rs in _cells(pr, lambda r: (int(r[SIZE]), r[DIV])).items():
        rows.append([f"{size:,}", _f(div)] + [_f(_mean(r["accuracy"] for r in rs if r["units"] == n and r["target"] == "taste"
                                                      and r["probe"] == "pooled:test+cue_conflict")) for n in ns])
    return table(["cortex units", "diversity"] + [f"taste pooled:test+cue_conflict, {n} recorded units" for n in ns], rows)


def walls(data: dict) -> str:
    rows = []
    for name in ("diversity", "diversity_spiking", "against_reward", "probes", "quick"):
        if f"{name}/results" in data:
            res = data[f"{name}/results"]
            w = _wall(res)
            rows.append([f"`configs/sweeps/steering_{name}.yaml`", len(res), f"{w / 60:.1f}", f"{w / 120:.1f}"])
    total = sum(_wall(data[f"{n}/results"]) for n in ("diversity", "diversity_spiking", "against_reward", "probes")
                if f"{n}/results" in data)
    rows.append(["the full study (all but the quick look)", "", f"{total / 60:.1f}", f"{total / 120:.1f}"])
    return table(["sweep", "runs", "sum of run wall times (min, one worker)", "on 2 cores, 2 workers (min)"], rows)
