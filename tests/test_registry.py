"""Every registry key builds the module it names, behaves as that module on known inputs, and trains."""
import pytest
import torch

from labcore.data.datasets import DATASETS
from labcore.spec.edit import override
from labcore.nets import build_mlp
from labcore.nets.registry import ACTIVATION_MODULES, INIT_FNS, NORM_MODULES
from labcore.nets.skips import SKIP_MODULES, Dense, NoSkip, Residual
from labcore.spec.choices import ACTIVATIONS, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.mlp import NetSpec, RunSpec, TrainSpec, DataSpec
from labcore.train.mlp import Trainer


def _forward_backward(net: NetSpec, in_dim=5, classes=3, batch=8):
    model = build_mlp(net, in_dim, classes, seed=0)
    x, y = torch.randn(batch, in_dim), torch.randint(0, classes, (batch,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    for p in model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    return model


# What each activation must compute on known inputs (an independent formula, not the module).
_X = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 2.0])
_EXPECTED = {
    "sigmoid": (torch.nn.Sigmoid, 1 / (1 + torch.exp(-_X))),
    "tanh": (torch.nn.Tanh, (torch.exp(_X) - torch.exp(-_X)) / (torch.exp(_X) + torch.exp(-_X))),
    "relu": (torch.nn.ReLU, torch.where(_X > 0, _X, torch.zeros_like(_X))),
    "leaky_relu": (torch.nn.LeakyReLU, torch.where(_X > 0, _X, 0.01 * _X)),
    "gelu": (torch.nn.GELU, 0.5 * _X * (1 + torch.erf(_X / 2 ** 0.5))),
    "elu": (torch.nn.ELU, torch.where(_X > 0, _X, torch.exp(_X) - 1)),
    "identity": (torch.nn.Identity, _X),
}


def test_every_activation_has_an_expectation():
    assert set(_EXPECTED) == set(ACTIVATIONS) == set(ACTIVATION_MODULES)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activations(activation):
    cls, expected = _EXPECTED[activation]
    module = ACTIVATION_MODULES[activation]()
    assert type(module) is cls
    torch.testing.assert_close(module(_X.clone()), expected, rtol=1e-5, atol=1e-6)
    model = _forward_backward(NetSpec.uniform(3, 6, activation))
    assert all(type(b.act) is cls for b in model.blocks)


@pytest.mark.parametrize("norm", list(NORMS))
def test_norms(norm):
    torch.manual_seed(0)
    x = torch.randn(16, 6) * 3 + 5
    module = NORM_MODULES[norm](6)
    out = module(x)
    if norm == "none":
        assert type(module) is torch.nn.Identity
        torch.testing.assert_close(out, x)
    elif norm == "batchnorm":  # every unit over the batch: mean 0, (biased) variance 1
        assert type(module) is torch.nn.BatchNorm1d
        torch.testing.assert_close(out.mean(0), torch.zeros(6), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.var(0, unbiased=False), torch.ones(6), atol=1e-3, rtol=0)
    else:  # layernorm: every example over its units
        assert type(module) is torch.nn.LayerNorm
        torch.testing.assert_close(out.mean(1), torch.zeros(16), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(16), atol=1e-3, rtol=0)
    model = _forward_backward(NetSpec.uniform(3, 6, "tanh", norm=norm))
    # No Identity in the step path: an absent norm is None (nets/mlp.py's contract).
    assert all((b.norm is None) if norm == "none" else (type(b.norm) is type(module)) for b in model.blocks)


@pytest.mark.parametrize("skip", list(SKIPS))
def test_skips(skip):
    model = _forward_backward(NetSpec.uniform(3, 6, "relu", skip=skip))
    widths = [b.linear.in_features for b in model.blocks]
    # dense concatenates: each layer sees the input and every earlier output
    assert widths == ([5, 11, 17] if skip == "dense" else [5, 6, 6])
    # An absent skip is None in the model (nets/mlp.py's contract); the registry's NoSkip says what it means.
    assert all((b.skip is None) if skip == "none" else
               (type(b.skip) is {"residual": Residual, "dense": Dense}[skip]) for b in model.blocks)
    # The combine itself, on known tensors.
    x, h = torch.ones(2, 6), torch.full((2, 6), 2.0)
    combine = model.blocks[1].skip or SKIP_MODULES[skip](6, 6)
    assert type(combine) is {"none": NoSkip, "residual": Residual, "dense": Dense}[skip]
    combined = combine(x, h)
    expected = {"none": h, "residual": x + h, "dense": torch.cat([x, h], 1)}[skip]
    torch.testing.assert_close(combined, expected)
    # residual with a width change gets a projection; same widths use the identity
    if skip == "residual":
        assert isinstance(model.blocks[0].skip.proj, torch.nn.Linear)
        assert model.blocks[1].skip.proj is None


@pytest.mark.parametrize("init", list(INITS))
def test_inits(init):
    if init == "zeros":  # zero weights: gradients are finite but only the head's bias moves
        model = build_mlp(NetSpec.uniform(2, 6, "relu", init=init), 5, 3)
        assert all(float(p.weight.detach().abs().sum()) == 0 for p in model.probe_points)
        return
    _forward_backward(NetSpec.uniform(3, 6, "relu", init=init, gain=1.5))


def test_init_scales_follow_their_formulas():
    w = torch.empty(400, 300)
    for scheme, std in [("he_normal", (2 / 300) ** 0.5), ("lecun_normal", (1 / 300) ** 0.5),
                        ("xavier_normal", (2 / 700) ** 0.5), ("he_uniform", (2 / 300) ** 0.5)]:
        torch.manual_seed(0)
        INIT_FNS[scheme](w, 2.0, 0.0)
        assert float(w.std()) == pytest.approx(2.0 * std, rel=0.03), scheme
    INIT_FNS["normal"](w, 2.0, 0.05)
    assert float(w.std()) == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_optimizers_train(optimizer):
    spec = RunSpec(NetSpec.uniform(2, 8, "tanh"),
                   TrainSpec(data=DataSpec("moons", n_samples=200), optimizer=optimizer, lr=0.01, steps=20,
                             flush_every=10, record_every=5, seed=0))
    trainer = Trainer(spec)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    chunk = trainer.steps()
    assert trainer.status == "finished" and len(chunk.step_loss) == 20
    assert all(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_datasets_train(dataset):
    spec = override(RunSpec(NetSpec.uniform(2, 8, "relu"), TrainSpec(steps=3)), dataset=dataset)
    trainer = Trainer(spec)
    trainer.steps()
    assert trainer.status == "finished"
    assert trainer.data.in_dim == DATASETS[dataset].in_dim(spec.train.data)
    assert int(trainer.data.y_train.max()) < trainer.data.n_classes
