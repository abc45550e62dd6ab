"""The run store's file format history and the process identity used for crash recovery.

- the schema of each version and the explicit, step-by-step upgrades between them
  (:data:`UPGRADES`: version -> function upgrading a file of that version by one step, run
  inside one transaction by :meth:`labcore.store.db.RunStore.upgrade`);
- who owns a run: this process's pid, host and start time, and :func:`alive`, which tells a
  dead owner from a live one (a reused pid or a zombie counts as dead).
"""
from __future__ import annotations

import os
import socket
import sqlite3
import threading

# Version 1 (kept so the upgrade to 2 can be tested): no tags, no trash, no test metrics.
SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    spec TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    params INTEGER NOT NULL DEFAULT 0,
    layers TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    steps INTEGER NOT NULL DEFAULT 0,
    first_bad_step INTEGER,
    wall_seconds REAL NOT NULL DEFAULT 0,
    error TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_start TEXT,
    heartbeat REAL,
    final_loss REAL,
    final_acc REAL
);
CREATE TABLE chunks (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""


def _v1_to_v2(con: sqlite3.Connection) -> None:
    con.execute("ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")
    con.execute("ALTER TABLE runs ADD COLUMN trashed REAL")
    con.execute("ALTER TABLE runs ADD COLUMN steps_per_second REAL")
    con.execute("ALTER TABLE runs ADD COLUMN final_test_loss REAL")
    con.execute("ALTER TABLE runs ADD COLUMN final_test_acc REAL")
    con.execute("ALTER TABLE runs ADD COLUMN grad_ratio REAL")
    con.execute("CREATE INDEX IF NOT EXISTS runs_status ON runs(status)")


def _v2_to_v3(con: sqlite3.Connection) -> None:
    # Live surgery: the changes applied to a run, as a JSON list of event records (step, label,
    # changes [{what, from, to}], set, layers, notes, pause_ms...). Old runs have none.
    con.execute("ALTER TABLE runs ADD COLUMN events TEXT NOT NULL DEFAULT '[]'")


# version -> function upgrading a file of that version by one step (inside one transaction)
UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3}


# ----------------------------------------------------------------------------- process identity
def proc_start(pid: int) -> str:
    """Start time of ``pid`` (clock ticks since boot, Linux) so a reused pid is not mistaken
    for the run's owner; '' where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces
    if fields and fields[0] in ("Z", "X"):  # zombie / dead: exited, not yet reaped
        return "dead"
    return fields[19] if len(fields) > 19 else ""


def alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    now = proc_start(pid)
    if now == "dead":
        return False
    return not (start and now and now != start)


PID = os.getpid()
HOST = socket.gethostname()
START = proc_start(PID)
# (resolved db path, run id) of runs this process is writing right now: a run owned by this
# very process but not in here was abandoned (its sink never finished) and is interrupted.
ACTIVE: set[tuple[str, int]] = set()
ACTIVE_LOCK = threading.Lock()
