"""Recording a run into the store as it trains: :class:`StoreSink` and the store's writer thread.

The training thread must not wait for the disk (issue: writing may not slow training by more
than 2%). So :meth:`StoreSink.append` only puts the chunk on a queue; one :class:`Writer` thread
per store packs it (zstd) and commits it with its own SQLite connection, in order. ``finish``
waits until everything of its run is on disk. If the process dies, what is still queued is lost:
normally nothing, at most the chunk being written, and the run reads ``interrupted`` later.

Store errors never stop training: the first one is kept in :attr:`StoreSink.error` and the run's
later writes are skipped, so a full disk costs the history, not the run.
"""
from __future__ import annotations

import queue
import sqlite3
import threading
import time

from labcore.store.errors import StoreError

QUEUE_SIZE = 64  # chunks waiting to be written; beyond that the trainer waits (disk too slow)


class Writer:
    """One thread that runs a store's queued writes in order."""

    def __init__(self, store):
        self.store = store
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.busy_seconds = 0.0  # time spent writing (for bench/store.py)
        self.thread = threading.Thread(target=self._loop, name=f"runstore-writer:{store.path.name}", daemon=True)
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def submit(self, fn, sink) -> None:
        self.q.put((fn, sink))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        done = threading.Event()
        self.q.put((done.set, None))
        return done.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive:
            self.flush(timeout)
            self.q.put(None)
            self.thread.join(timeout)

    def _loop(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                break
            fn, sink = item
            if sink is not None and sink.error is not None:
                continue  # this run already failed to record: skip the rest of it
            t = time.perf_counter()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - kept on the sink, never kills the writer
                if sink is not None:
                    sink.error = e
            self.busy_seconds += time.perf_counter() - t


class StoreSink:
    """Records one run into a :class:`~labcore.store.db.RunStore` (a :class:`~labcore.core.sinks.RunSink`)."""

    def __init__(self, store, name: str = "", tags=(), background: bool = True):
        self.store, self.name, self.tags = store, name, tuple(tags)
        self.background = background
        self.run_id: int | None = None
        self.error: Exception | None = None
        self._t0 = 0.0

    def start(self, spec, *, name="", summary=None):
        """Creates the run's row right away (its id is needed), owned by this process."""
        self._t0 = time.perf_counter()
        try:
            self.run_id = self.store.create_run(spec, name=self.name or name, summary=summary or {},
                                                tags=self.tags)
        except (StoreError, sqlite3.Error, OSError) as e:
            self.error = e

    def _do(self, fn) -> None:
        if self.background:
            self.store.writer().submit(fn, self)
            return
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            self.error = e

    def append(self, chunk, summary):
        if self.run_id is None or self.error is not None:
            return
        rid, wall, summary = self.run_id, time.perf_counter() - self._t0, dict(summary)
        self._do(lambda: self.store.append(rid, chunk, summary, wall))

    def finish(self, summary, error=None, timeout: float = 60.0):
        """Records the end of the run and waits (up to ``timeout`` s) until it is on disk."""
        if self.run_id is None:
            return
        rid, wall, summary = self.run_id, time.perf_counter() - self._t0, dict(summary)
        store = self.store

        def write():
            try:
                store.finish(rid, summary, error, wall)
            except Exception as e:  # noqa: BLE001
                self.error = self.error or e

        if self.background:
            # submitted without the sink: written even after an append failed, so that the run
            # does not stay "running"
            store.writer().submit(write, None)
            store.writer().flush(timeout)
        else:
            write()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until this store's queued writes are done (tests, benchmarks)."""
        return self.store.writer().flush(timeout) if self.background else True
