"""The run store: every run in one SQLite file, written as it trains, read back into pandas.

Layout (schema version :data:`SCHEMA_VERSION`):

- ``runs``: one row per run (spec JSON, name, tags, status, steps, device, wall time, error,
  the owning process and its heartbeat, and the latest loss/accuracy for the history table);
- ``sweeps``: one row per sweep (its plan JSON, status, size); a sweep's runs carry its
  ``sweep_id`` and their ``point`` (:mod:`labcore.store.sweeps`);
- ``chunks``: one row per flushed :class:`MetricsChunk`, its arrays packed into one
  zlib-compressed blob (:mod:`labcore.store.blobs`). A flush is one small insert, and loading a run
  is one query plus a few ``np.concatenate``, never one row per value.

The file itself (connections, transactions, schema checks and upgrades) is
:class:`~labcore.store.database.Database`, which :class:`RunStore` extends. It is opened in WAL
mode with one connection per thread, so the app, its training
threads and a CLI run in another process can write at once. Runs are recorded through
:class:`~labcore.store.sink.StoreSink`, whose writes happen on the store's writer thread;
schema versions, upgrades and process identity live in :mod:`labcore.store.schema`. A run whose owning process died
(``kill -9``, power loss) is marked ``interrupted`` the next time the store is opened; what was
flushed before stays. A file that is not ours (corrupt, foreign, or from a newer version of the
lab) raises :class:`StoreError` and is never modified; :func:`move_aside` renames it on request.
"""
from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from labcore.store.blobs import FIELDS, pack_chunk, unpack_arrays
from labcore.spec.codec import from_dict, to_dict
from labcore.core.status import STORED_STATUSES, TERMINAL, Status
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.store.database import (APPLICATION_ID, SCHEMA_VERSION, SQLITE_MAGIC, STORE_FILENAME,  # noqa: F401
                                    Database, default_path, move_aside)
from labcore.store.errors import StoreError
from labcore.store.sink import StoreSink, Writer
if TYPE_CHECKING:  # pandas only where frames are built: `runs list` stays light
    import pandas as pd

from labcore.store.schema import (ACTIVE, ACTIVE_LOCK, HOST, PID, SCHEMA_V1, START, UPGRADES,  # noqa: F401
                           alive)

STATUSES = tuple(s.value for s in STORED_STATUSES)
REMOTE_STALE_SECONDS = 900.0  # runs owned by another host: presumed dead after this silence




def _finite_or_none(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _last_finite(a: np.ndarray) -> float | None:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a[-1]) if len(a) else None


# ----------------------------------------------------------------------------- the store


# ----------------------------------------------------------------------------- the store
class RunStore(Database):
    """One SQLite run store: the runs, their chunks and trash over :class:`Database`'s file."""

    def __init__(self, path=None, *, timeout: float = 30.0, synchronous: str = "FULL"):
        super().__init__(path, timeout=timeout, synchronous=synchronous)
        self.recover()

    # ------------------------------------------------------------------ crash recovery
    def recover(self) -> list[int]:
        """Mark runs whose owning process is gone as ``interrupted``; return their ids."""
        rows = self._read("SELECT id, owner_pid, owner_host, owner_start, heartbeat FROM runs "
                          "WHERE status='running'")
        key = str(self.path.resolve())
        now = time.time()
        dead = []
        for rid, pid, host, start, beat in rows:
            if host == HOST:
                if pid == PID and (start or "") == START:
                    with ACTIVE_LOCK:
                        gone = (key, rid) not in ACTIVE
                else:
                    gone = pid is None or not alive(pid, start or "")
            else:  # another machine sharing the file: only its silence can tell
                gone = beat is None or now - beat > REMOTE_STALE_SECONDS
            if gone:
                dead.append(rid)
        if dead:
            def mark(c):
                for rid in dead:
                    c.execute("UPDATE runs SET status='interrupted', error=COALESCE(error, ?) "
                              "WHERE id=? AND status='running'",
                              ("the process recording this run stopped before it finished", rid))
            self._write(mark)
        return dead

    # ------------------------------------------------------------------ writing
    def create_run(self, spec, *, name: str = "", summary: dict | None = None,
                   tags=(), sweep: tuple[int, str] | None = None) -> int:
        """A new run row (status running); ``sweep`` = (sweep id, point key) for a sweep's point."""
        s = summary or {}
        out = {}

        def ins(c):
            cur = c.execute(
                "INSERT INTO runs (name, created, spec, device, params, layers, status, steps, tags, "
                "owner_pid, owner_host, owner_start, heartbeat, sweep_id, point) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (name, time.time(), json.dumps(to_dict(spec)), s.get("device", ""), int(s.get("params", 0)),
                 json.dumps(list(s.get("layers", []))), "running", int(s.get("steps", 0)),
                 json.dumps(sorted(set(tags))), PID, HOST, START, time.time(),
                 *(sweep if sweep else (None, None))))
            out["id"] = cur.lastrowid
            with ACTIVE_LOCK:  # before COMMIT: no reader can see the row without it being active
                ACTIVE.add((key, out["id"]))

        key = str(self.path.resolve())
        try:
            self._write(ins)
        except BaseException:
            with ACTIVE_LOCK:
                ACTIVE.discard((key, out.get("id")))
            raise
        return out["id"]

    def append(self, run_id: int, chunk: MetricsChunk, summary: dict, wall_seconds: float | None = None) -> None:
        """Store one flushed chunk and the run's progress, in one transaction."""
        blob = pack_chunk(chunk) if len(chunk) or len(chunk.all_steps) or len(chunk.eval_steps) else None
        steps_all = [a for a in (chunk.steps, chunk.all_steps, chunk.eval_steps) if len(a)]
        first = int(min(a.min() for a in steps_all)) if steps_all else 0
        last = int(max(a.max() for a in steps_all)) if steps_all else 0
        loss = _last_finite(chunk.step_loss) if len(chunk.step_loss) else _last_finite(chunk.loss)
        acc, tl, ta = _last_finite(chunk.acc), _last_finite(chunk.test_loss), _last_finite(chunk.test_acc)
        ratio = _finite_or_none(chunk.first_last_ratio()) if len(chunk) else None
        status = _live_status(summary.get("status"))
        events = _events_json(summary)

        def write(c):
            if blob is not None:
                seq = c.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM chunks WHERE run_id=?",
                                (run_id,)).fetchone()[0]
                c.execute("INSERT INTO chunks (run_id, seq, first_step, last_step, data) VALUES (?,?,?,?,?)",
                          (run_id, seq, first, last, blob))
            c.execute(
                "UPDATE runs SET status=?, steps=?, first_bad_step=?, steps_per_second=?, heartbeat=?, "
                "wall_seconds=COALESCE(?, wall_seconds), device=COALESCE(NULLIF(?, ''), device), "
                "final_loss=COALESCE(?, final_loss), final_acc=COALESCE(?, final_acc), "
                "final_test_loss=COALESCE(?, final_test_loss), final_test_acc=COALESCE(?, final_test_acc), "
                "grad_ratio=COALESCE(?, grad_ratio), events=COALESCE(?, events) WHERE id=?",
                (status, int(summary.get("steps", last)), summary.get("first_bad_step"),
                 _finite_or_none(summary.get("steps_per_second")), time.time(), wall_seconds,
                 summary.get("device", ""), loss, acc, tl, ta, ratio, events, run_id))

        self._write(write)

    def finish(self, run_id: int, summary: dict, error: str | None = None,
               wall_seconds: float | None = None) -> None:
        status = summary.get("status")
        if error:
            status = "failed"
        elif status not in TERMINAL:
            status = "stopped"  # ended while paused or before starting
        self._write(lambda c: c.execute(
            "UPDATE runs SET status=?, steps=?, first_bad_step=?, error=?, heartbeat=?, "
            "steps_per_second=COALESCE(?, steps_per_second), wall_seconds=COALESCE(?, wall_seconds), "
            "events=COALESCE(?, events) WHERE id=?",
            (status, int(summary.get("steps", 0)), summary.get("first_bad_step"), error, time.time(),
             _finite_or_none(summary.get("steps_per_second")), wall_seconds, _events_json(summary), run_id)))
        with ACTIVE_LOCK:
            ACTIVE.discard((str(self.path.resolve()), run_id))

    def sink(self, name: str = "", tags=(), background: bool = True) -> "StoreSink":
        """A :class:`~labcore.core.sinks.RunSink` that records one run into this store.

        With ``background`` (the default) the training thread only queues each chunk; this
        store's writer thread compresses and commits it (see :mod:`labcore.store.sink`).
        """
        return StoreSink(self, name=name, tags=tags, background=background)

    def writer(self):
        """This store's background writer thread (started on first use)."""
        with self._lock:
            if self._writer is None or not self._writer.alive:
                self._writer = Writer(self)
            return self._writer

    def rename(self, run_id: int, name: str) -> None:
        self._get_row(run_id)
        self._write(lambda c: c.execute("UPDATE runs SET name=? WHERE id=?", (str(name).strip(), run_id)))

    def set_tags(self, run_id: int, tags) -> None:
        self._get_row(run_id)
        clean = sorted({str(t).strip() for t in tags if str(t).strip()})
        self._write(lambda c: c.execute("UPDATE runs SET tags=? WHERE id=?", (json.dumps(clean), run_id)))

    def trash(self, run_id: int) -> None:
        """Hide a run (undoable with :meth:`restore` until :meth:`purge_trash`)."""
        self._get_row(run_id)
        self._write(lambda c: c.execute("UPDATE runs SET trashed=? WHERE id=?", (time.time(), run_id)))

    def restore(self, run_id: int) -> None:
        self._write(lambda c: c.execute("UPDATE runs SET trashed=NULL WHERE id=?", (run_id,)))

    def delete(self, run_id: int) -> None:
        """Delete a run and its metrics for good."""
        self._get_row(run_id)
        self._write(lambda c: c.execute("DELETE FROM runs WHERE id=?", (run_id,)))

    def purge_trash(self, older_than_s: float = 0.0) -> int:
        """Delete trashed runs trashed more than ``older_than_s`` seconds ago; return how many."""
        out = {}

        def purge(c):
            out["n"] = c.execute("DELETE FROM runs WHERE trashed IS NOT NULL AND trashed <= ?",
                                 (time.time() - older_than_s,)).rowcount

        self._write(purge)
        return out["n"]

    # ------------------------------------------------------------------ reading
    _COLS = ("id, name, tags, created, device, params, layers, status, steps, first_bad_step, "
             "wall_seconds, steps_per_second, error, final_loss, final_acc, final_test_loss, "
             "final_test_acc, grad_ratio, heartbeat, owner_pid, trashed")

    def _info(self, row) -> dict:
        d = dict(zip([c.strip() for c in self._COLS.split(",")], row))
        d["tags"] = json.loads(d["tags"] or "[]")
        d["layers"] = json.loads(d["layers"] or "[]")
        return d

    def _get_row(self, run_id: int) -> dict:
        rows = self._read(f"SELECT {self._COLS} FROM runs WHERE id=?", (int(run_id),))
        if not rows:
            raise KeyError(f"no run with id {run_id} in {self.path}")
        return self._info(rows[0])

    def get(self, run_id: int) -> dict:
        """A run's record (no metrics): id, name, tags, status, steps, device, final_loss..."""
        return self._get_row(run_id)

    def list_runs(self, *, include_trashed: bool = False) -> list[dict]:
        """Every run, newest first."""
        where = "" if include_trashed else "WHERE trashed IS NULL"
        return [self._info(r) for r in self._read(f"SELECT {self._COLS} FROM runs {where} ORDER BY id DESC")]

    def runs_frame(self, *, include_trashed: bool = False) -> pd.DataFrame:
        import pandas as pd

        runs = self.list_runs(include_trashed=include_trashed)
        cols = [c.strip() for c in self._COLS.split(",")] + ["depth"]
        df = pd.DataFrame(runs, columns=cols)
        df["depth"] = [max(0, len(r["layers"]) - 1) for r in runs]
        df["created"] = pd.to_datetime(df["created"], unit="s")
        return df

    def spec(self, run_id: int, *, events: bool = True):
        """The run's spec: as it started plus the live changes applied to it (``events=False``:
        as it started). Training the returned spec replays the run, events included."""
        rows = self._read("SELECT spec, events FROM runs WHERE id=?", (int(run_id),))
        if not rows:
            raise KeyError(f"no run with id {run_id} in {self.path}")
        d = json.loads(rows[0][0])
        recorded = json.loads(rows[0][1] or "[]")
        if events and recorded and isinstance(d, dict) and d.get("kind", "mlp") == "mlp":
            d["events"] = [{"step": e["step"], "set": e["set"], **({"layers": e["layers"]} if e.get("layers") else {})}
                           for e in recorded]
        return from_dict(d)

    def events(self, run_id: int) -> list[dict]:
        """The live changes applied to a run, oldest first: step, label, changes [{what, from,
        to}], set, layers, notes, pause_ms, sps_before, sps_after, identity_error (norms)."""
        rows = self._read("SELECT events FROM runs WHERE id=?", (int(run_id),))
        if not rows:
            raise KeyError(f"no run with id {run_id} in {self.path}")
        return json.loads(rows[0][0] or "[]")

    def metrics(self, run_id: int) -> MetricsChunk:
        """Every flushed chunk of the run, concatenated."""
        return self._load(run_id, "SELECT data FROM chunks WHERE run_id=? ORDER BY seq", (int(run_id),))

    def tail_metrics(self, run_id: int, chunks: int = 3) -> MetricsChunk:
        """Only the last ``chunks`` flushed chunks: enough for a diagnosis, cheap for a table."""
        return self._load(run_id, "SELECT data FROM (SELECT seq, data FROM chunks WHERE run_id=? "
                                  "ORDER BY seq DESC LIMIT ?) ORDER BY seq", (int(run_id), int(chunks)))

    def _load(self, run_id: int, sql: str, args) -> MetricsChunk:
        layers = self._get_row(run_id)["layers"]
        blobs = self._read(sql, args)
        if not blobs:
            return MetricsChunk.empty(layers)
        try:
            parts = [unpack_arrays(b[0], len(layers)) for b in blobs]
        except ValueError as e:
            raise StoreError("corrupt", self.path, f"run {run_id}'s metrics in {self.path} are damaged ({e})") from None
        # Concatenate the stored (mostly float32) arrays first: one NaN-cleaning pass, not one per chunk.
        return MetricsChunk(list(layers), **{f: np.concatenate([p[f] for p in parts]) for f in FIELDS})

    def layer_frame(self, run_id: int) -> pd.DataFrame:
        """Tidy per-(step, layer) frame of a run (``layer`` categorical), like ``to_frame``."""
        return layer_frame(self.metrics(run_id))

    def export_frame(self, run_id: int) -> pd.DataFrame:
        """The tidy per-(step, layer) table joined with the step's loss/acc and test metrics."""
        m = self.metrics(run_id)
        df = layer_frame(m)
        df = df.merge(m.scalars_frame(), on="step", how="left")
        ev = m.eval_frame()
        if len(ev):
            df = df.merge(ev, on="step", how="left")
        else:
            df["test_loss"], df["test_acc"] = np.nan, np.nan
        df.insert(0, "run_id", int(run_id))
        return df


def layer_frame(m: MetricsChunk) -> pd.DataFrame:
    """``m.to_frame()`` built column-wise with a categorical ``layer``: fast for big runs."""
    import pandas as pd

    r, l = len(m.steps), len(m.layers)
    cols = {
        "step": np.repeat(m.steps, l),
        "layer": pd.Categorical.from_codes(np.tile(np.arange(l), r), categories=pd.Index(m.layers)),
        "depth": np.tile(np.arange(1, l + 1), r),
    }
    for j, name in enumerate(LAYER_METRICS):
        cols[name] = m.layer[:, j, :].reshape(-1)  # (R, L) -> R*L, step-major like to_frame
    return pd.DataFrame(cols)


def _events_json(summary: dict) -> str | None:
    """The summary's event records as JSON, or None (keep what is stored) when it has none."""
    ev = summary.get("events")
    return json.dumps(ev, default=float) if ev else None


def _live_status(status) -> str:
    """The trainer's status between chunks, as the store shows it."""
    return str(status) if status in TERMINAL else Status.RUNNING.value
