"""The spiking cortex's memory estimate (cortex/spiking/memory.py) and its refusal at validation.

Measured: embedded Reber at 8,000 LIF neurons x 5 replicas (RLS readout, float32) held about
16.5 GB (15.4 GiB) in the Python process, 13.1 GB of it the readout's P. The estimate must cover
that without refusing the shipped spiking configs and sweep points on a ~20 GB machine.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import cortex.memory
from cortex.rate import memory as rate_memory
from cortex.rate.params import ReservoirParams
from cortex.memory import readout_bytes
from cortex.spiking import memory
from experiments import config
from experiments.cli import main
from experiments.protocols import sequence
from experiments.sweep.run import plan
from experiments.worlds import WORLDS

GIB = 2.0**30
CONFIG = "configs/language/embedded_reber_spiking.yaml"
MEASURED = ["cortex.n_units=8000", "replicas=5"]
MEASURED_GIB = 16.5e9 / GIB  # peak resident memory of that run (15.4 GiB)
ROOT = Path(__file__).resolve().parents[1]
SPIKING_SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*spiking*.yaml"))
SPIKING_CONFIGS = [ROOT / CONFIG, *sorted((ROOT / "configs" / "steering").glob("*spiking*.yaml"))]


def _estimate(spec) -> float:
    return sum(memory.estimate_bytes(spec.cortex, spec.header.replicas).values())


def test_the_estimate_of_the_measured_8000_x_5_rls_run_covers_its_peak_by_at_most_a_tenth():
    spec = config.load(CONFIG, MEASURED, check_memory=False)   # the estimate, whatever memory is free here
    assert spec.cortex.readout.kind == "rls" and spec.cortex.dtype == "float32"
    parts = memory.estimate_bytes(spec.cortex, 5)
    f = 6400 * 4 + 1  # n_exc x (counts + 3 filters) + bias
    assert parts["readout"] == 5 * f * f * 4 + 3 * 5 * 128 * f * 4  # P, a block's rows, G and H
    assert MEASURED_GIB <= sum(parts.values()) / GIB <= 1.1 * MEASURED_GIB  # 16.8 GiB against 15.4


def test_the_block_length_bound_covers_every_block_of_the_measured_config():
    assert memory.BLOCK_STRINGS == sequence.BLOCK_STRINGS
    spec = config.load(CONFIG, ["replicas=5"])
    seeds = list(range(5))
    longest = 0
    for index, phase in enumerate(spec.phases):
        grammar = WORLDS[spec.world.kind].cls(spec.world.variant(phase.variant))
        for parts, _ in sequence._string_blocks(grammar, seeds, index, phase.strings, phase.shared_strings):
            longest = max(longest, max(len(p) for p in parts))
    assert longest <= memory.block_steps_bound(spec.cortex)  # measured: 1,617 of 2,048


def test_both_backends_take_the_readout_rule_from_one_place():
    params = ReservoirParams(n_units=300, dtype="float32", readout={"kind": "rls"})
    assert rate_memory.estimate_bytes(params, 3, 10)["readout"] == readout_bytes(params.readout, 3, 311, 10, 64, 4)
    spiking = config.load(CONFIG).cortex
    assert memory.estimate_bytes(spiking, 3, 10)["readout"] == readout_bytes(spiking.readout, 3, 1281, 10, 128, 4)
    assert rate_memory._refusal is memory._refusal is cortex.memory.refusal  # one message, one available_bytes


def test_the_measured_run_is_refused_at_validation_when_memory_is_short(monkeypatch, capsys):
    monkeypatch.setattr(cortex.memory, "available_bytes", lambda: 8 * 2**30)
    code = main(["validate", CONFIG, *[a for s in MEASURED for a in ("--set", s)]])
    assert code == 2
    err = capsys.readouterr().err
    assert "cortex.n_units: 8000 neurons x 5 replicas need about 16.8 GiB (readout 12.4 GiB, spikes 2.5 GiB, " \
           "features 1.2 GiB), more than the 8.0 GiB of memory available" in err
    assert "cortex.readout.kind: projected_rls or delta" in err and "fewer replicas or neurons" in err
    # resolving it without running it here (a run id, a study's bookkeeping) does not depend on free memory
    assert config.load(CONFIG, MEASURED, check_memory=False).cortex.n_units == 8000


def test_a_readout_without_p_is_not_refused_where_rls_is(monkeypatch):
    monkeypatch.setattr(cortex.memory, "available_bytes", lambda: 8 * 2**30)
    for kind in ("projected_rls", "delta"):
        spec = config.load(CONFIG, [*MEASURED, f"cortex.readout.kind={kind}"])
        assert _estimate(spec) < 5 * GIB


@pytest.mark.parametrize("path", SPIKING_CONFIGS, ids=lambda p: p.name)
def test_shipped_spiking_configs_validate_with_20_gb_available(path, monkeypatch):
    monkeypatch.setattr(cortex.memory, "available_bytes", lambda: 20 * 10**9)
    spec = config.load(path)
    assert _estimate(spec) < 1 * GIB


@pytest.mark.parametrize("path", SPIKING_SWEEPS, ids=lambda p: p.name)
def test_spiking_sweep_points_up_to_4000_neurons_validate_with_20_gb_available(path, monkeypatch):
    """Every point of the spiking sweeps is accepted on a ~20 GB machine, and every point of
    at most 4,000 neurons is estimated under 6 GiB (4,000 x 5: 5.5 GiB); 8,000 x 5 (16.8 GiB)
    would be refused on a machine with less memory available."""
    monkeypatch.setattr(cortex.memory, "available_bytes", lambda: 20 * 10**9)
    runs = plan(path).runs
    assert runs
    for run in runs:
        spec = config.load(run.point.base, list(run.point.overrides))
        if spec.cortex.n_units <= 4000:
            assert _estimate(spec) < 6 * GIB, run.run_id
    assert all(r.backend == "spiking" for r in runs)
