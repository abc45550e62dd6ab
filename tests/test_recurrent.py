"""The recurrent family: its probe against plain autograd, no host syncs, the tasks, the CLI keys."""
import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import labcore.families  # noqa: F401  (registers the families)
from labcore.core.errors import SpecError
from labcore.data.sequences import SequenceTask
from labcore.spec import codec
from labcore.spec.recurrent import RecurrentSpec
from labcore.train.recurrent import RecurrentTrainer
from labcore.train.syncs import SyncCounter

from tests.conftest import ROOT


def _reference_signal(model_state, spec: RecurrentSpec, x, y, regression: bool):
    """‖∂L/∂h_t‖ of the top layer and std(h_t), by nn.*Cell unrolled by hand and torch.autograd.grad."""
    cells = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
    seq = x
    for k in range(spec.layers):
        in_dim = seq.shape[2]
        cell = cells[spec.cell](in_dim, spec.hidden)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(model_state[f"rnn.{name}_l{k}"])
        h = torch.zeros(x.shape[0], spec.hidden)
        c = torch.zeros_like(h)
        hs = []
        for t in range(x.shape[1]):
            if spec.cell == "lstm":
                h, c = cell(seq[:, t], (h, c))
            else:
                h = cell(seq[:, t], h)
            hs.append(h)
        seq = torch.stack(hs, dim=1)
    out = nn.functional.linear(hs[-1], model_state["head.weight"], model_state["head.bias"])
    loss = nn.functional.mse_loss(out.squeeze(1), y) if regression else nn.functional.cross_entropy(out, y)
    grads = torch.autograd.grad(loss, hs)
    return (np.array([g.norm().item() for g in grads]), np.array([h.detach().std().item() for h in hs]),
            loss.item())


@pytest.mark.parametrize("cell,layers,task", [("rnn", 1, "recall"), ("lstm", 2, "adding"), ("gru", 1, "parity"),
                                              ("lstm", 1, "recall")])
def test_through_time_signal_matches_plain_autograd(cell, layers, task):
    spec = RecurrentSpec(cell=cell, layers=layers, hidden=16, task=task, seq_len=24, batch_size=8, steps=5,
                         device="cpu", seed=3, init="orthogonal", forget_bias=1.5)
    trainer = RecurrentTrainer(spec)
    state = copy.deepcopy(trainer.model.state_dict())  # the weights step 1 sees
    x, y = SequenceTask(task, 24, spec.level, torch.device("cpu"), spec.seed).batch(8)  # step 1's batch
    signal, std, loss = _reference_signal(state, spec, x, y, trainer.regression)
    chunk = trainer.steps(1)
    assert chunk.layers == [f"t{i}" for i in range(1, 25)]
    np.testing.assert_allclose(chunk.metric("grad_norm")[0], signal, rtol=2e-4, atol=1e-12)
    np.testing.assert_allclose(chunk.metric("out_grad_norm")[0], signal, rtol=2e-4, atol=1e-12)
    np.testing.assert_allclose(chunk.metric("act_std")[0], std, rtol=2e-4, atol=1e-7)
    assert chunk.loss[0] == pytest.approx(loss, rel=1e-5)
    assert signal[0] != pytest.approx(signal[-1], rel=1e-2)  # a profile, not a constant
    if cell == "lstm":  # forget gate at init: sigmoid(forget_bias + W x + U h) averages near sigmoid(1.5)
        assert 0.6 < np.nanmean(chunk.metric("act_mean")[0]) < 0.95
    else:
        assert np.isnan(chunk.metric("act_mean")[0]).all() == (cell == "rnn")


def test_fused_and_unrolled_paths_agree():
    spec = RecurrentSpec(cell="gru", layers=3, hidden=12, seq_len=15, device="cpu")
    trainer = RecurrentTrainer(spec)
    x, _ = trainer.task.batch(5)
    out, hs, _ = trainer.model.unrolled(x)
    torch.testing.assert_close(out, trainer.model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_no_host_sync_inside_a_step(cell):
    trainer = RecurrentTrainer(RecurrentSpec(cell=cell, hidden=8, seq_len=12, batch_size=4, steps=100,
                                             record_every=2, clip_norm=1.0, device="cpu"))
    trainer.steps(2)
    with SyncCounter() as counter:
        for _ in range(6):  # recorded and unrecorded steps
            trainer._train_step()
    assert counter.count == 0, counter.calls


def test_tasks_put_the_answer_at_the_start():
    dev = torch.device("cpu")
    x, y = SequenceTask("recall", 30, 5, dev, 0).batch(64)
    assert x.shape == (64, 30, 5) and (x[:, 0].argmax(1) == y).all()
    x, y = SequenceTask("parity", 30, 3, dev, 0).batch(64)
    assert ((x[:, :3, 0] > 0).sum(1) % 2 == y).all()
    x, y = SequenceTask("adding", 50, 3, dev, 0).batch(64)
    marks = x[:, :, 1]
    assert (marks.sum(1) == 3).all() and (marks[:, 25:] == 0).all() and (marks[:, :5].sum(1) >= 1).all()
    torch.testing.assert_close((x[:, :, 0] * marks).sum(1), y)
    a, _ = SequenceTask("recall", 30, 5, dev, 7).batch(4)
    b, _ = SequenceTask("recall", 30, 5, dev, 7).batch(4)
    assert torch.equal(a, b)


def test_spec_round_trips_and_names_bad_fields():
    spec = RecurrentSpec(cell="gru", task="adding", seq_len=200, difficulty=3, clip_norm=1.0)
    for back in (codec.from_json(codec.to_json(spec)), codec.from_toml(codec.to_toml(spec)),
                 codec.from_url(codec.to_url(spec))):
        assert back == spec
    for bad, field in (({"seq_len": 5}, "seq_len"), ({"cell": "transformer"}, "cell"), ({"layers": 4}, "layers"),
                       ({"task": "recall", "difficulty": 99}, "difficulty"), ({"hiden": 3}, "hiden")):
        with pytest.raises(SpecError) as e:
            codec.from_dict({"kind": "rnn", **bad})
        assert e.value.field == field


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "labcore", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=240)


def test_cli_json_has_the_through_time_keys(tmp_path):
    out = tmp_path / "out.json"
    r = _cli("run", "--family", "rnn", "--cell", "lstm", "--task", "adding", "--seq-len", "100", "--steps", "40",
             "--hidden", "16", "--record-every", "10", "--json", str(out), "--no-store", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["status"] == "finished" and d["spec"]["kind"] == "rnn" and d["spec"]["cell"] == "lstm"
    g = np.array(d["grad_through_time"], dtype=float)
    assert g.shape == (len(d["grad_through_time_steps"]), 100) == (5, 100)  # steps 1, 10, 20, 30, 40
    assert d["grad_through_time_steps"] == [1, 10, 20, 30, 40] and np.isfinite(g).all() and (g > 0).all()
    assert len(d["loss"]) == 5 and 0 <= d["accuracy"] <= 1
    assert d["through_time_ratio"] == pytest.approx(np.median(g[:, 0] / g[:, -1]))
    bad = _cli("run", "--family", "rnn", "--seq-len", "5", "--no-store")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "seq_len" in bad.stderr
    stray = _cli("run", "--cell", "lstm", "--no-store")
    assert stray.returncode == 2 and "--cell" in stray.stderr


def test_a_recurrent_run_goes_through_the_real_run_store(tmp_path):
    """Jobs and store need no edit: the stored run keeps its spec and its through-time rows."""
    from labcore.core.sinks import train_into
    from labcore.store.db import RunStore

    spec = RecurrentSpec(cell="gru", hidden=8, seq_len=12, batch_size=4, steps=30, record_every=5, flush_every=10,
                         device="cpu")
    with RunStore(tmp_path / "runs.sqlite") as store:
        sink = store.sink(name="gru-12")
        trainer = RecurrentTrainer(spec)
        train_into(trainer, sink, name="gru-12")
        run_id = sink.run_id
        assert store.spec(run_id) == spec
        m = store.metrics(run_id)
    assert m.layers == [f"t{i}" for i in range(1, 13)] and m.steps.tolist() == [1, 5, 10, 15, 20, 25, 30]
    steps, rows = trainer.through_time_rows()
    np.testing.assert_allclose(m.metric("grad_norm"), rows, rtol=1e-6)
