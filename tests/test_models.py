"""Full models: builders, image data (torchvision stand-ins), augmentation, spec, trainer, CLI.

Everything is tiny (8x8 or 16x16 inputs, a handful of steps); nothing downloads.
"""
from __future__ import annotations

import json
import math
import pickle
import struct

import numpy as np
import pytest
import torch

from labcore.core.family import family_of
from labcore.train.syncs import SyncCounter
from torch import nn

from labcore.data.images import Augment, DatasetMissing, image_arrays, is_available, load_images
from labcore.train.image import ConvProbe, ImageTrainer
from labcore.spec.model import ModelRunSpec, from_dict, from_json
from labcore.nets.cifar_resnet import BasicBlock
from labcore.nets.zoo import MODELS, build_model, measure_model
from labcore.spec.mlp import SpecError


# ----------------------------------------------------------------------------- builders
@pytest.mark.parametrize("depth,expected", [(20, 0.27e6), (56, 0.85e6), (110, 1.7e6)])
def test_paper_parameter_counts(depth, expected):
    res = measure_model(f"resnet{depth}", (3, 32, 32), 10).params
    plain = measure_model(f"plain{depth}", (3, 32, 32), 10).params
    assert abs(res - expected) / expected < 0.02, res
    assert plain == res  # option A shortcuts have no parameters
    built = sum(p.numel() for p in build_model(f"resnet{depth}", (3, 32, 32), 10).parameters())
    assert built == res  # the meta-device count is the real one


def test_option_b_adds_projections_only_where_shapes_change():
    a = measure_model("resnet20", (3, 32, 32), 10, shortcut="A").params
    b = measure_model("resnet20", (3, 32, 32), 10, shortcut="B").params
    # two projections: 16->32 and 32->64 1x1 convs, each with a BN (2 params per channel)
    assert b - a == 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64


def _finite_backward(model, x):
    model.train()
    out = model(x)
    assert out.shape == (x.shape[0], 10)
    out.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("name", list(MODELS))
def test_every_builder_trains_on_tiny_images(name):
    torch.manual_seed(0)
    model = build_model(name, (3, 8, 8), 10)
    _finite_backward(model, torch.randn(2, 3, 8, 8))
    pts = model.probe_points
    n_layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    assert len(pts) == n_layers  # every conv and linear layer is probed
    assert pts[-1].hidden is False and all(p.hidden for p in pts[:-1])
    assert len({p.name for p in pts}) == len(pts)


@pytest.mark.parametrize("name", ["plain20", "resnet20", "resnet18", "vgg11_bn", "alexnet"])
def test_one_d_variants_for_mnist1d(name):
    model = build_model(name, (1, 40), 10)
    assert not any(isinstance(m, nn.Conv2d) for m in model.modules())
    _finite_backward(model, torch.randn(3, 1, 40))


@pytest.mark.parametrize("norm", ["none", "groupnorm"])
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_resnet_toggles(norm, shortcut):
    model = build_model("resnet20", (1, 8, 8), 10, norm=norm, shortcut=shortcut, init="xavier_normal",
                        zero_init_residual=True)
    _finite_backward(model, torch.randn(2, 1, 8, 8))


def test_zero_init_residual_makes_blocks_identity_at_init():
    model = build_model("resnet20", (1, 8, 8), 10, zero_init_residual=True)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert blocks and all(not b.c2.norm.weight.detach().any() for b in blocks)
    model.eval()
    x = torch.relu(torch.randn(2, 16, 8, 8))
    assert torch.allclose(blocks[0](x), x)  # relu(x + 0) == x for x >= 0


def test_builds_are_deterministic():
    a = build_model("resnet20", (1, 8, 8), 10, seed=3)
    b = build_model("resnet20", (1, 8, 8), 10, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# Fingerprints of the weights and of one forward pass, recorded with the builders as they were
# before the norm became a ``norm_layer`` callable (the string was passed down five levels):
# (model, input shape, norm, shortcut) -> (layout hash, sum, sum of squares, sum |output|).
WEIGHT_FINGERPRINTS = [
    ("resnet20", (1, 8, 8), "auto", "auto", "c2dafd489f77d0ba", 341.656352, 1744.814058, 4.757081),
    ("plain20", (1, 40), "groupnorm", "auto", "88ab3fa1e54725b0", 632.957211, 2082.896285, 13.31479),
    ("resnet18", (3, 8, 8), "none", "B", "5b1594a7734e1586", 10.988289, 5787.845455, 6.599429),
    ("vgg11_bn", (1, 8, 8), "auto", "auto", "8b8e9ad0cff5fba2", 2749.487201, 10324.009962, 0.164964),
    ("alexnet", (1, 40), "batchnorm", "auto", "bae23507da3ba359", 1097.225487, 7564.993921, 15.433061),
]


@pytest.mark.parametrize("name,shape,norm,shortcut,layout,total,squares,out", WEIGHT_FINGERPRINTS)
def test_same_seed_same_weights_as_before_the_norm_layer_refactor(name, shape, norm, shortcut, layout, total,
                                                                   squares, out):
    import hashlib

    m = build_model(name, shape, 10, norm=norm, shortcut=shortcut, init="he_normal", seed=7, zero_init_residual=True)
    names = str([(k, tuple(v.shape)) for k, v in m.state_dict().items()])
    assert hashlib.sha256(names.encode()).hexdigest()[:16] == layout  # same modules, same order
    ps = [p.detach().double() for p in m.parameters()]
    assert sum(float(p.sum()) for p in ps) == pytest.approx(total, rel=1e-6)
    assert sum(float((p * p).sum()) for p in ps) == pytest.approx(squares, rel=1e-6)
    m.eval()
    x = torch.linspace(-1, 1, 2 * torch.Size(shape).numel()).reshape(2, *shape)
    with torch.no_grad():
        assert float(m(x).double().abs().sum()) == pytest.approx(out, rel=1e-5)


def test_builders_take_a_norm_layer_callable_resolved_once():
    from labcore.nets.cifar_resnet import cifar_resnet
    from labcore.nets.layers import ConvUnit
    from labcore.nets.registry import NORM_MODULES, norm_layer_of

    made = []

    def counting(c):  # the torchvision pattern: norm_layer(channels) -> module
        made.append(c)
        return nn.BatchNorm2d(c)

    model = cifar_resnet(20, (1, 8, 8), 10, residual=True, norm_layer=counting)
    units = [m for m in model.modules() if isinstance(m, ConvUnit)]
    assert len(made) == len(units) == 19 and all(isinstance(u.norm, nn.BatchNorm2d) for u in units)
    assert all(u.conv.bias is None for u in units)  # a bias is redundant before a norm
    plain = build_model("vgg11", (1, 8, 8), 10)  # VGG's own default: no norm, so convs keep a bias
    units = [m for m in plain.modules() if isinstance(m, ConvUnit)]
    assert all(isinstance(u.norm, nn.Identity) and u.conv.bias is not None for u in units)
    # One vocabulary: a name means the same in the MLP (dims 0) and the conv nets (1-D, 2-D).
    assert NORM_MODULES["batchnorm"] is norm_layer_of("batchnorm", 0) is nn.BatchNorm1d
    assert norm_layer_of("batchnorm", 1) is nn.BatchNorm1d and norm_layer_of("batchnorm", 2) is nn.BatchNorm2d
    assert all(isinstance(norm_layer_of("none", d)(8), nn.Identity) for d in (0, 1, 2))
    assert isinstance(norm_layer_of("groupnorm", 2)(16), nn.GroupNorm) and norm_layer_of("groupnorm", 2)(16).num_groups == 8
    with pytest.raises(ValueError, match="unknown norm"):
        norm_layer_of("instancenorm", 2)


def test_conv_probe_module_is_the_norm_output():
    model = build_model("plain20", (1, 8, 8), 10)
    p = model.probe_points[1]
    assert isinstance(p.module, nn.BatchNorm2d)  # response after BN, before ReLU (Fig. 7)


def _dead_fraction(x):
    from labcore.nets.base import ProbePoint

    conv = nn.Conv2d(1, 4, 1, bias=False)
    norm = nn.Identity()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0]).view(4, 1, 1, 1))
    probe = ConvProbe([ProbePoint("c", conv.weight, norm, "relu")], 2, torch.device("cpu"))
    probe.arm()
    out = norm(conv(x))
    out.sum().backward()
    probe.after_backward(1, out.sum().detach(), torch.zeros(3, 10), torch.zeros(3, dtype=torch.long))
    probe.after_update()
    return probe.flush().metric("dead")[0, 0]


def test_conv_probe_counts_dead_channels_per_channel():
    x = torch.rand(3, 1, 5, 5) + 0.1  # positive inputs: the two channels with weight -1 never fire
    assert _dead_fraction(x) == pytest.approx(0.5)
    x[0, 0, 0, 0] = -1.0  # one pixel makes them fire once: alive as channels (a per-position
    assert _dead_fraction(x) == pytest.approx(0.0)  # count would still call 48 % of units dead)


# ----------------------------------------------------------------------------- data
def _write_cifar(root, n=12):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"batch_label": name, "labels": rng.integers(0, 10, n).tolist(),
                 "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "filenames": [f"img{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)], "num_cases_per_batch": n}, f)


def _write_idx(root, folder, n_train=20, n_test=8):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        img = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + img.tobytes())
        lab = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + lab.tobytes())
    return img, lab


def test_cifar10_from_pickle_batches(tmp_path):
    assert not is_available("cifar10", tmp_path)
    _write_cifar(tmp_path)
    assert is_available("cifar10", tmp_path)
    xtr, ytr, xte, yte = image_arrays("cifar10", root=tmp_path)
    assert xtr.shape == (60, 3, 32, 32) and xte.shape == (12, 3, 32, 32) and ytr.dtype == np.int64
    data = load_images("cifar10", torch.device("cpu"), root=tmp_path)
    assert data.shape == (3, 32, 32) and data.flip and data.pad == 4
    m = data.x_train.mean(dim=(0, 2, 3))
    assert torch.allclose(m, torch.zeros(3), atol=1e-4)  # channel-normalised


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_from_idx_files(tmp_path, name, folder):
    with pytest.raises(DatasetMissing, match="--download"):
        load_images(name, torch.device("cpu"), root=tmp_path)
    img, lab = _write_idx(tmp_path, folder)
    xtr, ytr, xte, yte = image_arrays(name, root=tmp_path)
    assert xtr.shape == (20, 1, 28, 28) and xte.shape == (8, 1, 28, 28)
    assert np.array_equal(xte[:, 0], img) and np.array_equal(yte, lab)


def test_missing_dataset_message_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetMissing) as e:
        image_arrays("cifar10", root=tmp_path)
    assert isinstance(e.value, SpecError)
    assert "--download" in str(e.value) and "Download" in str(e.value)


def test_digits_as_images_and_upsampled():
    d = load_images("digits", torch.device("cpu"))
    assert d.shape == (1, 8, 8) and len(d.y_train) == 1438 and len(d.y_test) == 359
    u = load_images("digits", torch.device("cpu"), upsample=16)
    assert u.shape == (1, 16, 16) and u.pad == 2


def test_augment_translates_and_flips_on_the_batch():
    x = torch.arange(2 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6) + 1
    out = Augment(2, False, 0, torch.device("cpu"))(x)
    assert out.shape == x.shape
    for b in range(2):  # each non-zero pixel comes from the same image (a translation)
        vals = out[b][out[b] > 0]
        assert set(vals.tolist()) <= set(x[b].flatten().tolist())
    flipped = Augment(0, True, 0, torch.device("cpu"))(x.repeat(32, 1, 1, 1))
    same = (flipped == x.repeat(32, 1, 1, 1)).flatten(1).all(1)
    mirrored = (flipped == x.repeat(32, 1, 1, 1).flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    sig = Augment(2, False, 0, torch.device("cpu"))(torch.ones(4, 1, 40))
    assert sig.shape == (4, 1, 40)


# ----------------------------------------------------------------------------- spec
def test_spec_defaults_are_the_papers_recipe_and_round_trip():
    s = ModelRunSpec(model="resnet56")
    assert (s.lr, s.momentum, s.weight_decay, s.batch_size) == (0.1, 0.9, 1e-4, 128)
    assert from_json(s.to_json()) == s and from_dict(s.to_dict()) == s
    sched = family_of(s).schedule(s)
    assert sched.total_steps == s.total_steps == s.epochs * (1438 // 128)
    assert (sched.record_every, sched.flush_every, sched.seed) == (s.record_every, s.flush_every, s.seed)


def test_lr_schedule_warmup_and_milestones():
    s = ModelRunSpec(epochs=4, batch_size=143, warmup_epochs=1.0)  # 10 steps per epoch, 40 in all
    assert s.lr_at(5) == pytest.approx(0.05)
    assert s.lr_at(20) == pytest.approx(0.1)
    assert s.lr_at(21) == pytest.approx(0.01) and s.lr_at(31) == pytest.approx(0.001)


@pytest.mark.parametrize("bad", [{"model": "resnet21"}, {"dataset": "imagenet"}, {"epochs": 0},
                                 {"milestones": (0.8, 0.5)}, {"norm": "layernorm"}, {"shortcut": "C"},
                                 {"upsample": 16, "dataset": "mnist1d"}, {"compile": "yes"}, {"lr": -1.0}])
def test_spec_rejects_bad_values(bad):
    with pytest.raises(SpecError):
        ModelRunSpec(**bad)
    # The dict form refuses the same bad value, naming its field (not an unrelated unknown key).
    with pytest.raises(SpecError) as e:
        from_dict({"kind": "model", **bad})
    assert e.value.field in bad


# ----------------------------------------------------------------------------- trainer
def _tiny(**kw):
    base = dict(model="resnet20", n_train=64, batch_size=32, epochs=2, record_every=2, flush_every=4,
                augment="crop", device="cpu")
    return ModelRunSpec(**{**base, **kw})


def test_trainer_step_loop_makes_no_host_sync():
    tr = ImageTrainer(_tiny(milestones=(0.5,), warmup_epochs=0.5))
    tr._train_step()  # warm-up outside the counter (first-call lazy init)
    with SyncCounter() as c:
        for _ in range(3):  # recorded and unrecorded steps, an epoch end with its evaluation
            tr._train_step()
    assert tr.step == 4 and tr._ep_pending
    assert c.count == 0
    with SyncCounter() as c:
        tr._ep_sum.sum().item()
    assert c.count == 1  # the counter does see a sync when there is one


def test_trainer_runs_and_reports_like_the_mlp_trainer():
    tr = ImageTrainer(_tiny(model="plain20"))
    chunks = []
    tr.run(on_chunk=chunks.append, chunk_steps=3)
    s = tr.summary()
    for key in ("status", "steps", "first_bad_step", "steps_per_second", "device", "params", "layers"):
        assert key in s
    assert s["status"] == "finished" and s["steps"] == 4 == tr.total_steps
    assert 0 <= s["top1"] <= s["top5"] <= 1
    assert [e["epoch"] for e in tr.epochs_log] == [1, 2]
    from labcore.core.metrics import MetricsChunk

    m = MetricsChunk.concat(chunks)
    assert list(m.all_steps) == [1, 2, 3, 4] and list(m.steps) == [1, 2, 4]
    assert list(m.eval_steps) == [2, 4] and np.isfinite(m.metric("act_std")).all()


def test_trainer_stop_and_divergence():
    tr = ImageTrainer(_tiny(epochs=3))
    tr.stop()
    tr.steps(2)
    assert tr.status == "stopped" and tr.step == 0
    bad = ImageTrainer(_tiny(model="vgg11", norm="none", lr=10.0, init="normal", gain=100.0, epochs=3))
    bad.run()
    assert bad.status == "diverged" and bad.first_bad_step is not None


def test_trainer_refuses_oversized_models():
    from labcore.spec.size import SizeBudget, SizeError

    with pytest.raises(SizeError, match="parameters"):
        ImageTrainer(_tiny(model="resnet34"), budget=SizeBudget(max_params=1_000_000))


# ----------------------------------------------------------------------------- CLI
def test_cli_model_run_json(tmp_path, capsys):
    from labcore.cli import main

    out = tmp_path / "r.json"
    code = main(["run", "--model", "resnet20", "--epochs", "1", "--n-train", "64", "--batch-size", "32",
                 "--device", "cpu", "--quiet", "--json", str(out)])
    assert code == 0
    r = json.loads(out.read_text())
    for key in ("status", "steps", "layers", "grad_norm", "loss", "test_acc", "params", "top1", "top5",
                "device", "steps_per_second", "first_last_ratio"):
        assert key in r
    assert r["status"] == "finished" and r["steps"] == 2 and r["params"] == 269_434
    assert len(r["loss"]) == len(r["recorded_steps"]) and r["layers"][-1] == "fc"
    assert "top-1" in capsys.readouterr().out


def test_cli_model_errors_are_clean(capsys):
    from labcore.cli import main

    assert main(["run", "--model", "resnet20", "--dataset", "cifar10", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--download" in err and "Traceback" not in err
    assert main(["run", "--model", "resnet20", "--epochs", "0"]) == 2
    assert "epochs" in capsys.readouterr().err


# ----------------------------------------------------------------------------- plots
def test_degradation_figures_from_runs():
    from labcore.figures import models as mp

    runs, hist, rows = [], [], []
    for name in ("plain20", "resnet20"):
        tr = ImageTrainer(_tiny(model=name, record_every=1))
        m = tr.run()
        runs.append((name, m))
        hist.append((name, tr.summary()["history"]))
        rows.append({"label": name, "model": name, "dataset": "digits", "top1": tr.top1, "top5": tr.top5})
    fig6 = mp.training_error(hist)
    assert len(fig6.data) == 4  # train (dashed) + test per run
    assert {tr.line.dash for tr in fig6.data} == {"dash", None}
    assert list(fig6.data[0].x) == [2.0, 4.0]  # one point per epoch, at its last step
    grads = mp.grad_profiles(runs)
    assert grads.layout.yaxis.type == "log" and len(grads.data[0].y) == 19  # hidden layers; head apart
    fig7 = mp.response_std(runs)
    assert len(fig7.data) == 4 and len(fig7.data[0].y) == 19
    assert list(fig7.data[1].y) == sorted(fig7.data[1].y, reverse=True)
    df = mp.topk_frame(rows)
    assert df.iloc[1]["paper's top-1 error (%)"] == 8.75 and np.isnan(df.iloc[0]["paper's top-1 error (%)"])
    assert "CIFAR-10" in df.iloc[1]["paper's data set"]
    assert "not ours" in mp.topk_table(rows).layout.annotations[0].text
    assert mp.PAPER_REFERENCE["alexnet"]["top1_err"] == 37.5 and mp.PAPER_REFERENCE["alexnet"]["top5_err"] == 17.0


def test_model_strings_complete_in_both_languages():
    import ui.strings_models as sm
    from ui.i18n import LANGUAGES

    for key, texts in sm.STRINGS.items():
        assert all(texts.get(lang) for lang in LANGUAGES), key
    from labcore.figures import models as mp

    assert {f"mplot.{k}" for k in mp.LABELS} <= set(sm.STRINGS)


def test_mnist1d_end_to_end_with_one_d_convs():
    tr = ImageTrainer(ModelRunSpec(model="resnet20", dataset="mnist1d", n_train=64, batch_size=32, epochs=1,
                                   record_every=1, device="cpu", augment="crop"))
    tr.run()
    assert tr.status == "finished" and tr.data.shape == (1, 40) and math.isfinite(tr.top1)
