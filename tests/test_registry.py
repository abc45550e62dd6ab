"""Every registry key builds, runs forward and backward, and gives finite gradients."""
import pytest
import torch

from labcore.datasets import DATASETS
from labcore.edit import override
from labcore.models import build_mlp
from labcore.registry import ACTIVATIONS, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec import NetSpec, RunSpec, TrainSpec, DataSpec
from labcore.train import Trainer


def _forward_backward(net: NetSpec, in_dim=5, classes=3, batch=8):
    model = build_mlp(net, in_dim, classes, seed=0)
    x, y = torch.randn(batch, in_dim), torch.randint(0, classes, (batch,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    for p in model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    return model


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activations(activation):
    _forward_backward(NetSpec.uniform(3, 6, activation))


@pytest.mark.parametrize("norm", list(NORMS))
def test_norms(norm):
    _forward_backward(NetSpec.uniform(3, 6, "tanh", norm=norm))


@pytest.mark.parametrize("skip", list(SKIPS))
def test_skips(skip):
    model = _forward_backward(NetSpec.uniform(3, 6, "relu", skip=skip))
    widths = [b.linear.in_features for b in model.blocks]
    # dense concatenates: each layer sees the input and every earlier output
    assert widths == ([5, 11, 17] if skip == "dense" else [5, 6, 6])
    # residual with a width change gets a projection; same widths use the identity
    if skip == "residual":
        assert isinstance(model.blocks[0].proj, torch.nn.Linear)
        assert isinstance(model.blocks[1].proj, torch.nn.Identity)


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
        INITS[scheme](w, 2.0, 0.0)
        assert float(w.std()) == pytest.approx(2.0 * std, rel=0.03), scheme
    INITS["normal"](w, 2.0, 0.05)
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
