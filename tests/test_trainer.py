"""The trainer: sync-free steps, stopping, divergence, determinism, chunking."""
import threading
import time

import numpy as np
import pytest
import torch

from labcore.train.device import ONE_THREAD_BELOW_MACS, cpu_threads_for, device_label, resolve_device, use_cpu_threads
from labcore.spec.edit import override
from labcore.presets import load_preset
from labcore.spec.mlp import RunSpec, SpecError
from labcore.train.syncs import SyncCounter
from labcore.train.mlp import Trainer


def small(**kw):
    return override(load_preset("relu-he").spec, depth=4, width=16, **kw)


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("extras", [{}, {"clip_norm": 1.0, "l1": 1e-4, "dropout": 0.1, "norm": "batchnorm"}])
def test_no_host_sync_inside_a_step(optimizer, extras):
    trainer = Trainer(small(optimizer=optimizer, record_every=2, steps=100, **extras))
    trainer.steps(2)  # first-call setup (optimizer state, probe grouping) is not a step's steady state
    with SyncCounter() as counter:
        for _ in range(12):  # recorded and unrecorded steps, an evaluation at step 50? not yet
            trainer._train_step()
    assert counter.count == 0, counter.calls


def test_sync_counter_does_count_item_calls():
    trainer = Trainer(small(steps=10))
    with SyncCounter() as counter:
        trainer._train_step()
        trainer.model.head.weight.sum().item()
        bool(trainer.model.head.weight.sum() > 0)
    assert counter.count == 2


def test_evaluation_and_flush_are_the_only_host_reads():
    trainer = Trainer(small(steps=40, flush_every=20, eval_every=10))
    with SyncCounter() as counter:
        chunk = trainer.steps()
    assert counter.count == 0  # even flushes copy with .cpu(), never .item()
    assert chunk.eval_steps.tolist() == [10, 20, 30, 40]
    assert np.isfinite(chunk.test_acc).all() and len(chunk.step_loss) == 40


def test_chunks_record_the_right_steps():
    trainer = Trainer(small(steps=25, record_every=5, flush_every=10))
    a = trainer.steps(12)
    b = trainer.steps()
    assert a.steps.tolist() == [1, 5, 10] and b.steps.tolist() == [15, 20, 25]
    assert a.all_steps.tolist() == list(range(1, 13)) and b.all_steps.tolist() == list(range(13, 26))
    assert trainer.status == "finished" and trainer.step == 25
    assert trainer.steps(5).steps.size == 0  # a finished run trains no more
    frame = a.to_frame()
    assert list(frame.columns[:3]) == ["step", "layer", "depth"] and len(frame) == 3 * len(trainer.layers)


def test_same_seed_same_run_and_other_seed_differs():
    runs = [Trainer(small(steps=30, seed=s)).steps() for s in (4, 4, 5)]
    np.testing.assert_array_equal(runs[0].layer, runs[1].layer)
    np.testing.assert_array_equal(runs[0].step_loss, runs[1].step_loss)
    assert not np.array_equal(runs[0].step_loss, runs[2].step_loss)


def test_stop_from_another_thread():
    trainer = Trainer(small(steps=1_000_000, flush_every=50))
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("chunk", trainer.steps()))
    worker.start()
    while trainer.step < 20:
        time.sleep(0.01)
    trainer.stop()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert trainer.status == "stopped" and 20 <= trainer.step < 1_000_000
    assert result["chunk"].all_steps[-1] == trainer.step  # what ran before the stop is kept


def test_divergence_ends_the_run_at_the_first_bad_step():
    trainer = Trainer(load_preset("exploding").spec)
    chunk = trainer.run()
    assert trainer.status == "diverged"
    bad = trainer.first_bad_step
    assert bad is not None and trainer.step == bad
    assert chunk.steps.max() <= bad and chunk.all_steps.max() == bad
    # The bad step is recorded as missing (NaN), never as a number; earlier steps are finite.
    # (The exploding preset's bad step can still have a finite, huge loss: then its gradients are not.)
    last_bad = np.isnan(chunk.step_loss[-1]) or (chunk.steps[-1] == bad and np.isnan(chunk.metric("grad_norm")[-1]).any())
    assert last_bad and np.isfinite(chunk.step_loss[:-1]).all()
    assert trainer.summary()["status"] == "diverged"


def test_a_nan_weight_mid_run_is_caught_at_the_next_step():
    trainer = Trainer(small(steps=200, flush_every=50, record_every=1))
    first = trainer.steps(10)
    with torch.no_grad():
        trainer.model.blocks[1].linear.weight[0, 0] = float("nan")
    rest = trainer.run()
    assert trainer.status == "diverged" and trainer.first_bad_step == 11
    assert np.isfinite(first.step_loss).all() and rest.all_steps.tolist() == [11]
    assert np.isnan(rest.metric("grad_norm")).all()  # recorded as missing
    assert not np.isinf(rest.layer).any()  # non-finite -> NaN, never inf


def test_device_resolution_and_labels():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(SpecError, match="no CUDA"):
            resolve_device("cuda")
    torch.set_num_threads(1)
    assert device_label(torch.device("cpu")) == "CPU (1 thread)"


def test_small_models_get_one_thread_from_their_runner():
    assert cpu_threads_for(ONE_THREAD_BELOW_MACS - 1) == 1
    assert cpu_threads_for(ONE_THREAD_BELOW_MACS * 10) >= 1
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        trainer = Trainer(small(steps=5))
        assert torch.get_num_threads() == 2  # the constructor leaves the process alone...
        assert trainer.cpu_threads == 1 and trainer.device_label == "CPU (1 thread)"  # ...it states its wish
        use_cpu_threads(trainer)  # what the job manager's worker and the CLI do
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_trainer_never_touches_the_global_rng():
    spec = small(steps=20, dropout=0.3)
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    trainer = Trainer(spec)
    trainer.steps(20)
    assert torch.equal(torch.rand(4), expected)


def _all_steps(trainer, chunk: int, between=lambda: None):
    """Train to the end in chunks of ``chunk`` steps; (step losses, grad norms) of every step."""
    losses, grads = [], []
    while not trainer.done:
        c = trainer.steps(chunk)
        losses.append(c.step_loss)
        grads.append(c.metric("grad_norm"))
        between()
    return np.concatenate(losses), np.concatenate(grads)


def test_trainers_with_dropout_stepping_alternately_match_each_run_alone():
    specs = [small(steps=60, dropout=0.3, record_every=1, seed=1), small(steps=60, dropout=0.5, record_every=1, seed=2)]
    alone = [_all_steps(Trainer(s), 60) for s in specs]
    a, b = (Trainer(s) for s in specs)
    out = {id(a): ([], []), id(b): ([], [])}
    while not (a.done and b.done):
        for tr, n in ((a, 7), (b, 11)):  # uneven chunks, with the global RNG used in between
            if not tr.done:
                c = tr.steps(n)
                out[id(tr)][0].append(c.step_loss)
                out[id(tr)][1].append(c.metric("grad_norm"))
                torch.rand(100)
    for tr, (loss, grad) in zip((a, b), alone):
        np.testing.assert_array_equal(np.concatenate(out[id(tr)][0]), loss)
        np.testing.assert_array_equal(np.concatenate(out[id(tr)][1]), grad)
    assert not np.array_equal(alone[0][0], _all_steps(Trainer(small(steps=60, record_every=1, seed=1)), 60)[0])
