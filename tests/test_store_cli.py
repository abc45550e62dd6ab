"""The run store through the real CLI, in subprocesses: kill -9 recovery, two writers, bad files,
export/import round trips. Every store is a real SQLite file in a temp folder."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from labcore.spec.codec import load_spec_file, to_dict
from labcore.spec.edit import override
from labcore.presets import load_preset
from labcore.store.db import RunStore
from labcore.train.mlp import Trainer

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--depth", "3", "--width", "16", "--device", "cpu", "--quiet"]


def lab_proc(*args, db=None, check=True):
    """The CLI in a real subprocess (what a user types)."""
    cmd = [sys.executable, "-m", "labcore", *map(str, args)] + (["--db", str(db)] if db else [])
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def lab(capsys):
    """The CLI's main() in this process (same code path, without re-importing torch each time)."""
    from labcore.cli import main

    def run(*args, db=None, check=True):
        capsys.readouterr()
        code = main([*map(str, args)] + (["--db", str(db)] if db else []))
        out, err = capsys.readouterr()
        if check:
            assert code == 0, err
        return Result(code, out, err)
    return run


def listing(db) -> list[dict]:
    with RunStore(db) as store:
        return store.list_runs()


def test_run_records_into_db_and_lists(tmp_path, lab):
    db = tmp_path / "a.sqlite"
    p = lab_proc("run", *TINY, "--steps", "60", "--name", "first", "--tag", "demo", db=db)
    assert "recorded as run 1" in p.stderr
    runs = json.loads(lab("runs", "list", "--json", db=db).stdout)
    assert len(runs) == 1
    r = runs[0]
    assert {"id", "name", "status", "steps"} <= set(r)
    assert (r["id"], r["name"], r["status"], r["steps"], r["tags"]) == (1, "first", "finished", 60, ["demo"])
    text = lab("runs", "list", db=db).stdout
    assert "first" in text and "finished" in text
    show = json.loads(lab("runs", "show", "1", "--json", db=db).stdout)
    assert show["spec"]["net"]["depth"] == 3 and show["layers"] == ["h1", "h2", "h3", "out"]


def test_run_without_db_goes_to_lab_home(tmp_path, lab, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LAB_HOME", str(home))
    lab("run", *TINY, "--steps", "20")
    assert (home / "runs.sqlite").exists()
    runs = json.loads(lab("runs", "list", "--json").stdout)
    assert [r["steps"] for r in runs] == [20]


def test_unknown_id_is_a_clear_error(tmp_path, lab):
    db = tmp_path / "a.sqlite"
    p = lab("runs", "show", "42", db=db, check=False)
    assert p.returncode == 2 and "no run with id 42" in p.stderr and "Traceback" not in p.stderr


def test_kill_9_mid_training_reads_interrupted_with_flushed_steps(tmp_path):
    db = tmp_path / "k.sqlite"
    cmd = [sys.executable, "-m", "labcore", "run", *TINY, "--steps", "200000", "--record-every", "1",
           "--name", "doomed", "--db", str(db)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        steps = 0
        while time.monotonic() < deadline and steps < 150:  # at least 3 flushes landed
            time.sleep(0.2)
            assert proc.poll() is None, proc.stderr.read().decode()
            if db.exists():
                runs = listing(db)
                steps = runs[0]["steps"] if runs else 0
                if runs:
                    assert runs[0]["status"] == "running"  # alive owner: not interrupted
        assert steps >= 150, "the run never flushed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with RunStore(db) as store:
        (info,) = store.list_runs()
        assert info["status"] == "interrupted" and info["name"] == "doomed"
        m = store.metrics(info["id"])
        assert info["steps"] >= 150 and info["steps"] % 50 == 0  # whole flushes only
        assert len(m.all_steps) == info["steps"] and m.all_steps[-1] == info["steps"]
        assert len(m) == info["steps"]  # record_every=1: every flushed step is there
        assert store.integrity() == "ok"
    assert json.loads(lab_proc("runs", "list", "--json", db=db).stdout)[0]["status"] == "interrupted"
    assert lab_proc("runs", "check", db=db).stdout.strip().endswith("integrity ok")


def test_two_writers_at_once_both_land(tmp_path):
    """A CLI run in another process while this process records a run, like the app does."""
    db = tmp_path / "two.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "labcore", "run", *TINY, "--steps", "3000",
                             "--name", "cli", "--db", str(db)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (db.exists() and listing(db)):  # the CLI run has started writing
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
        assert listing(db)[0]["status"] == "running"  # so the two runs overlap
        spec = override(load_preset("relu-he").spec, depth=3, width=16, steps=400, flush_every=10,
                        device="cpu")
        with RunStore(db) as store:
            tr, sink = Trainer(spec), store.sink(name="app")
            sink.start(spec, name="app", summary=tr.summary())
            while not tr.done:
                sink.append(tr.steps(spec.train.flush_every), tr.summary())
            sink.finish(tr.summary())
            assert sink.error is None
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    runs = {r["name"]: r for r in listing(db)}
    assert set(runs) == {"cli", "app"}
    assert (runs["cli"]["status"], runs["cli"]["steps"]) == ("finished", 3000)
    assert (runs["app"]["status"], runs["app"]["steps"]) == ("finished", 400)
    with RunStore(db) as store:
        for r in runs.values():
            assert len(store.metrics(r["id"]).all_steps) == r["steps"]
        assert store.integrity() == "ok"


def test_corrupt_file_is_reported_and_preserved(tmp_path, lab):
    db = tmp_path / "bad.sqlite"
    junk = os.urandom(8192)
    db.write_bytes(junk)
    p = lab("runs", "list", db=db, check=False)
    assert p.returncode == 1 and "not a run store" in p.stderr and "move-aside" in p.stderr
    assert "Traceback" not in p.stderr
    p = lab("run", *TINY, "--steps", "10", db=db, check=False)
    assert p.returncode != 0 and db.read_bytes() == junk  # never overwritten by a run
    p = lab("runs", "move-aside", db=db)
    moved = list(tmp_path.glob("bad.sqlite.bad-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == junk and not db.exists()
    assert listing(db) == []


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_export_then_import_round_trips_the_spec(tmp_path, fmt, lab):
    db = tmp_path / "e.sqlite"
    lab("run", *TINY, "--steps", "30", "--activation", "tanh", "--init", "xavier_normal", "--lr", "0.01",
        "--seed", "7", db=db)
    out = tmp_path / f"spec.{fmt}"
    lab("runs", "export", "1", "--format", fmt, "--out", out, db=db)
    with RunStore(db) as store:
        stored = store.spec(1)
    assert load_spec_file(out) == stored
    imported = json.loads(lab("runs", "import", out, "--json").stdout)
    assert imported["spec"] == to_dict(stored) and imported["url"].startswith("g1.")
    lab("run", "--spec", out, "--quiet", "--steps", "5", db=db)  # and it trains again
    with RunStore(db) as store:
        assert store.spec(2) == override(stored, steps=5)


def test_import_refuses_bad_files(tmp_path, lab):
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(b"\x80\x04K\x01.")
    p = lab("runs", "import", bad, check=False)
    assert p.returncode == 2 and ".json or .toml" in p.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"net": {"depth": 3, "layer": {"activation": "os.system"}}}')
    p = lab("runs", "import", wrong, check=False)
    assert p.returncode == 2 and "activation" in p.stderr
    big = tmp_path / "big.json"
    big.write_text(" " * (300 * 1024) + "{}")
    p = lab("runs", "import", big, check=False)
    assert p.returncode == 2 and "KiB" in p.stderr


def test_export_metrics_csv_and_parquet_and_delete(tmp_path, lab):
    db = tmp_path / "x.sqlite"
    lab("run", *TINY, "--steps", "40", "--record-every", "2", db=db)
    lab("runs", "export", "1", "--format", "csv", "--out", tmp_path / "m.csv", db=db)
    lab("runs", "export", "1", "--format", "parquet", "--out", tmp_path / "m.parquet", db=db)
    a, b = pd.read_csv(tmp_path / "m.csv"), pd.read_parquet(tmp_path / "m.parquet")
    assert len(a) == len(b) == 21 * 4  # steps 1, 2, 4, ..., 40 x 4 probe points
    assert {"step", "layer", "depth", "grad_norm", "loss", "acc", "test_acc"} <= set(a.columns)
    pd.testing.assert_series_equal(a["grad_norm"], b["grad_norm"])
    p = lab("runs", "delete", "1", db=db)
    assert "deleted run 1" in p.stdout and listing(db) == []


def test_full_model_runs_are_recorded_and_their_spec_round_trips(tmp_path, lab):
    from labcore.spec.model import ModelRunSpec

    db = tmp_path / "m.sqlite"
    lab("run", "--model", "resnet20", "--dataset", "digits", "--epochs", "1", "--n-train", "128",
        "--batch-size", "64", "--quiet", db=db)
    runs = listing(db)
    assert [(r["name"], r["status"], r["steps"]) for r in runs] == [("resnet20", "finished", 2)]
    with RunStore(db) as store:
        spec = store.spec(runs[0]["id"])
        assert isinstance(spec, ModelRunSpec) and spec.model == "resnet20" and spec.n_train == 128
        assert len(store.metrics(runs[0]["id"]).steps) > 0
    out = tmp_path / "m.toml"
    lab("runs", "export", str(runs[0]["id"]), "--format", "toml", "--out", str(out), db=db)
    assert load_spec_file(out) == spec
