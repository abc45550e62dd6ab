"""Sweeps in the run store: a sweep is one row of ``sweeps`` plus the runs that carry its id.

Each run of a sweep is an ordinary run (spec, metrics, status) whose ``sweep_id`` and ``point``
(the canonical JSON of the point's settings) tie it to its cell, so the Runs page, the Lab and
``runs export`` work on it unchanged, and the sweep is listed, exported and deleted as a group.
"""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads only when a frame is built (a fast CLI)
    import pandas as pd

SWEEP_COLS = ("id", "name", "created", "plan", "status", "total", "note")
POINT_COLS = ("run_id", "point", "status", "steps", "first_bad_step", "final_loss", "final_acc",
              "final_test_loss", "final_test_acc", "grad_ratio", "wall_seconds", "error", "point_summary")


def create_sweep(store, name: str, plan: dict, total: int) -> int:
    out = {}

    def ins(c):
        out["id"] = c.execute("INSERT INTO sweeps (name, created, plan, status, total) VALUES (?,?,?,?,?)",
                              (name, time.time(), json.dumps(plan), "running", int(total))).lastrowid
    store._write(ins)
    return out["id"]


def set_sweep_status(store, sweep_id: int, status: str, note: str | None = None) -> None:
    store._write(lambda c: c.execute("UPDATE sweeps SET status=?, note=COALESCE(?, note) WHERE id=?",
                                     (status, note, int(sweep_id))))


def _sweep(row) -> dict:
    d = dict(zip(SWEEP_COLS, row))
    d["plan"] = json.loads(d["plan"])
    return d


def get_sweep(store, sweep_id: int) -> dict:
    rows = store._read(f"SELECT {', '.join(SWEEP_COLS)} FROM sweeps WHERE id=?", (int(sweep_id),))
    if not rows:
        raise KeyError(f"no sweep with id {sweep_id} in {store.path}")
    d = _sweep(rows[0])
    d.update(sweep_counts(store, sweep_id))
    return d


def sweep_counts(store, sweep_id: int) -> dict:
    rows = store._read("SELECT status, COUNT(*) FROM runs WHERE sweep_id=? GROUP BY status", (int(sweep_id),))
    by = {s: n for s, n in rows}
    return {"by_status": by, "done": sum(n for s, n in by.items() if s in ("finished", "diverged", "failed"))}


def list_sweeps(store) -> list[dict]:
    """Every sweep, newest first, with its counts of points per status."""
    out = []
    for row in store._read(f"SELECT {', '.join(SWEEP_COLS)} FROM sweeps ORDER BY id DESC"):
        d = _sweep(row)
        d.update(sweep_counts(store, d["id"]))
        out.append(d)
    return out


def sweep_points(store, sweep_id: int) -> "pd.DataFrame":
    """One row per recorded point: its settings as columns, then the run's summary metrics."""
    import pandas as pd

    rows = store._read("SELECT id, point, status, steps, first_bad_step, final_loss, final_acc, final_test_loss, "
                       "final_test_acc, grad_ratio, wall_seconds, error, point_summary FROM runs WHERE sweep_id=? ORDER BY id",
                       (int(sweep_id),))
    df = pd.DataFrame(rows, columns=list(POINT_COLS))
    settings = pd.DataFrame([json.loads(p) for p in df["point"]]) if len(df) else pd.DataFrame()
    extra = pd.DataFrame([json.loads(p or "{}") for p in df["point_summary"]], index=df.index)
    extra = extra[[c for c in extra.columns if c not in df.columns and c not in settings.columns]]
    return pd.concat([settings, df.drop(columns=["point_summary"]), extra], axis=1)


def set_point_summary(store, run_id: int, summary: dict) -> None:
    store._write(lambda c: c.execute("UPDATE runs SET point_summary=? WHERE id=?",
                                     (json.dumps(summary), int(run_id))))


def delete_sweep(store, sweep_id: int) -> int:
    """Delete a sweep and all its runs (their metrics too); returns the number of runs deleted."""
    get_sweep(store, sweep_id)  # KeyError if unknown
    out = {}

    def rm(c):
        ids = [r[0] for r in c.execute("SELECT id FROM runs WHERE sweep_id=?", (int(sweep_id),))]
        c.executemany("DELETE FROM chunks WHERE run_id=?", [(i,) for i in ids])
        c.execute("DELETE FROM runs WHERE sweep_id=?", (int(sweep_id),))
        c.execute("DELETE FROM sweeps WHERE id=?", (int(sweep_id),))
        out["n"] = len(ids)
    store._write(rm)
    return out["n"]


def delete_points(store, sweep_id: int, run_ids) -> None:
    """Remove some runs of a sweep (unfinished leftovers before a resume re-runs them)."""
    ids = [(int(i),) for i in run_ids]

    def rm(c):
        c.executemany("DELETE FROM chunks WHERE run_id=?", ids)
        c.executemany("DELETE FROM runs WHERE id=?", ids)
    store._write(rm)
