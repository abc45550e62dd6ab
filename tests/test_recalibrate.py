"""BatchNorm evaluation uses recalibrated statistics: checked against an independent computation."""
import numpy as np
import torch

from labcore.presets import load_preset
from labcore.spec.edit import override
from labcore.train.mlp import Trainer
from labcore.train.recalibrate import batchnorms, recalibrate_batchnorm
from labcore.train.syncs import SyncCounter


def trained(steps=30):
    tr = Trainer(override(load_preset("batchnorm").spec, depth=6, steps=steps, device="cpu", lr=0.03, dropout=0.1))
    tr.chunk = tr.run()
    return tr


def test_running_statistics_become_the_training_sets_own():
    tr = trained()
    model, x = tr.model, tr.data.x_train
    bns = batchnorms(model)
    assert len(bns) == 6
    recalibrate_batchnorm(model, x)
    assert all(m.momentum == 0.1 and not m.training for m in bns) and not model.training
    # Independent: the forward pass written out in float64, block by block (Linear -> BN with the
    # whole training set's statistics -> sigmoid), the stored variance being the unbiased one.
    h = x.double()
    with torch.no_grad():
        for block in model.blocks:
            z = h @ block.linear.weight.double().T + block.linear.bias.double()
            mean, var = z.mean(0), z.var(0, unbiased=False)
            bn = block.norm
            np.testing.assert_allclose(bn.running_mean.double(), mean, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(bn.running_var.double(), z.var(0, unbiased=True), rtol=1e-4, atol=1e-6)
            h = torch.sigmoid((z - mean) / torch.sqrt(var + bn.eps) * bn.weight.double() + bn.bias.double())


def test_the_reported_test_accuracy_is_the_recalibrated_one():
    import copy

    tr = trained()
    model, d = tr.model, tr.data
    recal = copy.deepcopy(model)
    recalibrate_batchnorm(recal, d.x_train)
    with torch.no_grad():
        acc = (recal(d.x_test).argmax(1) == d.y_test).float().mean().item()
    assert tr.chunk.eval_steps[-1] == tr.spec.train.steps
    assert tr.chunk.test_acc[-1] == acc  # the trainer's last evaluation used the recalibrated statistics


def test_recalibration_makes_no_host_sync_and_leaves_models_without_bn_alone():
    tr = trained(steps=5)
    with SyncCounter() as counter:
        recalibrate_batchnorm(tr.model, tr.data.x_train)
    assert counter.count == 0
    plain = Trainer(override(load_preset("relu-he").spec, depth=3, steps=1, device="cpu")).model
    before = [p.clone() for p in plain.state_dict().values()]
    recalibrate_batchnorm(plain, torch.zeros(4, 2))
    assert all(torch.equal(a, b) for a, b in zip(before, plain.state_dict().values()))
