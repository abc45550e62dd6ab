"""The transformer family: its per-sublayer probe against plain autograd, no host syncs, spec, CLI keys."""
import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import labcore.families  # noqa: F401
from labcore.core.errors import SpecError
from labcore.data.sequences import TokenTask
from labcore.spec import codec
from labcore.spec.transformer import TransformerSpec
from labcore.train.syncs import SyncCounter
from labcore.train.transformer import TransformerTrainer, last_first_ratio

from tests.conftest import ROOT


def _reference(state: dict, spec: TransformerSpec, x, y):
    """Loss, per-sublayer ‖∇W‖, ‖∂L/∂stream‖ and stream RMS, by hand-written functional code."""
    p = {k: v.detach().clone().requires_grad_(True) for k, v in state.items()}
    d, h = spec.d_model, spec.heads
    s = p["tok.weight"][x] + p["pos"]
    streams = []

    def attn(z, i):
        b, n, _ = z.shape
        qkv = z @ p[f"blocks.{i}.attn.qkv.weight"].T + p[f"blocks.{i}.attn.qkv.bias"]
        q, k, v = (t.reshape(b, n, h, d // h).transpose(1, 2) for t in qkv.split(d, dim=2))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1) @ v
        return a.transpose(1, 2).reshape(b, n, d) @ p[f"blocks.{i}.attn.proj.weight"].T + p[f"blocks.{i}.attn.proj.bias"]

    def mlp(z, i):
        u = F.gelu(z @ p[f"blocks.{i}.mlp.fc1.weight"].T + p[f"blocks.{i}.mlp.fc1.bias"])
        return u @ p[f"blocks.{i}.mlp.fc2.weight"].T + p[f"blocks.{i}.mlp.fc2.bias"]

    def ln(z, name):
        return F.layer_norm(z, (d,), p[f"{name}.weight"], p[f"{name}.bias"])

    for i in range(spec.layers):
        for sub, name in ((attn, f"blocks.{i}.ln1"), (mlp, f"blocks.{i}.ln2")):
            s = s + sub(ln(s, name), i) if spec.ln == "pre" else ln(s + sub(s, i), name)
            streams.append(s)
    if spec.ln == "pre":
        s = ln(s, "ln_f")
    logits = s @ p["head.weight"].T + p["head.bias"]
    streams.append(logits)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
    sgrads = torch.autograd.grad(loss, streams, retain_graph=True)
    loss.backward()
    wg = []
    for i in range(spec.layers):
        for names in (("attn.qkv", "attn.proj"), ("mlp.fc1", "mlp.fc2")):
            wg.append(math.sqrt(sum(p[f"blocks.{i}.{n}.weight"].grad.norm().item() ** 2 for n in names)))
    wg.append(p["head.weight"].grad.norm().item())
    return (loss.item(), np.array(wg), np.array([g.norm().item() for g in sgrads]),
            np.array([t.detach().square().mean().sqrt().item() for t in streams]))


@pytest.mark.parametrize("ln", ["post", "pre"])
def test_per_sublayer_norms_match_plain_autograd(ln):
    spec = TransformerSpec(layers=3, d_model=32, heads=4, ln=ln, seq_len=8, vocab=10, batch_size=6, steps=3,
                           device="cpu", seed=2)
    trainer = TransformerTrainer(spec)
    state = copy.deepcopy(trainer.model.state_dict())
    x, y = TokenTask("sort", 8, 10, torch.device("cpu"), 2).batch(6)  # step 1's batch
    loss, wg, sg, rms = _reference(state, spec, x, y)
    chunk = trainer.steps(1)
    assert chunk.layers == ["1.attn", "1.mlp", "2.attn", "2.mlp", "3.attn", "3.mlp", "head"]
    assert chunk.loss[0] == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(chunk.metric("grad_norm")[0], wg, rtol=1e-4)
    np.testing.assert_allclose(chunk.metric("out_grad_norm")[0], sg, rtol=1e-4)
    np.testing.assert_allclose(chunk.metric("act_std")[0], rms, rtol=1e-4)
    if ln == "post":  # a LayerNorm output has RMS 1 (up to its epsilon)
        np.testing.assert_allclose(chunk.metric("act_std")[0][:-1], 1.0, rtol=1e-3)
    assert np.isfinite(chunk.metric("update_ratio")[0]).all() and (chunk.metric("update_ratio")[0] > 0).all()
    assert last_first_ratio(chunk) == pytest.approx(math.hypot(*wg[-3:-1]) / math.hypot(*wg[:2]), rel=1e-4)


def test_no_host_sync_inside_a_step():
    trainer = TransformerTrainer(TransformerSpec(layers=2, d_model=32, seq_len=8, batch_size=4, steps=50,
                                                 record_every=2, warmup_steps=10, clip_norm=1.0, device="cpu"))
    trainer.steps(2)
    with SyncCounter() as counter:
        for _ in range(6):
            trainer._train_step()
    assert counter.count == 0, counter.calls


def test_spec_round_trips_and_warmup_is_linear():
    spec = TransformerSpec(ln="pre", layers=12, d_model=128, heads=8, warmup_steps=100)
    for back in (codec.from_json(codec.to_json(spec)), codec.from_url(codec.to_url(spec))):
        assert back == spec
    assert spec.lr_at(50) == pytest.approx(spec.lr / 2) and spec.lr_at(100) == spec.lr == spec.lr_at(5000)
    for bad, field in (({"layers": 1}, "layers"), ({"d_model": 64, "heads": 5}, "heads"), ({"ln": "mid"}, "ln")):
        with pytest.raises(SpecError) as e:
            codec.from_dict({"kind": "transformer", **bad})
        assert e.value.field == field


def test_cli_transformer_json_has_per_layer_grad_norm(tmp_path):
    out = tmp_path / "t.json"
    r = subprocess.run([sys.executable, "-m", "labcore", "run", "--family", "transformer", "--ln", "pre",
                        "--layers", "2", "--d-model", "32", "--seq-len", "8", "--steps", "20", "--record-every", "5",
                        "--json", str(out), "--no-store", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["status"] == "finished" and d["spec"]["kind"] == "transformer" and d["spec"]["ln"] == "pre"
    g = np.array(d["grad_norm"], dtype=float)
    assert d["layers"] == ["1.attn", "1.mlp", "2.attn", "2.mlp", "head"] and g.shape == (5, 5) and (g > 0).all()
    assert 0 <= d["accuracy"] <= 1 and len(d["loss"]) == 5
    bad = subprocess.run([sys.executable, "-m", "labcore", "run", "--family", "transformer", "--cell", "lstm",
                          "--no-store"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--cell" in bad.stderr
