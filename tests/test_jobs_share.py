"""A class on one machine: identical runs shared, finished ones handed back, time slices, gone tabs."""
import threading
import time

import numpy as np
import pytest

from labcore.core.sinks import MemorySink
from labcore.spec.events import SurgeryError
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
from labcore.train.jobs import JobManager
from labcore.train.share import run_key
from tests.waiting import wait


def spec(steps=30, seed=0, act="tanh", depth=3, **train) -> RunSpec:
    t = dict(steps=steps, flush_every=10, record_every=1, eval_every=10, device="cpu", batch_size=32, seed=seed)
    t.update(train)
    return RunSpec(NetSpec.uniform(depth, 16, act, dropout=0.2), TrainSpec(DataSpec("moons", n_samples=200), **t))



@pytest.fixture
def manager():
    made = []

    def make(**kw):
        kw.setdefault("snapshot_fn", None)
        kw.setdefault("janitor", False)
        m = JobManager(**kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.shutdown()


def same_metrics(a, b):
    np.testing.assert_array_equal(a.step_loss, b.step_loss)
    for name in ("grad_norm", "out_grad_norm", "act_std"):
        np.testing.assert_array_equal(a.metric(name), b.metric(name))


def test_same_spec_seed_and_device_train_identically(manager):
    """What sharing rests on: two separate runs of one spec give the very same metrics."""
    m = manager(max_workers=2, chunk_seconds=0.0)
    a, b = m.submit(spec(seed=3)), m.submit(spec(seed=3))
    other = m.submit(spec(seed=4))
    assert a is not b
    wait(lambda: a.done and b.done and other.done)
    same_metrics(a.view().metrics, b.view().metrics)
    assert not np.array_equal(a.view().metrics.step_loss, other.view().metrics.step_loss)
    assert run_key([spec(seed=3)]) == run_key([spec(seed=3)])
    assert run_key([spec(seed=3)]) != run_key([spec(seed=4)])
    assert run_key([spec()]) != run_key([spec(), spec()])


def test_two_submits_of_one_spec_share_one_job(manager):
    sinks = []
    m = manager(max_workers=1, sink_factory=lambda job: sinks.append(MemorySink()) or sinks[-1])
    a = m.submit_group([spec(steps=200)], owner="tab-1", share=True)
    b = m.submit_group([spec(steps=200)], owner="tab-2", share=True)
    assert a[0] is b[0] and a[0].watchers == ["tab-1", "tab-2"]
    assert m.jobs("tab-1") == m.jobs("tab-2") == a
    custom = m.submit_group([spec(steps=200, seed=1)], owner="tab-3", share=True)
    assert custom[0] is not a[0]  # another seed: another run
    wait(lambda: a[0].done and custom[0].done)
    assert len(sinks) == 2  # one store run for the two watchers
    assert a[0].view().steps == 200


def test_a_class_pressing_train_in_the_same_instant_gets_one_run(manager):
    """Submits racing each other (threads released together, a run-store lookup that takes a while
    and finds nothing) still make one batch: the lookup and the new batch share one lock."""
    lookups = []

    def slow_miss(specs):
        lookups.append(1)
        time.sleep(0.05)  # a store lookup in progress while the others press Train
        return None

    m = manager(max_workers=2, stored_runs=slow_miss)
    n = 16
    go, got = threading.Barrier(n), [None] * n

    def press(i):
        go.wait()
        got[i] = m.submit_group([spec(steps=40, seed=5)], owner=f"tab-{i}", share=True, reuse_done=True)[0]

    threads = [threading.Thread(target=press, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(j) for j in got}) == 1 and len(lookups) == 1
    job = got[0]
    assert sorted(job.watchers) == sorted(f"tab-{i}" for i in range(n))
    wait(lambda: job.done)
    assert job.view().steps == 40 and len(m.jobs()) == 1


def test_a_watcher_leaving_does_not_stop_the_others_run(manager):
    m = manager(max_workers=1)
    job = m.submit_group([spec(steps=1_000_000)], owner="tab-1", share=True)[0]
    assert m.submit_group([spec(steps=1_000_000)], owner="tab-2", share=True)[0] is job
    wait(lambda: job.view().steps > 0)
    m.forget(job.id, owner="tab-1")  # Train again or Reset in tab 1
    assert m.get(job.id) is job and not job._stop.is_set() and job.watchers == ["tab-2"]
    m.forget(job.id, owner="tab-2")  # the last watcher: the run stops
    wait(lambda: job.done)
    assert job.status == "stopped" and m.get(job.id) is None


def test_pausing_a_shared_run_gives_the_watcher_its_own_copy(manager):
    m = manager(max_workers=1)
    shared = m.submit_group([spec(steps=400)], owner="tab-1", share=True)
    assert m.submit_group([spec(steps=400)], owner="tab-2", share=True) == shared
    wait(lambda: shared[0].view().steps >= 20)
    with pytest.raises(SurgeryError, match="shared"):
        shared[0].apply({"set": {"skip": "residual"}})
    mine = m.private(shared, "tab-2")
    assert mine[0] is not shared[0] and mine[0].watchers == ["tab-2"] and shared[0].watchers == ["tab-1"]
    for j in mine:
        j.pause()
    wait(lambda: mine[0].status == "paused")
    at = mine[0].view().steps
    assert at >= 20  # replayed up to where the shared run was when tab 2 pressed Pause
    wait(lambda: shared[0].done)
    assert shared[0].view().steps == 400 and mine[0].view().steps == at  # tab 1's run went on alone
    mv, sv = mine[0].view().metrics, shared[0].view().metrics  # the same run, step for step
    np.testing.assert_array_equal(mv.step_loss, sv.step_loss[:at])
    np.testing.assert_array_equal(mv.metric("grad_norm"), sv.metric("grad_norm")[:at])
    mine[0].apply({"set": {"skip": "residual"}})  # its own copy takes live changes
    assert m.private(mine, "tab-2") == mine  # nobody else watches it: no new copy


def test_stop_on_a_shared_run_stops_only_the_watchers_copy(manager):
    m = manager(max_workers=1)
    shared = m.submit_group([spec(steps=1_000_000)], owner="tab-1", share=True)
    m.submit_group([spec(steps=1_000_000)], owner="tab-2", share=True)
    wait(lambda: shared[0].view().steps >= 10)
    mine = m.private(shared, "tab-2")
    for j in mine:
        j.stop()
    wait(lambda: mine[0].done)
    assert mine[0].status == "stopped" and mine[0].view().steps >= 10  # stopped where it was, not at 0
    assert not shared[0].done
    shared[0].stop()


def test_a_finished_preset_run_is_handed_back_without_training(manager):
    sinks = []
    m = manager(max_workers=1, sink_factory=lambda job: sinks.append(MemorySink()) or sinks[-1])
    first = m.submit_group([spec()], owner="tab-1", share=True, reuse_done=True)
    wait(lambda: first[0].done)
    again = m.submit_group([spec()], owner="tab-2", share=True, reuse_done=True)
    assert again == first and first[0].status == "finished" and len(sinks) == 1
    assert "tab-2" in first[0].watchers and m.jobs("tab-2") == first
    custom = m.submit_group([spec()], owner="tab-3", share=True)  # a custom run always trains
    assert custom[0] is not first[0]
    wait(lambda: custom[0].done)
    assert len(sinks) == 2


def test_different_runs_share_one_worker_in_turns(manager):
    """Time slices: with one worker, two long runs both progress before either ends."""
    m = manager(max_workers=1, chunk_seconds=0.01)
    a = m.submit_group([spec(steps=1_000_000, seed=1)], owner="tab-1", share=True)[0]
    b = m.submit_group([spec(steps=1_000_000, seed=2)], owner="tab-2", share=True)[0]
    wait(lambda: a.view().steps > 1 and b.view().steps > 1)
    seen_a = a.view().steps
    wait(lambda: a.view().steps > seen_a)  # a goes on although b never ends
    assert not a.done and not b.done
    a.stop(), b.stop()
    wait(lambda: a.done and b.done)


def test_twins_stay_in_lockstep_between_turns(manager):
    m = manager(max_workers=2, chunk_seconds=0.0)
    x = m.submit_group([spec(steps=300, seed=1), spec(steps=300, seed=2)])
    y = m.submit(spec(steps=300, seed=5))
    steps = []
    while not all(j.done for j in x):
        steps.append((x[0].view().steps, x[1].view().steps))
        time.sleep(0.002)
    wait(lambda: y.done)
    assert all(abs(sa - sb) <= 10 for sa, sb in steps)  # never more than a chunk apart
    assert x[0].view().steps == x[1].view().steps == 300


def test_a_closed_tab_leaves_the_worker_at_once_and_comes_back_on_reconnect(manager):
    alive = {"gone": True, "other": True}
    m = manager(max_workers=1, owner_alive=lambda o: alive[o], gone_grace=20.0)
    job = m.submit_group([spec(steps=1_000_000)], owner="gone", share=True)[0]
    wait(lambda: job.view().steps > 0)
    alive["gone"] = False
    now = time.monotonic()
    assert m.reap(now) == []  # within the grace: not dropped yet...
    wait(lambda: job.status == "paused")  # ...but off the worker at once
    frozen = job.view().steps
    other = m.submit(spec(steps=50), owner="other")
    wait(lambda: other.done)  # the only worker served the other tab meanwhile
    assert job.view().steps == frozen and not job.done
    alive["gone"] = True  # the websocket came back (same session)
    assert m.reap(now + 1.0) == []
    wait(lambda: job.view().steps > frozen)
    alive["gone"] = False
    assert m.reap(now + 2.0) == []
    assert m.reap(now + 30.0) == ["gone"]  # gone for good: stopped and forgotten
    wait(lambda: job.done)
    assert job.status == "stopped" and m.get(job.id) is None


def test_a_shared_run_goes_on_while_one_watcher_is_left(manager):
    alive = {"t1": True, "t2": True}
    m = manager(max_workers=1, owner_alive=lambda o: alive[o], gone_grace=0.0)
    job = m.submit_group([spec(steps=1_000_000)], owner="t1", share=True)[0]
    m.submit_group([spec(steps=1_000_000)], owner="t2", share=True)
    wait(lambda: job.view().steps > 0)
    alive["t1"] = False
    now = time.monotonic()
    m.reap(now)
    assert m.reap(now + 1.0) == ["t1"]
    assert job.watchers == ["t2"] and job.status == "running"
    seen = job.view().steps
    wait(lambda: job.view().steps > seen)
    job.stop()


def test_a_preset_run_already_in_the_run_store_is_served_from_it(manager, tmp_path, monkeypatch):
    """Across a server restart: a finished stored run of the same content, no training."""
    from ui import resources

    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    resources.reset_run_store(close=True)
    try:
        first = manager(max_workers=1, sink_factory=resources.store_sink)
        trained = first.submit_group([spec(steps=60)], owner="tab-1", share=True, reuse_done=True)[0]
        wait(lambda: trained.done)
        store = resources.run_store()
        wait(lambda: store.list_runs() and store.list_runs()[0]["status"] == "finished")

        def no_training(job):
            raise AssertionError("a run served from the store must not train")

        later = manager(max_workers=1, sink_factory=no_training, stored_runs=resources.stored_runs)
        served = later.submit_group([spec(steps=60)], owner="tab-2", share=True, reuse_done=True)[0]
        assert served.done and served.status == "finished"  # at once: no worker involved
        v, w = served.view(), trained.view()
        assert v.steps == 60 and v.summary["device"] == w.summary["device"]
        np.testing.assert_array_equal(v.metrics.step_loss, w.metrics.step_loss)
        np.testing.assert_allclose(v.metrics.metric("grad_norm"), w.metrics.metric("grad_norm"), rtol=1e-6)
        assert later.submit_group([spec(steps=60)], owner="tab-3", share=True, reuse_done=True)[0] is served
        other = later.submit_group([spec(steps=60, seed=9)], owner="tab-4", share=True, reuse_done=True)[0]
        wait(lambda: other.done)  # another seed is not in the store: it trains
        assert other.view().steps == 60 and "must not train" in other.view().summary["sink_error"]
    finally:
        resources.reset_run_store(close=True)


def test_at_most_max_active_runs_hold_a_model_the_next_waits_its_turn(manager):
    m = manager(max_workers=1, max_active=1, chunk_seconds=0.01)
    first = m.submit(spec(steps=1_000_000, seed=1), owner="t1")
    wait(lambda: first.view().steps > 0)
    second = m.submit(spec(steps=40, seed=2), owner="t2")
    seen = first.view().steps
    wait(lambda: first.view().steps > seen + 20)  # turns go on...
    assert second.status == "queued" and second.view().position == 1 and second.trainer is None  # ...not to it
    first.stop()
    wait(lambda: second.done)
    assert second.status == "finished"
