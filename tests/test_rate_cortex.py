"""The rate (numpy) cortex, its readouts and its input encoding: behaviour a user relies on."""
import copy

import numpy as np
import pytest
from pydantic import ValidationError

from cortex.base import Cortex, Exchange, Modulators, NumericalError
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
@pytest.mark.parametrize("readout", ["rls", "delta"])
def test_learns_a_deterministic_cycle(model, readout):
    cortex = make(model, readout={"kind": readout, "delta_lr": 0.5})
    assert isinstance(cortex, Cortex)
    cycle = np.tile(np.array([0, 3, 1, 4, 2]), (2, 160))
    cortex.run_sequence(cycle[:, :700])
    cortex.set_plasticity(False)
    probs = cortex.run_sequence(cycle[:, 700:]).probs
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-9)
    accuracy = (probs[:, :-1].argmax(-1) == cycle[:, 701:]).mean()
    assert accuracy > 0.99


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
def test_fully_padded_call_changes_nothing(model):
    x = stream(2, 120)
    idle = make(model)
    idle.run_sequence(x[:, :60])
    idle.run_sequence(stream(2, 40, seed=5), np.zeros((2, 40), bool))
    busy = make(model)
    busy.run_sequence(x[:, :60])
    np.testing.assert_allclose(idle.run_sequence(x[:, 60:]).probs, busy.run_sequence(x[:, 60:]).probs, rtol=1e-9)


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


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_gives_identical_outputs(model):
    x = stream(2, 90)
    a, b = make(model).run_sequence(x), make(model).run_sequence(x)
    np.testing.assert_array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.activity, b.activity)
    c = make(model, seeds=[99, 98]).run_sequence(x)
    assert not np.allclose(a.probs, c.probs)


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


class _World:
    """A 3-state cycle driven through the closed loop; replica 1 finishes after 30 steps."""

    def __init__(self, k, plastic=True, n_signals=0):
        self.enc, self.k, self.plastic, self.outs = FeatureEncoder({"pos": 3}), k, plastic, []
        self.n_signals = n_signals

    def __call__(self, t, out):
        self.outs.append(out)
        mods = Modulators(dopamine=np.zeros(self.k), supervisory=np.zeros((self.k, self.n_signals)),
                          plastic=np.full(self.k, self.plastic))
        done = np.array([False, t >= 29])
        return Exchange(inputs=self.enc({"pos": np.full(self.k, (t + 1) % 3)}), modulators=mods,
                        action=np.full(self.k, -1), done=done)


@pytest.mark.parametrize("model", MODELS)
def test_closed_loop_predicts_and_freezes_finished_replicas(model):
    cortex = make(model, n_inputs=3)
    world = _World(2)
    cortex.run(300, world, first_inputs=world.enc({"pos": np.zeros(2, int)}))
    last = world.outs[-1]
    assert last.next_input.shape == (2, 3) and last.activity.shape == (2, 8)
    assert last.next_input[0].argmax() == 300 % 3  # learned the cycle
    np.testing.assert_array_equal(world.outs[100].activity[1], last.activity[1])  # frozen after done


def test_closed_loop_with_heads_emits_assessments_value_and_actions():
    params_cls, cortex_cls = RATE_MODELS["reservoir"]
    cortex = cortex_cls(params_cls(n_units=32, block_steps=8), n_inputs=3, n_replicas=2, sample_units=4,
                        signals=("sweet",), n_actions=4)
    cortex.reset([1, 2])
    world = _World(2, plastic=False, n_signals=1)
    cortex.run(20, world, first_inputs=world.enc({"pos": np.zeros(2, int)}))
    out = world.outs[-1]
    assert out.assessments.shape == (2, 1) and out.value.shape == (2,) and out.action_prefs.shape == (2, 4)


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
