"""The lean MLP's contract (nets/mlp.py): a plain layer is two module calls, parts are plain
attributes that surgery can assign, an nn.Sequential of the same modules computes the same thing,
and the probe's flat weights fall back to stacking when something re-points a weight."""
import numpy as np
import torch
from torch import nn

from labcore.nets import build_mlp
from labcore.nets.skips import Residual
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
from labcore.train.mlp import Trainer


def _calls(model, x) -> list[str]:
    seen = []
    handle = nn.modules.module.register_module_forward_hook(lambda m, i, o: seen.append(type(m).__name__))
    try:
        model(x)
    finally:
        handle.remove()
    return seen


def test_a_plain_layer_is_linear_plus_activation():
    model = build_mlp(NetSpec.uniform(4, 8, "tanh"), 3, 2)
    calls = _calls(model, torch.randn(5, 3))
    assert calls == ["Linear", "Tanh"] * 4 + ["Linear", "MLP"]  # no Block, no Identity, no NoSkip
    b = model.blocks[0]
    assert b.norm is None and b.drop is None and b.skip is None
    assert len(model.probe_points) == 5 and model.probe_points[0].module is b.act


def test_sequential_of_the_same_modules_computes_the_same():
    model = build_mlp(NetSpec.uniform(3, 8, "relu", init="he_normal"), 3, 2, seed=1)
    seq = nn.Sequential(*[m for b in model.blocks for m in (b.linear, b.act)], model.head)
    x = torch.randn(7, 3)
    torch.testing.assert_close(model(x), seq(x), rtol=0, atol=0)


def test_surgery_by_assignment_takes_effect_on_the_next_forward():
    torch.manual_seed(0)
    model = build_mlp(NetSpec.uniform(3, 8, "relu"), 3, 2)
    x = torch.randn(6, 3)
    before = model(x)
    b = model.blocks[1]
    b.norm = nn.LayerNorm(8)
    h0 = model.blocks[0](x)
    h1 = b.act(b.norm(b.linear(h0)))
    expected = model.head(model.blocks[2](h1))
    torch.testing.assert_close(model(x), expected)
    assert "LayerNorm" in _calls(model, x)
    b.norm = None  # and back
    torch.testing.assert_close(model(x), before)
    b.skip = Residual(8, 8)
    h1 = h0 + b.act(b.linear(h0))
    torch.testing.assert_close(model(x), model.head(model.blocks[2](h1)))
    b.act = nn.Tanh()
    assert _calls(model, x).count("Tanh") == 1


def _spec(**kw):
    return RunSpec(NetSpec.uniform(4, 16, "tanh"), TrainSpec(data=DataSpec("moons", n_samples=200), batch_size=32,
                                                             steps=6, record_every=1, seed=2, **kw))


def test_the_probe_flattens_weights_and_falls_back_when_they_move():
    tr = Trainer(_spec())
    ws = [p.weight for p in tr.model.probe_points[:4]]  # the four 16x16 hidden... and h1 (16x2)
    same = [w for w in ws if w.shape == ws[1].shape]
    base = same[0].data_ptr()
    assert all(w.data_ptr() == base + k * w.numel() * w.element_size() for k, w in enumerate(same))
    c1 = tr.steps(2)
    with torch.no_grad():  # re-point one weight (what .to() or a checkpoint load could do)
        ws[2].data = ws[2].detach().clone()
    c2 = tr.steps(2)
    expected = torch.linalg.vector_norm(ws[2].detach()).item()
    for c in (c1, c2):
        assert np.isfinite(c.metric("grad_norm")).all() and np.isfinite(c.metric("update_ratio")).all()
    # the recorded ‖W‖ of step 4 is W_old of step 4; the weight now is after step 4's update
    w_old = c2.metric("weight_norm")[-1][2]
    upd = c2.metric("update_ratio")[-1][2]
    assert abs(expected - w_old) <= upd * w_old * 1.01 + 1e-6
