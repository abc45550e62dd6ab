"""The job manager: queue, controls, sinks, reaping of gone sessions, live metrics, snapshots."""
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from labcore.train.jobs import JobManager, LiveMetrics
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.core.sinks import MemorySink
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
from labcore.spec.size import SizeError
from tests.waiting import wait


def tiny(steps=30, **train) -> RunSpec:
    t = dict(steps=steps, flush_every=10, record_every=1, eval_every=10, device="cpu", batch_size=32)
    t.update(train)
    return RunSpec(NetSpec.uniform(3, 16, "tanh"), TrainSpec(DataSpec("moons", n_samples=200), **t))



@pytest.fixture
def manager():
    made = []

    def make(**kw):
        kw.setdefault("snapshot_fn", None)
        m = JobManager(**kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.shutdown()


class RecordingSink(MemorySink):
    def __init__(self):
        super().__init__()
        self.threads, self.calls = set(), []

    def start(self, spec, *, name, summary):
        self.threads.add(threading.current_thread().name)
        self.calls.append("start")
        super().start(spec, name=name, summary=summary)

    def append(self, chunk, summary):
        self.calls.append("append")
        super().append(chunk, summary)

    def finish(self, summary, error=None):
        self.calls.append("finish")
        super().finish(summary, error)


def test_runs_to_the_end_and_feeds_the_sink_from_the_worker(manager):
    sinks = []
    m = manager(sink_factory=lambda job: sinks.append(RecordingSink()) or sinks[-1])
    job = m.submit(tiny(), name="t1")
    wait(lambda: job.done)
    v = job.view()
    assert v.status == "finished" and v.steps == 30 and v.total_steps == 30
    assert list(v.metrics.steps) == list(range(1, 31))
    assert v.metrics.metric("grad_norm").shape == (30, 4)
    assert v.summary["wall_steps_per_second"] > 0
    s = sinks[0]
    assert s.calls[0] == "start" and s.calls[-1] == "finish" and "append" in s.calls
    assert s.name == "t1" and s.summary["status"] == "finished"
    assert s.metrics().all_steps.tolist() == list(range(1, 31))
    assert all(t.startswith("lab-worker") for t in s.threads)


def test_waiting_jobs_report_positions_and_a_paused_run_holds_no_worker(manager):
    gate = threading.Event()

    def sink(job):  # the first job's start blocks the only worker until the test opens the gate
        if job.name == "first":
            gate.wait(30)
        return None

    m = manager(max_workers=1, sink_factory=sink)
    first = m.submit(tiny(steps=10_000), paused=True, name="first")
    wait(lambda: first.view().position is None)  # it had its turn: the worker is in its start
    second, third = m.submit(tiny()), m.submit(tiny())
    assert (second.status, second.view().position) == ("queued", 1)
    assert third.view().position == 2 and m.queue_length() == 2
    gate.set()
    wait(lambda: second.done and third.done)  # the paused first run let them through
    assert second.view().position is None and second.status == "finished"
    assert first.status == "paused"
    first.stop()
    wait(lambda: first.done)
    assert first.status == "stopped"


def test_pause_step_resume(manager):
    m = manager()
    job = m.submit(tiny(steps=40), paused=True)
    wait(lambda: job.status == "paused")
    assert job.view().steps == 0
    job.step(5)
    wait(lambda: job.view().steps == 5 and job.status == "paused")
    job.step()  # one chunk = flush_every steps
    wait(lambda: job.view().steps == 15 and job.status == "paused")
    job.resume()
    wait(lambda: job.done)
    assert job.view().steps == 40 and job.status == "finished"


def test_stop_ends_a_long_run_and_tells_the_sink(manager):
    sink = RecordingSink()
    m = manager(sink_factory=lambda job: sink)
    job = m.submit(tiny(steps=1_000_000))
    wait(lambda: job.view().steps > 0)
    job.stop()
    wait(lambda: job.done)
    assert job.status == "stopped"
    assert sink.calls[-1] == "finish" and sink.summary["status"] == "stopped"


def test_a_bad_run_fails_with_a_message(manager):
    sink = RecordingSink()
    m = manager(sink_factory=lambda job: sink)
    bad = tiny()
    bad = replace(bad, train=replace(bad.train, device="mps"))  # valid, but this machine has no MPS
    job = m.submit(bad)
    wait(lambda: job.done)
    assert job.status == "failed" and "mps" in job.view().error
    assert sink.calls == ["start", "finish"] and sink.error


def test_an_oversized_run_is_refused_at_submit(manager):
    m = manager(sink_factory=lambda job: None)
    bad = tiny()
    bad = replace(bad, net=NetSpec.uniform(2, 16384), train=replace(bad.train, batch_size=65536))
    with pytest.raises(SizeError):
        m.submit(bad)
    assert m.jobs() == [] and m.queue_length() == 0


def test_a_failing_sink_does_not_end_the_run(manager):
    class Broken(MemorySink):
        def append(self, chunk, summary):
            raise OSError("disk full")

    m = manager(sink_factory=lambda job: Broken())
    job = m.submit(tiny())
    wait(lambda: job.done)
    assert job.status == "finished" and "disk full" in job.view().summary["sink_error"]


def test_jobs_of_a_silent_owner_are_stopped_and_forgotten(manager):
    m = manager(heartbeat_timeout=5.0, janitor=False)  # reap() is driven with the test's own clock
    job = m.submit(tiny(steps=1_000_000), owner="tab-1")
    keep = m.submit(tiny(steps=1_000_000), owner="tab-2")
    wait(lambda: job.view().steps > 0)
    m.heartbeat("tab-2")
    assert m.reap(now=time.monotonic() + 1.0) == []  # within the timeout: nothing happens
    later = time.monotonic() + 10.0
    m._beats["tab-2"] = later  # tab-2 keeps beating
    assert m.reap(now=later) == ["tab-1"]
    wait(lambda: job.done)
    assert job.status == "stopped" and m.get(job.id) is None
    assert m.get(keep.id) is keep and not keep.done
    keep.stop()


def test_owner_reported_gone_is_reaped_after_the_grace(manager):
    alive = {"tab": True}
    m = manager(owner_alive=lambda o: alive[o], gone_grace=2.0, janitor=False)
    job = m.submit(tiny(steps=1_000_000), paused=True, owner="tab")
    now = time.monotonic()
    assert m.reap(now) == []
    alive["tab"] = False
    assert m.reap(now + 0.5) == []  # a reconnect may still come
    assert m.reap(now + 3.0) == ["tab"]
    wait(lambda: job.done)


def test_twins_run_together_on_one_worker(manager):
    m = manager(max_workers=1)
    spec = RunSpec(NetSpec.uniform(3, 16, "relu", dropout=0.3), tiny().train)
    a, b = m.submit_group([spec, spec], names=["A", "B"])
    assert a.batch is b.batch
    wait(lambda: a.done and b.done)
    va, vb = a.view(), b.view()
    assert va.steps == vb.steps == 30
    # Interleaved chunk by chunk, each twin still draws its own dropout masks: identical twins
    # train identically.
    np.testing.assert_array_equal(va.metrics.step_loss, vb.metrics.step_loss)


def test_twins_interleaved_on_one_worker_train_exactly_as_alone(manager):
    """Two different runs with dropout, chunk by chunk on one worker, against each run alone."""
    from labcore.train.mlp import Trainer

    specs = [RunSpec(NetSpec.uniform(3, 16, "relu", dropout=0.3), tiny(seed=1).train),
             RunSpec(NetSpec.uniform(3, 16, "tanh", dropout=0.5), tiny(seed=2, batch_size=16).train)]
    m = manager(max_workers=1, chunk_seconds=0.0)  # the smallest chunks: the most interleaving
    jobs = m.submit_group(specs, names=["A", "B"])
    wait(lambda: all(j.done for j in jobs))
    for spec, job in zip(specs, jobs):
        alone = Trainer(spec).steps()
        got = job.view().metrics
        assert job.view().steps == 30
        np.testing.assert_array_equal(got.step_loss, alone.step_loss)
        np.testing.assert_array_equal(got.metric("grad_norm"), alone.metric("grad_norm"))


def test_snapshots_do_not_change_the_run(manager):
    spec = RunSpec(NetSpec.uniform(3, 16, "relu", norm="batchnorm", dropout=0.2),
                   tiny(steps=30).train)
    plain = manager(snapshot_fn=None).submit(spec)
    wait(lambda: plain.done)
    watched = manager(snapshot_fn="default", snapshot_seconds=0.0).submit(spec)
    wait(lambda: watched.done)
    a, b = plain.view().metrics, watched.view().metrics
    np.testing.assert_array_equal(a.step_loss, b.step_loss)
    np.testing.assert_array_equal(a.metric("grad_norm"), b.metric("grad_norm"))
    extras = watched.view().extras
    assert extras["boundary"]["cls"].shape == (48, 48)
    assert extras["hist"]["activation"]["counts"].sum() > 0


def test_refresh_snapshot_follows_the_chosen_layer(manager):
    m = manager(snapshot_fn="default")
    job = m.submit(tiny())
    wait(lambda: job.done)
    job.set_focus("h2")
    assert job.refresh_snapshot()
    assert job.view().extras["hist"]["layer"] == "h2"


def test_live_metrics_stay_bounded_and_keep_the_newest_step():
    layers = ["h1", "h2", "out"]
    live = LiveMetrics(layers, max_cells=len(LAYER_METRICS) * 3 * 256)
    step = 0
    for _ in range(40):
        n = 50
        steps = np.arange(step + 1, step + n + 1)
        step += n
        live.add(MetricsChunk(layers, steps, np.ones(n), np.ones(n),
                              np.ones((n, len(LAYER_METRICS), 3)), all_steps=steps, step_loss=np.ones(n)))
    c = live.chunk()
    assert len(c.steps) <= live.max_rows and c.steps[-1] == step
    assert np.all(np.diff(c.steps) > 0)
    assert len(c.all_steps) == step  # the every-step loss is kept whole
