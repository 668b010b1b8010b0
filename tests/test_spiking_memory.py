"""Memory of the spiking cortex's open-loop path: nothing of the whole experiment's size in memory.

cpp_standalone runs the whole experiment as one simulation and replays its spikes block by block
(cortex/spiking/schedule.py). These tests check the shapes and attributes that keep memory at one
block: the spike file is read window by window (never mapped or loaded whole), the readout
features are built for one block at a time, a block's output holds no view of its counts of every
neuron, and a standalone cortex's state capture fails before it copies the readout's P.
"""
from __future__ import annotations

import numpy as np
import pytest

from cortex.base import capture_state
from cortex.spiking import features as feat
from cortex.spiking.standalone import SpikeFile


def _spike_file(directory, t_s: np.ndarray, i: np.ndarray) -> SpikeFile:
    directory.mkdir()
    np.asarray(i, np.int32).tofile(directory / "i")
    np.asarray(t_s, np.float64).tofile(directory / "t")
    return SpikeFile(directory, "i", "t")


def _arrays(obj) -> list[np.ndarray]:
    return [v for v in vars(obj).values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("stride", [1, 7, 1 << 16])
def test_spike_file_windows_match_a_search_of_the_whole_file_and_hold_only_its_index(tmp_path, monkeypatch, stride):
    monkeypatch.setattr(SpikeFile, "STRIDE", stride)
    rng = np.random.default_rng(0)
    t_s = np.sort(rng.integers(0, 3000, 5000)) * 1e-3  # on a 1 ms grid, many spikes per time
    i = rng.integers(0, 400, t_s.size)
    spikes = _spike_file(tmp_path / "run", t_s, i)
    assert len(spikes) == t_s.size and spikes.sorted
    assert all(a.size <= t_s.size // stride + 1 for a in _arrays(spikes))  # the index, not the spikes
    for t0, t1 in [(-10.5, 0.5), (0.5, 50.5), (999.5, 1000.5), (1234.5, 2999.5), (2999.5, 4000.5), (10.5, 10.5),
                   (5000.5, 6000.5)]:
        lo, hi = np.searchsorted(t_s, [t0 * 1e-3, t1 * 1e-3])
        got_i, got_t = spikes.between(t0, t1)
        np.testing.assert_array_equal(got_i, i[lo:hi])
        np.testing.assert_array_equal(got_t, t_s[lo:hi] * 1e3)
        assert got_i.dtype == np.int32 and not isinstance(got_i, np.memmap) and not isinstance(got_t, np.memmap)
    where = spikes.directory
    del spikes
    assert not where.exists()


def test_spike_file_out_of_order_is_put_in_order_once_and_an_empty_one_reads_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(SpikeFile, "STRIDE", 5)
    rng = np.random.default_rng(1)
    t_s = rng.integers(0, 100, 300) * 1e-3
    i = np.arange(t_s.size)
    spikes = _spike_file(tmp_path / "shuffled", t_s, i)
    assert not spikes.sorted
    order = np.argsort(t_s, kind="stable")
    got_i, got_t = spikes.between(20.5, 70.5)
    lo, hi = np.searchsorted(t_s[order], [20.5e-3, 70.5e-3])
    np.testing.assert_array_equal(got_i, i[order][lo:hi])
    np.testing.assert_array_equal(got_t, t_s[order][lo:hi] * 1e3)
    empty = _spike_file(tmp_path / "empty", np.zeros(0), np.zeros(0))
    assert len(empty) == 0 and all(len(a) == 0 for a in empty.between(0.0, 100.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_features_are_the_features_of_the_counts_and_their_filters(dtype):
    rng = np.random.default_rng(2)
    K, T, n = 2, 30, 11
    counts = rng.poisson(0.5, (K, T, n)).astype(np.float32)
    active = rng.random((K, T)) > 0.2
    ref_bank, bank = (feat.FilterBank(K, n, (100.0, 400.0), 50.0) for _ in range(2))
    ref_bank.state = rng.random(ref_bank.state.shape, np.float32)  # mid-run: filters not at rest
    bank.state = ref_bank.state.copy()
    expected = feat.features(counts, ref_bank.run(counts, active), out=np.empty((K, T, 3 * n + 1), dtype))
    got = feat.block_features(counts, active, bank, dtype)
    assert got.shape == (K, T, 3 * n + 1) and got.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(bank.state, ref_bank.state)
    np.testing.assert_array_equal(feat.block_features(counts, active, None, dtype), feat.features(counts, None).astype(dtype))


def test_bin_counts_count_each_replica_and_step():
    K, T, n_exc, n = 2, 4, 3, 5  # n - n_exc inhibitory neurons per replica are not counted
    replica, local = np.repeat(np.arange(K), n), np.tile(np.arange(n), K)
    i = np.array([0, 0, 2, 4, 5, 7, 9, 1])
    t_ms = np.array([100.0, 149.0, 150.0, 160.0, 100.0, 299.0, 120.0, 300.0])  # last one after the block
    counts = feat.bin_counts(i, t_ms, replica, local, K, T, n_exc, 100.0, 50.0, 1.0)
    expected = np.zeros((K, T, n_exc), np.float32)
    expected[0, 0, 0] = 2
    expected[0, 1, 2] = 1
    expected[1, 0, 0] = 1
    expected[1, 3, 2] = 1
    assert counts.dtype == np.float32
    np.testing.assert_array_equal(counts, expected)


class _Untouchable:
    """Stands in for the predictor: fails the test if the state walk reads it."""

    state_attrs = ("P",)

    @property
    def P(self):
        raise AssertionError("the state walk read the readout before finding that the state cannot be saved")


def test_a_standalone_cortex_refuses_its_state_before_copying_anything():
    from cortex.spiking.cortex import SpikingCortex
    from cortex.spiking.params import SpikingParams

    cortex = SpikingCortex(SpikingParams(n_units=40, target="cpp_standalone"), n_inputs=7, n_replicas=2, sample_units=8)
    cortex.reset([0, 1])
    cortex.predictor = _Untouchable()
    with pytest.raises(TypeError, match="cannot be saved"):
        capture_state(cortex)


@pytest.mark.brian2
def test_standalone_replay_builds_features_one_block_at_a_time(monkeypatch):
    """Blocks of different lengths: every feature array built holds exactly one block (K, T_b, F),
    the spike file holds only its index, and a block's activity owns its memory (a view would keep
    the block's counts of every neuron alive while the caller holds the output)."""
    from cortex.spiking.cortex import SpikingCortex
    from cortex.spiking.params import SpikingParams

    built, real = [], feat.block_features

    def spy(*args):
        built.append(real(*args))
        return built[-1]

    monkeypatch.setattr(feat, "block_features", spy)
    cortex = SpikingCortex(SpikingParams(n_units=40, target="cpp_standalone"), n_inputs=7, n_replicas=2, sample_units=8)
    cortex.reset([5, 6])
    rng = np.random.default_rng(3)
    blocks = [(rng.integers(0, 7, (2, T)), np.ones((2, T), bool)) for T in (30, 45, 20)]
    blocks[1][1][0, 40:] = False
    cortex.simulate_ahead([(True, blocks[:2]), (False, blocks[2:])])
    spikes = cortex._schedule.rec.spikes
    assert len(spikes) > 0 and all(a.size <= len(spikes) // spikes.STRIDE + 1 for a in _arrays(spikes))
    del spikes
    for inputs, active in blocks:
        out = cortex.run_sequence(inputs, active)
        assert built[-1].shape == (2, inputs.shape[1], cortex.n_features)
        assert out.activity.shape == (2, inputs.shape[1], 8) and out.activity.base is None
    assert len(built) == len(blocks)
