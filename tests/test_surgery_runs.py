"""Live surgery in runs: replay is bit-identical on the CPU, jobs queue changes for the next chunk
boundary, the store keeps (and exports) the events, charts mark them, and the skip lesson's claim
holds on five seeds."""
import json
import sqlite3
import time
from dataclasses import replace

import numpy as np
import pytest

from labcore.cli.runs import export_bytes
from labcore.figures import plots
from labcore.figures.events import event_steps, mark_events
from labcore.presets import load_preset
from labcore.spec import codec
from labcore.spec.edit import override
from labcore.spec.events import Change, Event, SurgeryError
from labcore.store import schema
from labcore.store.db import APPLICATION_ID, SCHEMA_V1, RunStore
from labcore.train.jobs import JobManager
from labcore.train.mlp import Trainer

LIVE = [(30, Change.of(skip="residual")), (55, Change.of(norm="batchnorm", layers=[2, 3])),
        (70, Change.of(lr=0.01, dropout=0.2, layers=[4])), (90, Change.of(optimizer="rmsprop")),
        (100, Change.of(frozen=True, layers=[1])), (110, Change.of(activation="tanh", layers=[5])),
        (120, Change.of(norm="none", layers=[3]))]


def small(steps=150, **kw):
    return override(load_preset("sigmoid-deep").spec, depth=5, width=16, batch_size=32, record_every=5,
                    flush_every=20, eval_every=50, steps=steps, device="cpu", **kw)


def assert_same_metrics(a, b):
    for f in ("steps", "loss", "acc", "all_steps", "step_loss", "eval_steps", "test_loss", "test_acc"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    np.testing.assert_array_equal(a.layer, b.layer)


def live_run(spec):
    """Train with the LIVE changes applied by hand at their steps, in uneven chunks."""
    tr = Trainer(spec)
    chunks = []
    for step, change in LIVE:
        while tr.step < step:
            chunks.append(tr.steps(min(7, step - tr.step)))
        tr.apply(change)
    chunks.append(tr.steps())
    return tr, type(chunks[0]).concat(chunks, tr.layers)


def test_replaying_the_events_gives_bit_identical_metrics():
    tr, live = live_run(small())
    spec = replace(small(), events=tuple(Event(s, c) for s, c in LIVE))
    replay = Trainer(codec.from_json(codec.to_json(spec)))  # through the spec file form
    again = replay.steps()
    assert_same_metrics(live, again)
    assert [e["label"] for e in tr.summary()["events"]] == [e["label"] for e in replay.summary()["events"]]
    assert tr.state == replay.state
    plain = Trainer(small()).steps()  # and the events did change the run
    assert not np.array_equal(plain.step_loss, live.step_loss)


# ----------------------------------------------------------------------------- jobs and the store
def wait(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def test_a_job_queues_changes_for_the_next_chunk_boundary_and_the_store_keeps_them(store):
    m = JobManager(sink_factory=lambda job: store.sink(), janitor=False)
    try:
        job = m.submit(small(steps=400), paused=True)
        job.step(20)
        wait(lambda: job.view().steps == 20 and job.status == "paused")
        diffs = job.apply({"set": {"skip": "residual"}})  # while paused: applied at once, no step taken
        assert diffs[0]["what"] == "skip"
        wait(lambda: job.view().events)
        v = job.view()
        assert v.events[0]["step"] == 20 and v.steps == 20 and v.status == "paused"
        job.apply({"set": {"norm": "batchnorm"}, "layers": [2]})
        with pytest.raises(SurgeryError, match="already has batchnorm"):  # checked against the queue too
            job.apply({"set": {"norm": "layernorm"}, "layers": [2]})
        with pytest.raises(SurgeryError, match="layer from 1 to 5"):
            job.apply({"set": {"lr": 0.01, "dropout": 0.1}, "layers": [6]})
        wait(lambda: len(job.view().events) == 2)
        job.resume()
        wait(lambda: job.view().steps >= 60)
        job.apply(Change.of(lr=0.01))  # while it trains
        wait(lambda: job.done)
        v = job.view()
        assert [e["label"] for e in v.events] == ["skip: none→residual", "norm: none→batchnorm", "lr: 0.003→0.01"]
        assert v.events[2]["step"] >= 60 and all(e["pause_ms"] >= 0 for e in v.events)
        assert v.events[0].get("sps_after", 0) > 0
        with pytest.raises(SurgeryError, match="has ended"):
            job.apply({"set": {"lr": 0.1}})
        store.writer().flush(30)
        rid = store.list_runs()[0]["id"]
        stored = store.events(rid)
        assert [e["label"] for e in stored] == [e["label"] for e in v.events]
        assert store.spec(rid, events=False) == small(steps=400)
        exported = codec.from_toml(export_bytes(store, rid, "toml").decode())  # the export carries the events
        assert codec.from_json(export_bytes(store, rid, "json")) == exported
        assert [(e.step, e.change) for e in exported.events] == [
            (20, Change.of(skip="residual")), (20, Change.of(norm="batchnorm", layers=[2])),
            (v.events[2]["step"], Change.of(lr=0.01))]
        replay = Trainer(exported).steps()  # and replays the stored run
        assert_same_metrics(store.metrics(rid), replay)
    finally:
        m.shutdown()


def test_a_job_of_another_family_or_not_started_refuses_changes():
    m = JobManager(janitor=False, max_workers=1)
    try:
        blocker = m.submit(small(steps=100_000))
        queued = m.submit(small())
        with pytest.raises(SurgeryError, match="not started"):
            queued.apply({"set": {"lr": 0.1}})
        blocker.stop()
    finally:
        m.shutdown()


def test_a_version_2_store_upgrades_and_old_runs_have_no_events(tmp_path):
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_V1)
    schema.UPGRADES[1](con)
    con.execute(f"PRAGMA application_id={APPLICATION_ID}")
    con.execute("PRAGMA user_version=2")
    spec = small()
    con.execute("INSERT INTO runs (name, created, spec, layers, status, steps) VALUES ('old', 1.0, ?, '[]', "
                "'finished', 3)", (json.dumps(codec.to_dict(spec)),))
    con.commit()
    con.close()
    with RunStore(path) as s:
        assert s.version() == 3 and s.events(1) == [] and s.spec(1) == spec and s.integrity() == "ok"


# ----------------------------------------------------------------------------- markers
def test_every_step_chart_gets_a_labelled_marker():
    tr, live = live_run(small())
    events = tr.summary()["events"]
    for spec in (plots.loss_curves([("a", live)], raw=True), plots.grad_heatmap(live, raw=True),
                 plots.update_ratio(live, raw=True)):
        axes = [k for k in spec["layout"] if k.startswith("xaxis")] or ["xaxis"]
        mark_events(spec, events)
        assert event_steps(spec) == [e["step"] + 0.5 for e in events for _ in axes]
        texts = [a["text"] for a in spec["layout"]["annotations"] if a.get("name", "").startswith("event:")]
        assert texts == [e["label"] for e in events]
    assert event_steps(mark_events(plots.grad_heatmap(live, raw=True), [])) == []


# ----------------------------------------------------------------------------- the skip lesson's claim
# The preset ships the event as [[events]] step = 200, set = {skip = "residual"}.
CLAIM = {"preset": "sigmoid-deep-then-residual", "event_step": 200, "window": 50, "min_rise": 1e3,
         "seeds": (0, 1, 2, 3, 4)}


def first_last(m, lo, hi):
    rows = (m.steps > lo) & (m.steps <= hi)
    g = m.metric("grad_norm")[rows]
    return float(np.median(g[:, 0] / g[:, -2]))  # first hidden / last hidden layer


@pytest.mark.parametrize("seed", CLAIM["seeds"])
def test_residual_skips_added_mid_run_revive_the_input_side(seed):
    """sigmoid-deep stalls (first/last ~1e-16); residual skips added at step 200 from the spec's
    [[events]] raise the first/last gradient ratio by >= 1e3 within 50 steps."""
    base = load_preset(CLAIM["preset"]).spec
    assert [(e.step, e.change.values) for e in base.events] == [(CLAIM["event_step"], {"skip": "residual"})]
    spec = replace(base, train=replace(base.train, seed=seed, device="cpu",
                                       steps=CLAIM["event_step"] + CLAIM["window"] + 1))
    m = Trainer(spec).steps()
    s, w = CLAIM["event_step"], CLAIM["window"]
    before, after = first_last(m, s - w, s), first_last(m, s, s + w)
    print(f"seed {seed}: first/last {before:.2e} -> {after:.2e} (x{after / before:.1e})")
    assert before < 1e-6  # stalled
    assert after / before >= CLAIM["min_rise"]
