"""The voice gate: distractor strings in grammar streams, the subcortex's per-step plasticity
factor, the cortex's weighted learning, validation, and the behavioural point."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import experiments
from cortex.rate import EpropCortex, EpropParams, RateCortex, ReservoirParams
from cortex.readout import ReadoutParams, RLSReadout
from experiments.cli import main
from experiments.config import loads
from experiments.errors import InputError
from experiments.protocols.sequence import STREAM_SEED, _string_blocks
from experiments.worlds import WORLDS
from experiments.worlds.grammar_base import DISTRACTOR_STATE
from subcortex.params import VoiceGateParams
from subcortex.voice import VoiceGate, make_voice_gate

REPO = Path(__file__).resolve().parent.parent
VOICE_ER = REPO / "configs" / "universals" / "voice_embedded_reber.yaml"
BASE_ER = REPO / "configs" / "language" / "embedded_reber.yaml"
TINY = ["cortex.n_units=32", "phases.train.strings=40", "phases.test.strings=20"]


def grammar(kind: str, **params):
    cls = WORLDS[kind].cls
    return cls(cls.Params(**params))


def _metrics(run) -> dict:
    return json.loads((run.run_dir / "metrics.json").read_text())


# ---------------------------------------------------------------------------------- the stream


def test_without_distractors_each_block_is_sample_many_of_the_replica_stream():
    # a regression guard: with distractors 0 the blocks stay sample_many of each replica's
    # STREAM_SEED stream, the call the protocol made before distractors existed
    g = grammar("embedded_reber")
    seeds, phase = [3, 4], 1
    blocks = list(_string_blocks(g, seeds, phase, 300))
    for k, s in enumerate(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([s, STREAM_SEED, phase]))
        for parts, b in blocks:
            before = g.sample_many(rng, b)
            for name in ("symbols", "next_dist", "state", "alt", "string_id"):
                assert np.array_equal(getattr(parts[k], name), getattr(before, name))
            assert parts[k].voice.all()


def test_base_config_runs_identically_with_distractors_zero_and_no_gate(tmp_path):
    before = experiments.run(BASE_ER, TINY, out=tmp_path / "base", quiet=True, plots=False)
    again = experiments.run(BASE_ER, [*TINY, "world.distractors=0.0", "subcortex.voice_gate.enabled=false"],
                            out=tmp_path / "zero", quiet=True, plots=False)
    assert (before.run_dir / "metrics.json").read_bytes() == (again.run_dir / "metrics.json").read_bytes()
    with h5py.File(before.run_dir / "traces.h5") as a, h5py.File(again.run_dir / "traces.h5") as b:
        assert np.array_equal(a["train/input"][()], b["train/input"][()])
        assert np.array_equal(a["train/surprisal"][()], b["train/surprisal"][()], equal_nan=True)
        assert "voice" not in a["train"] and "voice" not in b["train"]


@pytest.mark.parametrize("kind", ["embedded_reber", "agreement", "dyck"])
def test_voice_marks_exactly_the_distractor_strings(kind):
    g = grammar(kind, distractors=0.5)
    stream = g.sample_mixed(np.random.default_rng(1), np.random.default_rng(2), 2000)
    end = g.end_symbol
    ids = stream.string_id
    assert (np.diff(ids) >= 0).all() and ids.max() == 1999
    per_string = np.bincount(ids, weights=stream.voice) / np.bincount(ids)
    assert set(np.unique(per_string)) <= {0.0, 1.0}  # a string is all one voice
    calls = per_string == 0
    assert abs(calls.mean() - 0.5) < 0.04
    other = ~stream.voice
    assert (stream.state[other] == DISTRACTOR_STATE).all() and (stream.state[~other] != DISTRACTOR_STATE).all()
    last = np.r_[ids[1:] != ids[:-1], True]
    assert (stream.symbols[last] == end).all()  # every string ends with the end symbol ...
    assert not (stream.symbols[other & ~last] == end).any()  # ... which a distractor's body never holds
    np.testing.assert_allclose(stream.next_dist.sum(1), 1.0)
    np.testing.assert_allclose(stream.next_dist[last], np.broadcast_to(g.boundary_dist(), (last.sum(), g.n_symbols)))
    # the grammar's own strings are what its stream alone draws
    own = g.sample_many(np.random.default_rng(1), int((~calls).sum()))
    assert np.array_equal(stream.symbols[stream.voice], own.symbols)
    # distractors as long as the grammar's strings on average
    lengths = np.bincount(ids)
    assert lengths[calls].mean() == pytest.approx(g.mean_length, rel=0.1)


def test_distractor_next_dist_is_their_own_distribution():
    g = grammar("reber", distractors=0.3)
    calls = g.sample_distractors(np.random.default_rng(5), 20_000)
    h = g.distractor_end_rate()
    body = np.r_[calls.string_id[1:] == calls.string_id[:-1], False]  # positions followed by their own string
    following = calls.symbols[1:][body[:-1]]
    assert (following == g.end_symbol).mean() == pytest.approx(h, abs=0.01)  # the end after a body symbol
    assert (calls.next_dist[body][:, g.end_symbol] == h).all()
    assert not calls.voice.any()


def test_traces_record_the_voice_of_mixed_phases_only(tmp_path):
    run = experiments.run(VOICE_ER, [*TINY, "replicas=2"], out=tmp_path / "run", quiet=True, plots=False)
    with h5py.File(run.run_dir / "traces.h5") as f:
        voice, state, inp = f["train/voice"][()], f["train/state"][()], f["train/input"][()]
        assert f["train/voice"].attrs["units"] == "1"
        assert "voice" not in f["test"]
    assert set(np.unique(voice)) <= {-1, 0, 1}
    assert np.array_equal(voice == 0, state == DISTRACTOR_STATE)
    assert np.array_equal(voice == -1, inp == -1)
    assert 0.3 < (voice == 0).sum() / (voice >= 0).sum() < 0.7
    metrics = _metrics(run)
    assert metrics["train"]["entropy_rate"] is None  # the grammar's rate is not the mixed stream's
    assert metrics["test"]["entropy_rate"] == pytest.approx(grammar("embedded_reber").entropy_rate())


# --------------------------------------------------------------------------------- the gate


def test_voice_gate_maps_voice_to_plasticity():
    gate = VoiceGate(VoiceGateParams(plasticity_conspecific=0.9, plasticity_other=0.25))
    voice = np.array([[True, False, True]])
    np.testing.assert_array_equal(gate.plasticity(voice), [[0.9, 0.25, 0.9]])
    spec = loads(VOICE_ER.read_text())
    assert make_voice_gate(spec.subcortex) is not None
    off = loads(VOICE_ER.read_text(), overrides=["subcortex.voice_gate.enabled=false"])
    assert make_voice_gate(off.subcortex) is None
    assert make_voice_gate(None) is None


# ---------------------------------------------------------------------- the cortex's learning


def _stream(k: int = 2, t: int = 300, seed: int = 0):
    g = grammar("embedded_reber")
    rngs = [np.random.default_rng(seed + i) for i in range(k)]
    parts = [g.sample_stream(r, t)[:t] for r in rngs]
    return np.stack([p.symbols for p in parts]), len(g.symbols)


def _rate(n_inputs: int, cls=RateCortex, params=None):
    cortex = cls(params or ReservoirParams(n_units=48, block_steps=16), n_inputs=n_inputs, n_replicas=2, sample_units=8)
    cortex.reset([11, 12])
    return cortex


@pytest.mark.parametrize("cls,params", [(RateCortex, ReservoirParams(n_units=48, block_steps=16)),
                                        (EpropCortex, EpropParams(n_units=48, block_steps=16))])
def test_plasticity_zero_changes_no_weight_but_the_state_moves(cls, params):
    x, n = _stream()
    cortex = _rate(n, cls, params)
    cortex.run_sequence(x[:, :100])  # learn something first, so the weights are not all zero
    w0, p0 = cortex.readout.weights.copy(), cortex.readout.P.copy()
    rec0, v0 = cortex._W.copy() if cortex._W is not None else None, cortex._v.copy()
    out = cortex.run_sequence(x[:, 100:], plasticity=np.zeros((2, 200)))
    assert np.array_equal(cortex.readout.weights, w0) and np.array_equal(cortex.readout.P, p0)
    if rec0 is not None:
        assert np.array_equal(cortex._W, rec0)
    assert not np.array_equal(cortex._v, v0)
    assert np.std(out.activity, axis=1).min() > 0  # the activity still follows the input
    # with weights frozen, the predictions are those of the frozen cortex
    frozen = _rate(n, cls, params)
    frozen.run_sequence(x[:, :100])
    frozen.set_plasticity(False)
    np.testing.assert_array_equal(frozen.run_sequence(x[:, 100:]).probs[:, 1:], out.probs[:, 1:])


def test_plasticity_one_is_the_ungated_run_bit_for_bit():
    x, n = _stream()
    active = np.ones(x.shape, bool)
    active[1, 250:] = False  # padding in one replica
    plain, gated = _rate(n), _rate(n)
    for s, e in ((0, 90), (90, 300)):  # two calls: the pending row crosses them
        a = plain.run_sequence(x[:, s:e], active[:, s:e])
        b = gated.run_sequence(x[:, s:e], active[:, s:e], plasticity=np.ones((2, e - s)))
        assert np.array_equal(a.probs, b.probs) and np.array_equal(a.activity, b.activity)
    assert np.array_equal(plain.readout.weights, gated.readout.weights)
    assert np.array_equal(plain.readout.P, gated.readout.P)


def _spy_on_learning(cortex, seen: list, as_mask: bool = False, scramble=None) -> None:
    """Wrap the cortex's readout.learn: record the row weights it is given; with ``as_mask``
    hand it the bool mask of the rows with weight > 0 instead; with ``scramble`` (a Generator)
    replace the targets of the rows with weight 0 by arbitrary values."""
    learn = cortex.readout.learn

    def spied(features, targets, active):
        active = np.asarray(active)
        seen.append(active.copy())
        if scramble is not None and active.dtype.kind == "f":
            noise = 100.0 * scramble.standard_normal(targets.shape)
            targets = np.where((active == 0)[..., None], noise, targets)
        return learn(features, targets, active > 0 if as_mask else active)

    cortex.readout.learn = spied


def test_a_mixed_zero_one_factor_learns_as_the_bool_mask_of_its_steps():
    x, n = _stream()
    factor = (np.random.default_rng(7).random(x.shape) < 0.6).astype(float)
    calls = ((0, 130), (130, 300))  # two calls: the pending row's pair crosses them
    runs = {}
    for name, kwargs in (("weighted", {}), ("mask", {"as_mask": True}),
                         ("scrambled", {"scramble": np.random.default_rng(8)})):
        cortex, seen = _rate(n), []
        assert cortex.dtype == np.float64
        _spy_on_learning(cortex, seen, **kwargs)
        probs = [cortex.run_sequence(x[:, s:e], plasticity=factor[:, s:e]).probs for s, e in calls]
        runs[name] = cortex, seen, np.concatenate(probs, axis=1)
    weighted, seen, probs = runs["weighted"]
    # the weighted RLS path ran, with 0 and 1 among one replica's rows of one block
    blocks = [w for w in seen if w.dtype.kind == "f" and w.shape[1] > 1]
    assert any(((w == 0).any(1) & (w == 1).any(1)).any() for w in blocks)
    mask = runs["mask"][0]
    given = runs["mask"][1]  # the mask run was given the same row weights, then learned with their mask
    assert len(given) == len(seen) and all(np.array_equal(a, b) for a, b in zip(given, seen))
    for name in ("weights", "P"):
        np.testing.assert_allclose(getattr(weighted.readout, name), getattr(mask.readout, name), rtol=1e-10, atol=1e-10)
    # the factor-0 steps' targets count for nothing: arbitrary ones leave the very same numbers
    scrambled, _, scrambled_probs = runs["scrambled"]
    assert np.array_equal(weighted.readout.weights, scrambled.readout.weights)
    assert np.array_equal(weighted.readout.P, scrambled.readout.P)
    assert np.array_equal(probs, scrambled_probs)
    # and the mask matters: learning from every step ends elsewhere
    every = _rate(n)
    for s, e in calls:
        every.run_sequence(x[:, s:e])
    assert np.abs(every.readout.weights - weighted.readout.weights).max() > 1e-3


def test_eprop_recurrent_change_grows_with_a_fractional_factor():
    x, n = _stream()
    change = {}
    for f in (0.0, 0.5, 1.0):
        cortex = _rate(n, EpropCortex, EpropParams(n_units=48, block_steps=16))
        w0 = cortex._W.copy()
        cortex.run_sequence(x, plasticity=np.full(x.shape, f))
        change[f] = np.linalg.norm(cortex._W - w0, axis=(1, 2))  # per replica
    assert (change[0.0] == 0).all()
    assert (0 < change[0.5]).all() and (change[0.5] < change[1.0]).all()


def test_fractional_plasticity_is_weighted_rls_in_one_block_as_row_by_row():
    rng = np.random.default_rng(0)
    k, b, f, n = 2, 40, 12, 3
    x, y = rng.standard_normal((k, b, f)), rng.standard_normal((k, b, n))
    w = rng.random((k, b))
    w[:, ::5] = 0.0
    for forget in (1.0, 0.95):
        params = ReadoutParams(rls_reg=0.5, rls_forget=forget)
        block, rows = RLSReadout(k, f, n, params), RLSReadout(k, f, n, params)
        prior = block.learn(x, y, w)
        expected = []
        for j in range(b):
            expected.append(rows.predict(x[:, j]))
            rows.learn(x[:, j:j + 1], y[:, j:j + 1], w[:, j:j + 1])
        np.testing.assert_allclose(prior, np.stack(expected, 1), atol=1e-12)
        np.testing.assert_allclose(block.weights, rows.weights, atol=1e-12)
    # without forgetting: the weighted ridge regression
    ridge = RLSReadout(k, f, n, ReadoutParams(rls_reg=0.5))
    ridge.learn(x, y, w)
    for r in range(k):
        a = x[r].T @ (w[r][:, None] * x[r]) + 0.5 * np.eye(f)
        np.testing.assert_allclose(ridge.weights[r], np.linalg.solve(a, x[r].T @ (w[r][:, None] * y[r])), atol=1e-12)


def test_ngram_counts_are_weighted():
    from cortex.baselines.ngram import NgramCortex
    from cortex.baselines.params import NgramParams

    x, n = _stream()
    ones, zero, plain = (NgramCortex(NgramParams(order=2), n, 2) for _ in range(3))
    for c in (ones, zero, plain):
        c.reset([0, 1])
    a = plain.run_sequence(x)
    b = ones.run_sequence(x, plasticity=np.ones(x.shape))
    assert np.array_equal(a.probs, b.probs)
    zero.run_sequence(x, plasticity=np.zeros(x.shape))
    assert all(not c.any() for c in zero.counts)


def test_a_model_without_step_plasticity_refuses_the_factor():
    pytest.importorskip("torch")
    from cortex.baselines.lstm import LstmCortex
    from cortex.baselines.params import LstmParams

    cortex = LstmCortex(LstmParams(n_units=4), 7, 1)
    cortex.reset([0])
    with pytest.raises(ValueError, match="per-step plasticity"):
        cortex.run_sequence(np.zeros((1, 5), np.int64), plasticity=np.ones((1, 5)))
    assert not cortex.step_plasticity and _rate(7).step_plasticity


# ------------------------------------------------------------------------------- validation


def test_voice_gate_on_a_closed_loop_world_names_the_key(tmp_path, capsys):
    path = REPO / "configs" / "steering" / "abstinence.yaml"
    assert main(["validate", str(path), "--set", "subcortex.voice_gate.enabled=true"]) == 2
    assert "abstinence.yaml: subcortex.voice_gate: only for sequence (grammar) worlds" in capsys.readouterr().err


@pytest.mark.parametrize("backend,model,units", [("baseline", "lstm", 16), ("spiking", "lif", 100)])
def test_voice_gate_on_an_unsupported_backend_exits_2_and_names_the_key(tmp_path, capsys, backend, model, units):
    out = tmp_path / "run"
    args = ["run", str(VOICE_ER), "--set", f"cortex.backend={backend}", "--set", f"cortex.model={model}",
            "--set", f"cortex.n_units={units}", "--out", str(out), "--quiet", "--no-plots"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"voice_embedded_reber.yaml: subcortex.voice_gate: not supported by cortex.backend {backend}, model {model}" in err
    assert not out.exists()
    # switched off, the same config is valid (the ungated arm)
    loads(VOICE_ER.read_text(), overrides=[f"cortex.backend={backend}", f"cortex.model={model}",
                                           f"cortex.n_units={units}", "subcortex.voice_gate.enabled=false"])


def test_distractors_need_an_end_symbol_and_stay_in_range():
    fsm = """\
world:
  kind: fsm
  start: A
  distractors: 0.5
  transitions:
    A: [{symbol: x, to: A}, {symbol: y, to: end}, {symbol: z, to: end}]
cortex: {backend: rate, model: reservoir, n_units: 16}
phases: [{name: train, strings: 5}]
"""
    with pytest.raises(InputError) as err:
        loads(fsm)
    assert "world.distractors: world.kind 'fsm' has no single end symbol" in str(err.value)
    with pytest.raises(InputError, match="world.distractors"):
        loads(VOICE_ER.read_text(), overrides=["world.distractors=0.95"])


def test_a_variant_inheriting_distractors_without_an_end_symbol_exits_2(tmp_path, capsys):
    # the variant changes the grammar only: the base's distractors come with it
    config = tmp_path / "forked.yaml"
    config.write_text("""\
world:
  kind: fsm
  start: A
  distractors: 0.5
  transitions:
    A: [{symbol: x, to: A}, {symbol: y, to: end}]
  variants:
    forked:
      transitions:
        A: [{symbol: x, to: A}, {symbol: y, to: end}, {symbol: z, to: end}]
cortex: {backend: rate, model: reservoir, n_units: 16}
phases:
  - {name: train, strings: 5}
  - {name: test, strings: 5, variant: forked}
""")
    assert main(["validate", str(config)]) == 2
    assert f"{config}: world.distractors: variant 'forked' inherits 0.5" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--no-plots"]) == 2
    assert "world.distractors: variant 'forked'" in capsys.readouterr().err
    assert not out.exists()
    # the variant's own value is reported at its own key; a 0 there makes the config valid
    with pytest.raises(InputError, match="world.variants.forked.distractors: world.kind 'fsm' has no single end"):
        loads(config.read_text(), overrides=["world.variants.forked.distractors=0.3"])
    loads(config.read_text(), overrides=["world.variants.forked.distractors=0.0"])


# ------------------------------------------------------------------------------- behaviour


def test_the_gated_learner_learns_the_clean_grammar_better(tmp_path):
    small = ["cortex.n_units=64", "phases.train.strings=300", "phases.test.strings=100", "recording.sample_units=4"]
    gated = _metrics(experiments.run(VOICE_ER, small, out=tmp_path / "on", quiet=True, plots=False))
    ungated = _metrics(experiments.run(VOICE_ER, [*small, "subcortex.voice_gate.enabled=false"],
                                       out=tmp_path / "off", quiet=True, plots=False))
    assert gated["test"]["kl_to_optimal"] < ungated["test"]["kl_to_optimal"]
