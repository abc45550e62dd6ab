"""The SQLite file under the run store: connections (one per thread, WAL), transactions, errors
made clear, and the schema (create, check, upgrade). :class:`~labcore.store.db.RunStore` adds the
runs on top; :mod:`labcore.store.schema` holds the tables, the upgrades and process identity.

A file that is not ours (corrupt, foreign, or from a newer version of the lab) raises
:class:`StoreError` and is never modified; :func:`move_aside` renames it on request.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from labcore.data.datasets import lab_home
from labcore.store.errors import StoreError
from labcore.store.schema import SCHEMA_V1, UPGRADES

APPLICATION_ID = 0x47464C42  # "GFLB": marks a file as a Gradient Flow Lab store
SCHEMA_VERSION = 4
STORE_FILENAME = "runs.sqlite"
SQLITE_MAGIC = b"SQLite format 3\x00"


def default_path() -> Path:
    """``$LAB_HOME/runs.sqlite`` (``~/.gradient-flow-lab/runs.sqlite`` by default)."""
    return lab_home() / STORE_FILENAME


def move_aside(path) -> Path:
    """Rename a bad store file (and its -wal/-shm) to ``<name>.bad-<time>``; return the new path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


class Database:
    """One SQLite store file. Thread-safe: each thread gets its own connection."""

    def __init__(self, path=None, *, timeout: float = 30.0, synchronous: str = "FULL"):
        # FULL: each commit reaches the disk (WAL fsync), so even a power loss costs at most the
        # chunk being written. It is affordable because runs are written by a background thread.
        self.path = Path(path) if path is not None else default_path()
        self.timeout, self.synchronous = timeout, synchronous
        self._writer = None
        self._local = threading.local()
        self._cons: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._check_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_schema()
    # ------------------------------------------------------------------ connections
    def _check_file(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as f:
            head = f.read(16)
        if head != SQLITE_MAGIC:
            raise StoreError("corrupt", self.path,
                             f"{self.path} is not a run store (not an SQLite database). It was left "
                             "untouched; move it aside to start a new store.")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(f"PRAGMA synchronous={self.synchronous}")
            con.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:
            con.close()
            raise self._error(e) from None
        return con

    def _error(self, e: Exception) -> Exception:
        """A clear StoreError for what SQLite said (constraint errors stay as they are: bugs)."""
        if isinstance(e, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return e
        msg = str(e).lower()
        if "locked" in msg or "busy" in msg:
            return StoreError("locked", self.path, f"{self.path} is busy ({e}); try again.")
        if "full" in msg or "i/o" in msg or "readonly" in msg or "read-only" in msg:
            return StoreError("io", self.path, f"cannot write {self.path} ({e}).")
        return StoreError("corrupt", self.path,
                          f"{self.path} is damaged or not a run store ({e}). It was left untouched; "
                          "move it aside to start a new store.")

    @property
    def con(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
            with self._lock:
                # Drop connections of threads that have ended (Streamlit script threads come and go).
                dead = [c for th, c in self._cons if not th.is_alive()]
                self._cons = [(th, c) for th, c in self._cons if th.is_alive()]
                self._cons.append((threading.current_thread(), con))
            for c in dead:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
        return con

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued writes (up to ``timeout`` s), then close every connection."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop(timeout)
        with self._lock:
            cons, self._cons = self._cons, []
        for _, c in cons:
            try:
                c.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, sql_calls) -> None:
        """Run ``sql_calls(con)`` in one immediate write transaction."""
        con = self.con
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                sql_calls(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise self._error(e) from None

    def _read(self, sql: str, args=()) -> list:
        try:
            return self.con.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise self._error(e) from None

    # ------------------------------------------------------------------ schema
    def _inspect(self) -> tuple[int, int, set]:
        """application_id, user_version and tables, read without changing the file."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, 0, set()
        con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout)
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            raise self._error(e) from None
        finally:
            con.close()
        return app_id, version, tables

    def _open_schema(self) -> None:
        app_id, version, tables = self._inspect()
        if app_id != APPLICATION_ID:
            if tables:
                self.close()
                raise StoreError("foreign", self.path,
                                 f"{self.path} is an SQLite database of another program (tables: "
                                 f"{', '.join(sorted(tables)[:5])}). It was left untouched; move it aside "
                                 "or choose another file.")
            self._create()
            return
        if version > SCHEMA_VERSION:
            self.close()
            raise StoreError("newer", self.path,
                             f"{self.path} was written by a newer Gradient Flow Lab (store version "
                             f"{version}, this one knows up to {SCHEMA_VERSION}). Upgrade the lab; the "
                             "file was left untouched.")
        if version < SCHEMA_VERSION:
            self.upgrade(version)

    def _create(self) -> None:
        def create(c):
            for stmt in SCHEMA_V1.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            for v in range(1, SCHEMA_VERSION):
                UPGRADES[v](c)
            c.execute(f"PRAGMA application_id={APPLICATION_ID}")
            c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

        # Another process may have created it since we looked: check again under the lock.
        def guarded(c):
            if c.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                create(c)

        self._write(guarded)

    def upgrade(self, version: int) -> None:
        """Upgrade a file of an older schema ``version`` step by step, each in a transaction."""
        while version < SCHEMA_VERSION:
            step = UPGRADES[version]

            def run(c, step=step, version=version):
                if c.execute("PRAGMA user_version").fetchone()[0] == version:  # not done meanwhile
                    step(c)
                    c.execute(f"PRAGMA user_version={version + 1}")

            self._write(run)
            version += 1

    def version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def integrity(self) -> str:
        """``PRAGMA integrity_check``: 'ok' or the problems found."""
        return "\n".join(r[0] for r in self._read("PRAGMA integrity_check"))
