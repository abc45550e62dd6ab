"""Background training jobs: a process-wide manager with bounded workers that share time slices.

A :class:`Job` is one run of a spec of any registered family (:mod:`labcore.core.family`): the
manager makes its trainer with the family's ``make_trainer`` and never looks at the spec itself.
Jobs submitted together (twin runs A and B) form one *batch*, advanced chunk by chunk in lockstep.
Workers serve batches in turn: a worker takes the next runnable batch, trains one chunk (about
``chunk_seconds``) of each of its jobs and puts it back, so every run progresses (batches that
never had a turn go first: every first chart appears at once). A waiting job knows its place.

Identical runs are trained once: a submit with ``share=True`` whose content
(:func:`labcore.train.share.run_key`: family, spec with seed and events, device) matches a
queued or training batch makes its owner one more *watcher* of those jobs; with
``reuse_done=True`` a finished one is handed back at once. Watching is all a shared run allows:
a watcher that pauses, steps or stops first gets its own copy (:meth:`JobManager.private`), and
a live change on a shared run is refused with a message saying so.

The page never touches a trainer. It calls the control methods (:meth:`Job.pause`,
:meth:`Job.resume`, :meth:`Job.step`, :meth:`Job.stop`), which only set flags, and reads
:meth:`Job.view`, an immutable snapshot (status, thinned live metrics, summary, the latest
decision-boundary / histogram data). Workers never call streamlit.

Jobs are watched by *owners* (browser sessions). An owner sends heartbeats; when they stop for
``heartbeat_timeout`` seconds it is dropped. When an ``owner_alive`` callback reports it gone,
batches it alone watches leave the workers at once and it is dropped after ``gone_grace`` seconds
(a reconnect window); a job left with no watcher is stopped and forgotten (:meth:`JobManager.reap`).

Every run is reported to a :class:`~labcore.core.sinks.RunSink` made by ``sink_factory(job)`` (the
run store), from the worker thread: ``start`` once, ``append`` per chunk, ``finish`` at the end.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable

from labcore.core.family import family_of
from labcore.core.metrics import LiveMetrics, MetricsChunk  # noqa: F401  (re-exported)
from labcore.core.status import Status
from labcore.train.job import Job, JobView, _Batch
from labcore.train.scheduling import _Scheduling
from labcore.train.remote import HostStartFailed, TrainerHosts
from labcore.train.runner import _WorkerSide, _use_cpu_threads
from labcore.train.share import _SharedRuns, run_key

log = logging.getLogger(__name__)



# ----------------------------------------------------------------------------- manager
class JobManager(_WorkerSide, _SharedRuns, _Scheduling):
    """Process-wide, thread-safe. Hold one per process (the app keeps it in ``st.cache_resource``)."""

    def __init__(self, max_workers: int = 2, sink_factory: Callable | None = None, *,
                 snapshot_fn: Callable | None | str = "default", heartbeat_timeout: float = 120.0,
                 owner_alive: Callable[[str], bool] | None = None, gone_grace: float = 20.0,
                 chunk_seconds: float = 0.2, snapshot_seconds: float = 0.5, keep_done: int = 6,
                 keep_finished: int = 32, stored_runs: Callable | None = None, max_active: int = 8,
                 janitor: bool = True, processes: int = 0):
        self.max_workers = max(1, int(max_workers))
        # Batches started (models in memory, paused ones too) at most; later ones wait their turn.
        self.max_active = max(self.max_workers, int(max_active))
        self.sink_factory = sink_factory
        self.snapshot_fn = snapshot_fn
        self.heartbeat_timeout, self.gone_grace = heartbeat_timeout, gone_grace
        self.owner_alive = owner_alive
        self.chunk_seconds, self.snapshot_seconds = chunk_seconds, snapshot_seconds
        self.keep_done, self.keep_finished = keep_done, keep_finished
        # stored_runs(specs) -> [(metrics, summary), ...] of finished stored runs of these specs, or
        # None: how a reuse_done submit is served from the run store (the app passes one).
        self.stored_runs = stored_runs
        # Trainers in that many worker processes (labcore.train.remote, off this GIL), or here.
        self.hosts = TrainerHosts(processes) if processes > 0 else None
        self._live: dict[str, _Batch] = {}  # run_key -> a shared batch queued or training
        self._finished: collections.OrderedDict[str, _Batch] = collections.OrderedDict()  # ended on its own
        self._cond = threading.Condition()
        self._queue: collections.deque[_Batch] = collections.deque()
        self._jobs: dict[str, Job] = {}
        self._beats: dict[str, float] = {}
        self._gone_since: dict[str, float] = {}
        self._workers: list[threading.Thread] = []
        self._running = 0
        self._placed: list[_Batch] = []  # batches bound to a training process (labcore.train.scheduling)
        self._shutdown = False
        # The janitor reaps gone owners in the background (off for a test driving reap() itself).
        self._janitor = threading.Thread(target=self._janitor_loop, name="lab-janitor", daemon=True)
        if janitor:
            self._janitor.start()

    # ------------------------------------------------------------------ public API
    def submit(self, spec, *, owner: str | None = None, name: str = "", paused: bool = False) -> Job:
        """Queue one run. ``paused=True`` queues it paused (then :meth:`Job.step` advances it)."""
        return self.submit_group([spec], owner=owner, names=[name], paused=paused)[0]

    def submit_group(self, specs: list, *, owner: str | None = None,
                     names: list[str] | None = None, paused: bool = False, share: bool = False,
                     reuse_done: bool = False) -> list[Job]:
        """Queue runs that train together, chunk by chunk in lockstep (twin runs).

        The specs may be of any registered family; an unknown one, or one its family's ``check``
        refuses (a cross-field error, over the size budget), is a SpecError here, at once.

        ``share``: when a batch with the same content (:func:`~labcore.train.share.run_key`) is
        queued or training, ``owner`` becomes one more watcher of its jobs and they are returned
        (no new training). ``reuse_done``: a finished batch with that content is handed back too
        (presets and lessons: the same spec gives the same run). A paused submit is never shared.
        """
        names = names or [""] * len(specs)
        for s in specs:  # checks across fields and the size guard: refused here, never a failed run
            family_of(s).check(s)
        key = run_key(specs) if share and not paused else None
        with self._cond:
            if self._shutdown:
                raise RuntimeError("the job manager is shut down")
            if owner is not None:
                self._beats[owner] = time.monotonic()
            found = self._shared_batch(key, reuse_done) if key else None
            if found is not None:
                if owner is not None and owner not in found.watchers:
                    found.watchers.append(owner)
                for j in found.jobs:
                    self._jobs.setdefault(j.id, j)
                return list(found.jobs)
            # Made and made findable under the same lock as the lookup: a class pressing Train in
            # the same instant gets one batch, not one per press that raced past the lookup.
            batch = _Batch(key)
            batch.jobs = [Job(self, s, n, owner, batch, paused) for s, n in zip(specs, names)]
            for j in batch.jobs:
                self._jobs[j.id] = j
            if key:
                self._live[key] = batch
        if key and reuse_done and self._from_store(batch):
            return batch.jobs
        with self._cond:
            self._enqueue(batch)
        return batch.jobs

    def private(self, jobs: list[Job], owner: str) -> list[Job]:
        """``owner``'s own copy of a shared batch, for a control that would change it (pause,
        step, stop, a live change): the others keep watching the shared run untouched.

        The copy replays the same spec up to the step the shared run had reached (a run is
        deterministic, so it is the same run) and waits there, paused; ``owner`` stops watching
        the shared batch. Jobs nobody else watches are returned as they are.
        """
        if not jobs:
            return jobs
        batch = jobs[0].batch
        with self._cond:
            if [o for o in batch.watchers if o != owner] == [] or any(j.batch is not batch for j in jobs):
                return jobs
            batch.watchers.remove(owner)
        copy = _Batch()
        copy.jobs = [Job(self, j.spec, j.name, owner, copy, paused=True) for j in jobs]
        for old, new in zip(jobs, copy.jobs):
            new._credits, new._catchup, new.focus = old.view().steps, True, old.focus
        with self._cond:
            for j in copy.jobs:
                self._jobs[j.id] = j
            self._enqueue(copy)
        return copy.jobs

    def get(self, job_id: str | None) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs.values() if owner is None or owner in j.batch.watchers]

    def position(self, job: Job) -> int | None:
        """1-based place of the job's batch among those waiting for a first turn (None after)."""
        with self._cond:
            i = 0
            for b in self._queue:
                if not b.started:
                    i += 1
                    if b is job.batch:
                        return i
        return None

    def queue_length(self) -> int:
        """Batches waiting for their first turn on a worker."""
        with self._cond:
            return sum(1 for b in self._queue if not b.started)

    def heartbeat(self, owner: str) -> None:
        """The owner (a browser session) is still there."""
        with self._cond:
            self._beats[owner] = time.monotonic()
            self._gone_since.pop(owner, None)

    def forget(self, job_id: str, owner: str | None = None) -> None:
        """Stop a job if needed and drop it (and its model) from the manager.

        With ``owner``, on a shared job: ``owner`` only stops watching it, and it goes on for the
        others; the last watcher's forget stops it.
        """
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return
            w = job.batch.watchers
            if owner is not None:
                if owner in w:
                    w.remove(owner)
                if w:
                    return
            self._jobs.pop(job_id, None)
        job.stop()

    def reap(self, now: float | None = None) -> list[str]:
        """Drop the owners that are gone from the jobs they watch. Returns the owners dropped.

        An owner whose heartbeats stopped for ``heartbeat_timeout`` is dropped at once. One that
        ``owner_alive`` reports gone is *suspended* at once: a batch whose watchers are all gone
        gets no more turns on the workers (it shows as paused), so a closed tab costs nothing
        from the janitor's next tick. It is dropped after ``gone_grace`` seconds: a dropped
        websocket (wifi, a laptop lid) reconnects to the same session within seconds, and its
        run then goes on. A job left with no watcher is stopped and forgotten.
        """
        now = time.monotonic() if now is None else now
        with self._cond:
            owners = {o for j in self._jobs.values() for o in j.batch.watchers}
            beats = dict(self._beats)
        gone = []
        for o in owners:
            stale = now - beats.get(o, now) > self.heartbeat_timeout
            if not stale and self.owner_alive is not None:
                try:
                    alive = self.owner_alive(o)
                except Exception:
                    alive = True
                with self._cond:
                    if alive:
                        if self._gone_since.pop(o, None) is not None:
                            self._cond.notify_all()  # back: its batches are runnable again
                    else:
                        since = self._gone_since.setdefault(o, now)
                        stale = now - since > self.gone_grace
            if stale:
                gone.append(o)
        for o in gone:
            for j in self.jobs(o):
                self.forget(j.id, owner=o)
            with self._cond:
                self._beats.pop(o, None)
                self._gone_since.pop(o, None)
        self._trim_done()
        return gone

    def shutdown(self, wait: bool = True, timeout: float = 10.0) -> None:
        """Stop every job and the workers."""
        with self._cond:
            self._shutdown = True
            jobs = list(self._jobs.values())
            self._cond.notify_all()
        for j in jobs:
            j.stop()
        if wait:
            for t in list(self._workers):
                t.join(timeout)
        if self.hosts is not None:
            self.hosts.close()

    # ------------------------------------------------------------------ internals
    def make_trainer(self, job: Job):
        """The job's trainer: in a worker process when the manager has them, else here (also from
        the moment its processes turn out unable to start: the log says so)."""
        hosts = self.hosts
        try:
            return job.family.make_trainer(job.spec) if hosts is None else hosts.make(job.spec, job.batch.host)
        except HostStartFailed as e:
            log.warning("training processes cannot start (%s): training in threads", e)
            self.hosts = None
            hosts.close()
        return job.family.make_trainer(job.spec)

    def snapshot_for(self, job: Job):
        """The picture function for a job: the manager's own, or its family's (``"default"``)."""
        return job.family.snapshot if self.snapshot_fn == "default" else self.snapshot_fn

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _trim_done(self) -> None:
        """Keep at most ``keep_done`` finished jobs per watcher (each holds a model)."""
        with self._cond:
            by_owner: dict = collections.defaultdict(list)
            for j in self._jobs.values():
                if j.done:
                    for o in j.batch.watchers or [None]:
                        by_owner[o].append(j)
            kept = set()
            for lst in by_owner.values():
                lst.sort(key=lambda j: j.created)
                kept.update(j.id for j in lst[-self.keep_done:])
            for lst in by_owner.values():
                for j in lst:
                    if j.id not in kept:
                        self._jobs.pop(j.id, None)

    def _janitor_loop(self) -> None:
        while True:
            with self._cond:
                if self._shutdown:
                    return
                # Often: a closed tab's batches leave the workers from the next tick.
                self._cond.wait(timeout=min(0.5, max(0.05, min(self.heartbeat_timeout, self.gone_grace) / 4)))
                if self._shutdown:
                    return
            try:
                self.reap()
            except Exception:  # the janitor must survive anything
                log.exception("reaping jobs failed")

    def _worker_loop(self, worker: int = 0) -> None:
        """Time slices: take the next runnable batch, train one chunk of each of its jobs
        (about ``chunk_seconds``), put it back at the end of the queue. Different runs all
        progress; a paused batch waits in the queue without holding a worker."""
        while True:
            with self._cond:
                batch = None
                while not self._shutdown:
                    batch = self._take(worker)
                    if batch is not None:
                        break
                    self._cond.wait(timeout=0.5)
                if self._shutdown:
                    return
                self._running += 1
            ended = True
            try:
                ended = self._turn(batch)
            except Exception:
                log.exception("worker crashed on a batch")
                for j in batch.jobs:
                    if not j.done:
                        j._stop.set()
                        self._finish_job(j, failed=True)
            finally:
                with self._cond:
                    self._running -= 1
                    if not ended:
                        self._queue.append(batch)
                    self._cond.notify_all()
            if ended:
                self._remember_finished(batch)

    def _turn(self, batch: _Batch) -> bool:
        """One chunk of each job of the batch (twins stay in lockstep). True once all ended."""
        if not batch.started:
            batch.started = True
            for job in batch.jobs:
                self._start_job(job)
        for job in [j for j in batch.jobs if j._status == Status.RUNNING]:
            if job._stop.is_set():
                self._finish_job(job)
                continue
            if job._changes:  # live surgery, at this chunk boundary (also while paused)
                self._apply_changes(job)
                if job._status != Status.RUNNING:
                    continue
            n = job._steps_allowed(self._chunk_size(job))
            if n > 0:
                _use_cpu_threads(job.trainer)  # the batch may have moved to another worker thread
                self._run_chunk(job, n)
            if job._halt and job._credits == 0 and job._status == Status.RUNNING:
                job._stop.set()  # Stop on a private copy: it caught up, it ends here
                job.trainer.stop()
                self._finish_job(job)
        return all(j._status not in (Status.QUEUED, Status.STARTING, Status.RUNNING) for j in batch.jobs)


__all__ = ["Job", "JobManager", "JobView"]
