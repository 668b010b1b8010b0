"""The rate (numpy) cortex, its readouts and its input encoding: what the shared suite
(test_backends.py) does not cover (sparse and dense W, padding inside a call, e-prop weights, the
first bad step of a divergence, block RLS, float32)."""
import copy

import numpy as np
import pytest
from pydantic import ValidationError

from cortex.base import NumericalError
from cortex.encoding import FeatureEncoder, one_hot
from cortex.rate import RATE_MODELS
from cortex.readout import DeltaReadout, ReadoutParams, RLSReadout

MODELS = sorted(RATE_MODELS)
N_SYM = 5


def make(model="reservoir", k=2, seeds=None, n_inputs=N_SYM, **overrides):
    params_cls, cortex_cls = RATE_MODELS[model]
    overrides.setdefault("n_units", 48)
    overrides.setdefault("block_steps", 16)
    cortex = cortex_cls(params_cls(**overrides), n_inputs=n_inputs, n_replicas=k, sample_units=8)
    cortex.reset(list(range(10, 10 + k)) if seeds is None else seeds)
    return cortex


def stream(k, t, seed=0):
    return np.random.default_rng(seed).integers(0, N_SYM, (k, t))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("density", [0.1, 1.0], ids=["sparse_w", "dense_w"])
def test_batched_replicas_equal_separate_runs(model, density):
    seeds, t = [3, 8, 21], 150
    x = stream(3, t)
    lengths = [t, t - 37, t]  # replica 1 ends early: trailing padding
    active = np.arange(t)[None] < np.array(lengths)[:, None]
    batched = make(model, k=3, seeds=seeds, density=density)
    first = batched.run_sequence(x, active)
    second = batched.run_sequence(x[:, ::-1].copy())
    for k, seed in enumerate(seeds):
        alone = make(model, k=1, seeds=[seed], density=density)
        a1 = alone.run_sequence(x[k:k + 1, :lengths[k]])
        a2 = alone.run_sequence(x[k:k + 1, ::-1].copy())
        np.testing.assert_allclose(first.probs[k, :lengths[k]], a1.probs[0], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(first.activity[k, :lengths[k]], a1.activity[0], rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(second.probs[k], a2.probs[0], rtol=1e-7, atol=1e-10)


def test_interior_padding_changes_nothing():
    x = stream(1, 200)
    active = np.ones((1, 205), bool)
    active[0, [20, 21, 23, 94, 155]] = False
    padded_x = np.full((1, 205), 4)  # junk symbols at padding steps
    padded_x[active] = x[0]
    plain = make(k=1).run_sequence(x)
    padded = make(k=1).run_sequence(padded_x, active)
    np.testing.assert_allclose(padded.probs[active][None], plain.probs, rtol=1e-7, atol=1e-10)
    # at a padding step the cortex repeats what it said at the last active step
    np.testing.assert_array_equal(padded.probs[0, 21], padded.probs[0, 19])
    np.testing.assert_array_equal(padded.activity[0, 94], padded.activity[0, 93])


@pytest.mark.parametrize("model", MODELS)
def test_plasticity_off_freezes_the_prediction(model):
    cortex = make(model)
    cortex.run_sequence(stream(2, 100))
    cortex.set_plasticity(False)
    probe = np.random.default_rng(1).standard_normal((2, 7, cortex.n_features))
    before = cortex.readout.predict(probe)
    weights = copy.deepcopy(getattr(cortex, "_W"))
    twin = copy.deepcopy(cortex)
    out = cortex.run_sequence(stream(2, 300, seed=2))
    np.testing.assert_array_equal(cortex.readout.predict(probe), before)
    np.testing.assert_array_equal(getattr(cortex, "_W"), weights)
    twin.set_plasticity(True)  # the same run while plastic does change what it predicts
    assert not np.allclose(twin.run_sequence(stream(2, 300, seed=2)).probs, out.probs)


DIVERGE = dict(activation="linear", spectral_radius=6.0, n_timescales=1, leak_min=1.0)


def _frozen(model, **settings):
    cortex = make(model, **settings)
    cortex.set_plasticity(False)
    return cortex


@pytest.mark.parametrize("model", MODELS)
def test_divergence_raises_at_the_first_bad_step(model):
    x = stream(2, 2000)
    with pytest.raises(NumericalError) as err:
        _frozen(model, **DIVERGE).run_sequence(x)
    step = err.value.step
    assert 0 < step < 2000 and err.value.where.startswith("state v")
    _frozen(model, **DIVERGE).run_sequence(x[:, :step])  # everything before that step is finite
    with pytest.raises(NumericalError) as again:
        _frozen(model, **DIVERGE).run_sequence(x[:, :step + 1])
    assert again.value.step == step


@pytest.mark.parametrize("model", MODELS)
def test_divergence_names_the_replica_and_the_quantity(model):
    """Replica 0 only pads (its state never moves), so only replica 1 diverges."""
    x = stream(2, 2000)
    active = np.ones(x.shape, bool)
    active[0] = False
    with pytest.raises(NumericalError) as err:
        _frozen(model, **DIVERGE).run_sequence(x, active)
    assert err.value.replicas == (1,)
    assert str(err.value) == f"non-finite value in state v (unit potentials) of replica 1 at step {err.value.step}"


@pytest.mark.parametrize("readout", [RLSReadout, DeltaReadout], ids=["rls", "delta"])
def test_a_readout_that_goes_non_finite_names_its_weights_and_the_replica(readout):
    features = np.ones((3, 6, 4))
    features[2, 3:] = np.nan
    targets = np.tile(np.eye(N_SYM)[[0, 1, 2, 3, 4, 0]], (3, 1, 1))
    with pytest.raises(NumericalError) as err:
        readout(3, 4, N_SYM, ReadoutParams()).learn(features, targets, np.ones((3, 6), bool))
    assert err.value.replicas == (2,) and "non-finite value in readout weights of replica 2 at step" in str(err.value)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("readout", ["rls", "delta"])
def test_divergence_while_learning_raises_instead_of_nan(model, readout):
    with pytest.raises(NumericalError) as err:
        make(model, **DIVERGE, readout={"kind": readout}).run_sequence(stream(2, 2000))
    assert 0 < err.value.step < 2000


def test_float32_runs_in_float32():
    out = make(dtype="float32").run_sequence(stream(2, 50))
    assert out.probs.dtype == np.float32
    np.testing.assert_allclose(out.probs.sum(-1), 1.0, atol=1e-5)


def test_params_reject_unknown_and_inconsistent_keys():
    params_cls = RATE_MODELS["reservoir"][0]
    with pytest.raises(ValidationError):
        params_cls(n_unit=10)
    with pytest.raises(ValidationError):
        params_cls(leak_min=0.5, leak_max=0.1)
    assert all(f.description for f in params_cls.model_fields.values())


@pytest.mark.parametrize("forget", [1.0, 0.95])
def test_block_rls_equals_sequential_rls(forget):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2, 24, 9)), rng.standard_normal((2, 24, 3))
    active = rng.random((2, 24)) < 0.8
    params = ReadoutParams(rls_forget=forget, rls_reg=0.3)
    block, rowwise = RLSReadout(2, 9, 3, params), RLSReadout(2, 9, 3, params)
    pred_block = block.learn(x, y, active)
    pred_rows = np.concatenate([rowwise.learn(x[:, j:j + 1], y[:, j:j + 1], active[:, j:j + 1]) for j in range(24)], 1)
    np.testing.assert_allclose(pred_block[active], pred_rows[active], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(block.predict(x), rowwise.predict(x), rtol=1e-9, atol=1e-12)


def test_delta_readout_outputs_distributions_and_learns():
    readout = DeltaReadout(1, 4, 3, ReadoutParams(kind="delta", delta_lr=0.5))
    x = one_hot(np.array([[0, 1, 2, 3] * 50]), 4)
    y = one_hot(np.array([[1, 2, 0, 1] * 50]), 3)
    for _ in range(5):
        readout.learn(x, y, np.ones((1, 200), bool))
    p = readout.distribution(readout.predict(x[:, :4]))
    np.testing.assert_allclose(p.sum(-1), 1.0)
    assert (p.argmax(-1) == [1, 2, 0, 1]).all()


def test_encoding():
    np.testing.assert_array_equal(one_hot(np.array([[2, 0]]), 3), [[[0, 0, 1], [1, 0, 0]]])
    with pytest.raises(ValueError):
        one_hot(np.array([3]), 3)
    enc = FeatureEncoder({"food": 2, "place": 3}, gains={"place": 0.5})
    v = enc({"food": np.array([1, -1]), "place": np.array([0, 2])})
    np.testing.assert_array_equal(v, [[0, 1, 0.5, 0, 0], [0, 0, 0, 0, 0.5]])
    with pytest.raises(ValueError):
        FeatureEncoder({"food": 2}, gains={"smell": 1.0})
