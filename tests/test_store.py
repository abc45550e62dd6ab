"""The run store on real SQLite files in temp folders: round trips, recovery, bad files, upgrades."""
import json
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labcore.store.blobs import pack_chunk, unpack_chunk
from labcore.spec.edit import override
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.presets import load_preset
from labcore.spec.mlp import RunSpec
from labcore.core.sinks import train_into
from labcore.store.db import (SCHEMA_V1, APPLICATION_ID, SCHEMA_VERSION, RunStore, StoreError,
                           default_path, layer_frame, move_aside)
from labcore.train.mlp import Trainer


def tiny(**kw) -> RunSpec:
    return override(load_preset("relu-he").spec, **{"depth": 3, "steps": 30, "device": "cpu", **kw})


def record(store: RunStore, spec: RunSpec, name: str = "r", finish: bool = True):
    """Train ``spec`` through a store sink, like the CLI and the job runner do."""
    tr = Trainer(spec)
    sink = store.sink(name=name)
    chunks = train_into(tr, sink, name=name, finish=finish)
    assert sink.error is None
    return sink.run_id, MetricsChunk.concat(chunks, tr.layers), tr


def fake_chunk(steps, layers=4, seed=0):
    rng = np.random.default_rng(seed)
    r = len(steps)
    layer = rng.lognormal(size=(r, len(LAYER_METRICS), layers))
    layer[0, 0, 0] = np.nan
    return MetricsChunk([f"h{i}" for i in range(layers)], np.asarray(steps, np.int64),
                        rng.random(r), rng.random(r), layer, np.asarray(steps[-1:], np.int64),
                        np.array([0.5]), np.array([0.75]), np.asarray(steps, np.int64), rng.random(r))


def pack_v1(chunk: MetricsChunk) -> bytes:
    """A chunk in the older GFC1 (zlib, unshuffled) blob format, as version-1 stores hold."""
    import struct
    import zlib

    from labcore.store.blobs import FIELDS, _narrow
    arrays = [_narrow(np.ascontiguousarray(getattr(chunk, f))) for f in FIELDS]
    head = json.dumps([[f, a.dtype.str, list(a.shape)] for f, a in zip(FIELDS, arrays)]).encode()
    return b"GFC1" + zlib.compress(struct.pack("<I", len(head)) + head + b"".join(a.tobytes() for a in arrays))


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def test_default_location_is_lab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / "runs.sqlite"
    with RunStore() as s:
        assert s.path == tmp_path / "home" / "runs.sqlite" and s.path.exists()
        assert s.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.version() == SCHEMA_VERSION


def test_blob_round_trip_is_exact_and_pickle_free():
    c = fake_chunk([1, 5, 10])
    back = unpack_chunk(pack_chunk(c), c.layers)
    for f in ("steps", "loss", "acc", "layer", "eval_steps", "test_loss", "test_acc", "all_steps", "step_loss"):
        np.testing.assert_array_equal(getattr(back, f), getattr(c, f))
    with pytest.raises(ValueError):
        unpack_chunk(b"\x80\x04pickle", c.layers)
    with pytest.raises(ValueError):
        unpack_chunk(pack_chunk(c), c.layers[:2])  # wrong layer count
    with pytest.raises(ValueError):
        unpack_chunk(pack_chunk(c)[:-7], c.layers)  # truncated
    old = unpack_chunk(pack_v1(c), c.layers)  # the older format still reads
    np.testing.assert_array_equal(old.layer, c.layer)


def test_damaged_metrics_blob_is_a_store_error(store):
    rid = store.create_run(tiny(), name="x", summary={"layers": [f"h{i}" for i in range(4)]})
    store.append(rid, fake_chunk([1, 2]), {"status": "ready", "steps": 2})
    store.con.execute("UPDATE chunks SET data=? WHERE run_id=?", (b"GFC2garbage", rid))
    with pytest.raises(StoreError) as e:
        store.metrics(rid)
    assert e.value.kind == "corrupt" and f"run {rid}" in str(e.value)


def test_training_run_is_recorded_as_it_trains(store):
    spec = tiny(steps=120)
    tr = Trainer(spec)
    sink = store.sink(name="live")
    sink.start(spec, name="ignored", summary=tr.summary())
    sink.append(tr.steps(50), tr.summary())
    assert sink.flush(30)  # the writer thread has committed it
    mid = store.get(sink.run_id)
    assert mid["status"] == "running" and mid["steps"] == 50 and mid["name"] == "live"
    assert len(store.metrics(sink.run_id).all_steps) == 50  # readable before the run ends
    while not tr.done:
        sink.append(tr.steps(50), tr.summary())
    sink.finish(tr.summary())
    info = store.get(sink.run_id)
    assert info["status"] == "finished" and info["steps"] == 120
    assert info["device"].startswith("CPU") and info["params"] == tr.params
    assert info["final_loss"] is not None and 0 <= info["final_test_acc"] <= 1
    assert store.spec(sink.run_id) == spec


def test_metrics_round_trip_and_frames(store):
    spec = tiny(steps=60)
    rid, mem, _ = record(store, spec)
    m = store.metrics(rid)
    np.testing.assert_array_equal(m.steps, mem.steps)
    np.testing.assert_array_equal(m.layer, mem.layer)  # float32 probe values kept exactly
    np.testing.assert_array_equal(m.step_loss, mem.step_loss)
    np.testing.assert_array_equal(m.eval_steps, mem.eval_steps)
    fast, ref = store.layer_frame(rid), mem.to_frame()
    assert list(fast.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(fast.assign(layer=fast.layer.astype(ref.layer.dtype)), ref)
    ex = store.export_frame(rid)
    assert {"run_id", "step", "layer", "grad_norm", "loss", "acc", "test_loss", "test_acc"} <= set(ex.columns)
    assert len(ex) == len(mem.steps) * len(mem.layers)


def test_diverged_run_keeps_status_and_first_bad_step(store):
    import torch

    spec = tiny(steps=60, record_every=1, flush_every=10)
    tr, sink = Trainer(spec), store.sink(name="boom")
    sink.start(spec, name="boom", summary=tr.summary())
    sink.append(tr.steps(10), tr.summary())
    with torch.no_grad():  # a NaN weight: step 11 is the first bad step, deterministically
        tr.model.blocks[1].linear.weight[0, 0] = float("nan")
    while not tr.done:
        sink.append(tr.steps(10), tr.summary())
    sink.finish(tr.summary())
    assert sink.error is None and (tr.status, tr.first_bad_step) == ("diverged", 11)
    info = store.get(sink.run_id)
    assert info["status"] == "diverged" and info["first_bad_step"] == 11 and info["steps"] == 11
    m = store.metrics(sink.run_id)
    assert m.all_steps.max() == 11 and np.isnan(m.step_loss[-1]) and np.isfinite(m.step_loss[:-1]).all()


def test_failed_and_stopped_statuses(store):
    spec = tiny()
    sink = store.sink(name="f")
    sink.start(spec, name="f", summary={"status": "ready", "steps": 0, "device": "cpu", "params": 1, "layers": []})
    sink.finish({"status": "running", "steps": 3}, "RuntimeError: boom")
    assert store.get(sink.run_id)["status"] == "failed" and "boom" in store.get(sink.run_id)["error"]
    sink2 = store.sink()
    sink2.start(spec, name="p", summary={"layers": []})
    sink2.finish({"status": "ready", "steps": 10})  # job cancelled while paused
    assert store.get(sink2.run_id)["status"] == "stopped"


def test_store_errors_never_stop_training(store):
    spec = tiny(steps=100)
    tr, sink = Trainer(spec), store.sink(name="doomed")
    sink.start(spec, name="doomed", summary=tr.summary())
    store.delete(sink.run_id)  # the row vanishes under the sink: its chunk inserts now fail
    while not tr.done:
        sink.append(tr.steps(50), tr.summary())
    sink.finish(tr.summary())
    assert tr.status == "finished" and tr.step == 100
    assert isinstance(sink.error, sqlite3.IntegrityError)
    assert store.list_runs() == [] and store.integrity() == "ok"


@pytest.mark.parametrize("background", [True, False])
def test_foreground_and_background_sinks_store_the_same(store, background):
    spec = tiny(steps=60)
    tr, sink = Trainer(spec), store.sink(name="x", background=background)
    sink.start(spec, name="x", summary=tr.summary())
    chunks = []
    while not tr.done:
        chunks.append(tr.steps(20))
        sink.append(chunks[-1], tr.summary())
    sink.finish(tr.summary())
    assert sink.error is None and store.get(sink.run_id)["status"] == "finished"
    np.testing.assert_array_equal(store.metrics(sink.run_id).layer, MetricsChunk.concat(chunks).layer)


def test_rename_tag_trash_restore_delete(store):
    rid, _, _ = record(store, tiny())
    store.rename(rid, "  baseline ")
    store.set_tags(rid, ["relu", " he ", "relu", ""])
    info = store.get(rid)
    assert info["name"] == "baseline" and info["tags"] == ["he", "relu"]
    store.trash(rid)
    assert store.list_runs() == [] and len(store.list_runs(include_trashed=True)) == 1
    store.restore(rid)
    assert [r["id"] for r in store.list_runs()] == [rid]
    store.trash(rid)
    assert store.purge_trash(older_than_s=3600) == 0  # recent: still undoable
    assert store.purge_trash() == 1
    assert store.con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 0  # cascade
    with pytest.raises(KeyError):
        store.get(rid)
    with pytest.raises(KeyError):
        store.delete(rid)


def test_abandoned_run_in_this_process_reads_interrupted(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as s:
        spec = tiny(steps=200)
        tr, sink = Trainer(spec), s.sink()
        sink.start(spec, name="abandoned", summary=tr.summary())
        sink.append(tr.steps(60), tr.summary())
        rid = sink.run_id
        assert s.recover() == []  # its sink is still active in this process
        from labcore.store import schema as store_mod
        store_mod.ACTIVE.discard((str(path.resolve()), rid))  # the job died without finish()
    with RunStore(path) as s:
        info = s.get(rid)
        assert info["status"] == "interrupted" and info["steps"] == 60
        assert len(s.metrics(rid).all_steps) == 60 and s.integrity() == "ok"


def test_dead_owner_pid_reads_interrupted(tmp_path):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # a pid that existed and is gone
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as s:
        rid = s.create_run(tiny(), name="x", summary={"layers": ["h1", "out"]})
        s.con.execute("UPDATE runs SET owner_pid=?, owner_start='' WHERE id=?", (p.pid, rid))
    with RunStore(path) as s:
        assert s.get(rid)["status"] == "interrupted"


def test_threads_write_concurrently(store):
    errors = []

    def work(i):
        try:
            rid = store.create_run(tiny(), name=f"t{i}", summary={"layers": [f"h{j}" for j in range(4)]})
            for k in range(5):
                store.append(rid, fake_chunk([10 * k + 1, 10 * k + 5], seed=k), {"status": "ready", "steps": 10 * k + 5})
            store.finish(rid, {"status": "finished", "steps": 50})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = store.list_runs()
    assert len(runs) == 4 and all(r["status"] == "finished" for r in runs)
    assert all(len(store.metrics(r["id"])) == 10 for r in runs)
    assert store.integrity() == "ok"


def test_not_sqlite_file_is_refused_and_preserved(tmp_path):
    path = tmp_path / "runs.sqlite"
    junk = b"this is my thesis, not a database\n" * 100
    path.write_bytes(junk)
    with pytest.raises(StoreError) as e:
        RunStore(path)
    assert e.value.kind == "corrupt" and "move it aside" in str(e.value)
    assert path.read_bytes() == junk
    moved = move_aside(path)
    assert moved.read_bytes() == junk and not path.exists()
    with RunStore(path) as s:  # a fresh store starts in its place
        assert s.list_runs() == []


def test_damaged_sqlite_is_reported_and_preserved(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as s:
        record(s, tiny())
        s.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # trash the schema page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as e:
        RunStore(path)
    assert e.value.kind == "corrupt"
    assert path.read_bytes() == bytes(data)


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as e:
        RunStore(path)
    assert e.value.kind == "foreign" and "invoices" in str(e.value)
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError) as e:
        RunStore(path)
    assert e.value.kind == "newer"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    con.close()


def test_upgrade_from_version_1_keeps_runs(tmp_path):
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_V1)
    con.execute(f"PRAGMA application_id={APPLICATION_ID}")
    con.execute("PRAGMA user_version=1")
    from labcore.spec.codec import to_dict
    spec = tiny()
    c = fake_chunk([1, 2, 3])
    con.execute("INSERT INTO runs (name, created, spec, layers, status, steps, final_loss) "
                "VALUES ('old', 1.0, ?, ?, 'finished', 3, 0.5)",
                (json.dumps(to_dict(spec)), json.dumps(c.layers)))
    con.execute("INSERT INTO chunks VALUES (1, 0, 1, 3, ?)", (pack_v1(c),))
    con.commit()
    con.close()
    with RunStore(path) as s:
        assert s.version() == SCHEMA_VERSION
        info = s.get(1)
        assert info["name"] == "old" and info["tags"] == [] and info["final_loss"] == 0.5
        np.testing.assert_array_equal(s.metrics(1).layer, c.layer)
        assert s.spec(1) == spec
        s.set_tags(1, ["upgraded"])  # the new columns work
        assert s.integrity() == "ok"


def test_empty_chunks_and_empty_runs(store):
    rid = store.create_run(tiny(), name="e", summary={"layers": ["h1", "out"]})
    store.append(rid, MetricsChunk.empty(["h1", "out"]), {"status": "ready", "steps": 0})
    m = store.metrics(rid)
    assert len(m) == 0 and m.layers == ["h1", "out"]
    assert layer_frame(m).empty


def test_tail_metrics_reads_only_the_last_chunks(store):
    rid = store.create_run(tiny(), name="t", summary={"layers": [f"h{i}" for i in range(4)]})
    for k in range(5):
        store.append(rid, fake_chunk([10 * k + 1, 10 * k + 5], seed=k), {"status": "ready", "steps": 10 * k + 5})
    tail = store.tail_metrics(rid, chunks=2)
    assert list(tail.steps) == [31, 35, 41, 45]
    np.testing.assert_array_equal(tail.layer, store.metrics(rid).layer[-4:])


def test_move_aside_takes_the_wal_files_along(tmp_path):
    path = tmp_path / "runs.sqlite"
    for suffix, data in (("", b"junk"), ("-wal", b"wal"), ("-shm", b"shm")):
        (tmp_path / f"runs.sqlite{suffix}").write_bytes(data)
    moved = move_aside(path)
    assert moved.read_bytes() == b"junk"
    assert Path(str(moved) + "-wal").read_bytes() == b"wal" and Path(str(moved) + "-shm").read_bytes() == b"shm"
    assert not any(tmp_path.glob("runs.sqlite-*"))
