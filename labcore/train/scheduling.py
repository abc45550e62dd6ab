"""The job manager's run queue: which batch a free worker takes next, and in which training
process a new run starts (the one with the least training left).

:class:`_Scheduling` is mixed into :class:`~labcore.train.jobs.JobManager` (needs its lock-guarded
``_queue``, ``_placed``, ``_running``, ``_workers``, ``hosts``...); its methods run holding the lock.

Placement. A run's trainer stays in the process that made it (its model and optimizer live there),
so where a batch starts decides where all of its work is done. Placing new batches on whichever
worker happened to be free left a class on six presets with one process training 13 s and the other
idle after 8 s (the last result waited for the busy one). Here each process's *load* is the seconds
of training its unfinished batches still need: remaining steps over the steps/s each trainer has
measured so far (a run not yet measured, or measured over fewer than
:data:`MEASURED_AFTER_STEPS` steps, counts at the median pace of those that are, else
:data:`PRIOR_SECONDS_PER_STEP`). A worker takes a new batch only while its own process is the least
loaded (within :data:`SLACK_SECONDS`); otherwise the new batch waits for the worker of the least
loaded process (at most one chunk, about 0.2 s).
"""
from __future__ import annotations

import statistics
import threading

from labcore.core.status import Status
from labcore.train.job import _Batch

PRIOR_SECONDS_PER_STEP = 0.005  # a preset-sized MLP on one CPU core, before anything is measured
MEASURED_AFTER_STEPS = 10  # a trainer's steps/s counts from this many steps on
SLACK_SECONDS = 0.5  # loads this close count as equal (the estimates are rough)
_LEFT = (Status.QUEUED, Status.STARTING, Status.RUNNING)


def _pending(batch) -> list[tuple[int, float]]:
    """(steps left, measured steps/s or 0) of each job of ``batch`` that will still train."""
    out = []
    for j in batch.jobs:
        if j._status not in _LEFT or j._paused:
            continue
        tr = j.trainer
        done = tr.step if tr is not None else 0
        # A pace read after a run's first step is its start-up cost, not its pace.
        sps = tr.steps_per_second if tr is not None and tr.step >= MEASURED_AFTER_STEPS else 0.0
        out.append((max(0, j.schedule.total_steps - done), max(sps, 0.0)))
    return out


def host_loads(batches, n_hosts: int) -> list[float]:
    """Seconds of training left on each of ``n_hosts`` processes, from the batches placed there."""
    rows = [(b.host, left, sps) for b in batches if b.host is not None for left, sps in _pending(b)]
    paces = [1.0 / sps for _, _, sps in rows if sps > 0]
    prior = statistics.median(paces) if paces else PRIOR_SECONDS_PER_STEP
    loads = [0.0] * n_hosts
    for host, left, sps in rows:
        if 0 <= host < n_hosts:
            loads[host] += left * (1.0 / sps if sps > 0 else prior)
    return loads


def may_place(loads: list[float], host: int, slack: float = SLACK_SECONDS) -> bool:
    """Whether a new batch may start on ``host``: it is (within ``slack``) the least loaded."""
    return not loads or loads[host] <= min(loads) + slack


class _Scheduling:
    """Mixed into JobManager: time slices over the run queue, placement on training processes."""

    def _suspended(self, batch: _Batch) -> bool:
        """Every watcher of the batch is gone (its tab closed): it waits off the workers."""
        w = batch.watchers
        return bool(w) and all(o in self._gone_since for o in w)

    def _enqueue(self, batch: _Batch) -> None:
        """Holding the lock: add a batch to the run queue, start a worker if one is missing."""
        self._queue.append(batch)
        if len(self._workers) < self.max_workers and self._running + self._runnable_count() > len(self._workers):
            i = len(self._workers)
            t = threading.Thread(target=self._worker_loop, args=(i,), name=f"lab-worker-{i}", daemon=True)
            self._workers.append(t)
            t.start()
        self._cond.notify_all()

    def _runnable_count(self) -> int:
        return sum(1 for b in self._queue if self._runnable(b))

    def _runnable(self, batch: _Batch, worker: int | None = None) -> bool:
        host = None if worker is None else self._host_of(worker)
        return (not self._suspended(batch) and any(j._wants_worker() for j in batch.jobs)
                and (host is None or batch.host is None or batch.host == host))

    def _host_of(self, worker: int) -> int | None:
        """Worker thread i drives process i mod n only (two on one process would wait on each other)."""
        hosts = self.hosts  # None once processes could not start
        return None if hosts is None else worker % hosts.n

    def _take(self, worker: int | None = None) -> _Batch | None:
        """Holding the lock: the next batch to get a turn. Batches that never had one come
        first (everyone's first chart appears at once) while fewer than ``max_active`` are
        started, then the others in turn; with processes, those of ``worker``'s process."""
        room = sum(1 for b in self._queue if b.started) + self._running < self.max_active
        room = room and self._may_place(worker)  # a new batch goes to the least loaded process
        pick = None
        if room:
            pick = next((b for b in self._queue if not b.started and self._runnable(b, worker)), None)
        if pick is None:
            pick = next((b for b in self._queue if (b.started or room) and self._runnable(b, worker)), None)
        if pick is not None:
            self._queue.remove(pick)
            if pick.host is None and worker is not None:
                pick.host = self._host_of(worker)
                self._placed.append(pick)
        return pick

    def _may_place(self, worker: int | None) -> bool:
        host, hosts = (None if worker is None else self._host_of(worker)), self.hosts
        if host is None or hosts is None:
            return True
        self._placed = [b for b in self._placed if not b.done]
        # Worker i drives process i mod n, so the driven processes are the first min(n, workers).
        return may_place(host_loads(self._placed, min(hosts.n, self.max_workers)), host)


__all__ = ["host_loads", "may_place", "MEASURED_AFTER_STEPS", "PRIOR_SECONDS_PER_STEP", "SLACK_SECONDS"]
