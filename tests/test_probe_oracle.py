"""The probe's numbers against an independent plain-autograd computation on the same model and batch."""
import numpy as np
import pytest
import torch
from torch import nn

from labcore.data.tensors import BatchStream
from labcore.spec.edit import override
from labcore.nets import build_mlp
from labcore.spec.mlp import LayerSpec, NetSpec, RunSpec, TrainSpec, DataSpec, InitSpec
from labcore.train.mlp import Trainer

CASES = {
    "sigmoid-deep": NetSpec.uniform(12, 32, "sigmoid", init="xavier_normal"),
    "relu-he-batchnorm": NetSpec.uniform(6, 24, "relu", norm="batchnorm", init="he_normal"),
    "tanh-residual-layernorm": NetSpec.uniform(6, 16, "tanh", norm="layernorm", skip="residual"),
    "mixed-widths-dense": NetSpec((LayerSpec(8, "relu"), LayerSpec(12, "gelu", skip="residual"),
                                   LayerSpec(6, "leaky_relu", skip="dense"), LayerSpec(10, "elu", norm="batchnorm"),
                                   LayerSpec(10, "identity", skip="residual")), InitSpec("orthogonal", 1.2)),
}


def _reference(spec: RunSpec, trainer: Trainer, tweak=lambda model: None):
    """Gradients, backprop signals and activations of step 1, by plain autograd on a fresh copy."""
    model = build_mlp(spec.net, trainer.data.in_dim, trainer.data.n_classes, seed=spec.train.seed)
    tweak(model)
    model.train()
    idx = BatchStream(len(trainer.data.y_train), spec.train.batch_size, spec.train.seed, torch.device("cpu")).next()
    x, y = trainer.data.x_train[idx], trainer.data.y_train[idx]
    outs = []

    def keep(module, inputs, out):
        out.retain_grad()
        outs.append(out)

    handles = [p.module.register_forward_hook(keep) for p in model.probe_points]
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    for h in handles:
        h.remove()
    w0 = [p.weight.detach().clone() for p in model.probe_points]
    grads = np.array([p.weight.grad.double().norm().item() for p in model.probe_points])
    signals = np.array([o.grad.double().norm().item() for o in outs])
    acts = [o.detach().double().numpy() for o in outs]
    opt = torch.optim.Adam(model.parameters(), lr=spec.train.lr)
    opt.step()
    updates = np.array([(p.weight.detach() - w).double().norm().item() / w.double().norm().item()
                        for p, w in zip(model.probe_points, w0)])
    return loss.item(), grads, signals, acts, updates, model


@pytest.mark.parametrize("case", list(CASES))
def test_probe_matches_autograd(case):
    spec = RunSpec(CASES[case], TrainSpec(data=DataSpec("spirals", n_samples=400), optimizer="adam", lr=1e-2,
                                          batch_size=32, steps=5, seed=3, device="cpu"))
    trainer = Trainer(spec)
    chunk = trainer.steps(1)
    loss, grads, signals, acts, updates, ref_model = _reference(spec, trainer)

    assert chunk.steps.tolist() == [1]
    np.testing.assert_allclose(chunk.loss[0], loss, rtol=1e-6)
    np.testing.assert_allclose(chunk.metric("grad_norm")[0], grads, rtol=1e-5)
    np.testing.assert_allclose(chunk.metric("out_grad_norm")[0], signals, rtol=1e-5)
    np.testing.assert_allclose(chunk.metric("update_ratio")[0], updates, rtol=1e-4)
    np.testing.assert_allclose(chunk.metric("act_mean")[0], [a.mean() for a in acts], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(chunk.metric("act_std")[0], [a.std(ddof=1) for a in acts], rtol=1e-5)
    # The trainer's weights after its step equal the reference's after the same Adam step.
    for p, q in zip(trainer.model.probe_points, ref_model.probe_points):
        torch.testing.assert_close(p.weight, q.weight)


def test_saturation_and_dead_fractions_match_numpy():
    spec = RunSpec(NetSpec((LayerSpec(16, "sigmoid"), LayerSpec(16, "relu"), LayerSpec(16, "tanh")),
                           InitSpec("normal", 1.0, 3.0)),  # large weights: saturated units
                   TrainSpec(data=DataSpec("moons", n_samples=300), batch_size=40, steps=3, seed=1))

    def kill_five_units(model):  # a large negative bias keeps 5 ReLU units <= 0 on every example
        with torch.no_grad():
            model.blocks[1].linear.bias[:5] = -100.0

    trainer = Trainer(spec)
    kill_five_units(trainer.model)
    chunk = trainer.steps(1)
    _, _, _, acts, _, _ = _reference(spec, trainer, kill_five_units)
    sat, dead = chunk.metric("saturated")[0], chunk.metric("dead")[0]
    s, r, t = acts[0], acts[1], acts[2]
    assert sat[0] == pytest.approx(((s <= 0.01) | (s >= 0.99)).mean(), abs=1e-6)
    assert sat[2] == pytest.approx((np.abs(t) >= 0.98).mean(), abs=1e-6)
    assert dead[1] == pytest.approx((r <= 0).all(axis=0).mean(), abs=1e-6)
    assert 0 < sat[0] < 1 and 0 < sat[2] < 1 and 0 < dead[1] < 1  # the fixture exercises every count
    assert np.isnan(sat[1]) and np.isnan(dead[0]) and np.isnan(dead[2])  # not applicable -> missing
