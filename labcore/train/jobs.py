"""Background training jobs: a process-wide manager with bounded workers and a FIFO queue.

A :class:`Job` is one run of a spec of any registered family (:mod:`labcore.core.family`): the
manager makes its trainer with the family's ``make_trainer`` and never looks at the spec itself. Jobs submitted together (twin
runs A and B) form one *batch*: a batch takes one worker and its jobs advance chunk by chunk in
lockstep, so a twin pair finishes together and never waits for itself. Batches wait in a FIFO
queue; a queued job knows its place (:attr:`JobView.position`).

The page never touches a trainer. It calls the control methods (:meth:`Job.pause`,
:meth:`Job.resume`, :meth:`Job.step`, :meth:`Job.stop`), which only set flags, and reads
:meth:`Job.view`, an immutable snapshot (status, thinned live metrics, summary, the latest
decision-boundary / histogram data). Workers never call streamlit.

Jobs belong to an *owner* (a browser session). The owner sends heartbeats; when they stop for
``heartbeat_timeout`` seconds, or an ``owner_alive`` callback reports the owner gone for
``gone_grace`` seconds, its jobs are stopped and forgotten, so a closed tab frees its worker.

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
from labcore.core.metrics import LiveMetrics, MetricsChunk
from labcore.core.status import Status
from labcore.train.job import Job, JobView, _Batch, _rng_state, _set_rng_state

log = logging.getLogger(__name__)



# ----------------------------------------------------------------------------- manager
class JobManager:
    """Process-wide, thread-safe. Hold one per process (the app keeps it in ``st.cache_resource``)."""

    def __init__(self, max_workers: int = 2, sink_factory: Callable | None = None, *,
                 snapshot_fn: Callable | None | str = "default", heartbeat_timeout: float = 120.0,
                 owner_alive: Callable[[str], bool] | None = None, gone_grace: float = 20.0,
                 chunk_seconds: float = 0.2, snapshot_seconds: float = 0.5, keep_done: int = 6,
                 janitor: bool = True):
        self.max_workers = max(1, int(max_workers))
        self.sink_factory = sink_factory
        self.snapshot_fn = snapshot_fn
        self.heartbeat_timeout, self.gone_grace = heartbeat_timeout, gone_grace
        self.owner_alive = owner_alive
        self.chunk_seconds, self.snapshot_seconds = chunk_seconds, snapshot_seconds
        self.keep_done = keep_done
        self._cond = threading.Condition()
        self._queue: collections.deque[_Batch] = collections.deque()
        self._jobs: dict[str, Job] = {}
        self._beats: dict[str, float] = {}
        self._gone_since: dict[str, float] = {}
        self._workers: list[threading.Thread] = []
        self._running = 0
        self._shutdown = False
        # The janitor reaps gone owners in the background; a test driving reap() with its own
        # clock turns it off (janitor=False) so the two cannot race.
        self._janitor = threading.Thread(target=self._janitor_loop, name="lab-janitor", daemon=True)
        if janitor:
            self._janitor.start()

    # ------------------------------------------------------------------ public API
    def submit(self, spec, *, owner: str | None = None, name: str = "",
               paused: bool = False) -> Job:
        """Queue one run. ``paused=True`` queues it paused (then :meth:`Job.step` advances it)."""
        return self.submit_group([spec], owner=owner, names=[name], paused=paused)[0]

    def submit_group(self, specs: list, *, owner: str | None = None,
                     names: list[str] | None = None, paused: bool = False) -> list[Job]:
        """Queue runs that train together on one worker, chunk by chunk (twin runs).

        The specs may be of any registered family; an unknown one, or one its family's ``check``
        refuses (a cross-field error, over the size budget), is a SpecError here, at once.
        """
        names = names or [""] * len(specs)
        for s in specs:  # checks across fields and the size guard: refused here, never a failed run
            family_of(s).check(s)
        batch = _Batch()
        batch.jobs = [Job(self, s, n, owner, batch, paused) for s, n in zip(specs, names)]
        with self._cond:
            if self._shutdown:
                raise RuntimeError("the job manager is shut down")
            if owner is not None:
                self._beats[owner] = time.monotonic()
            for j in batch.jobs:
                self._jobs[j.id] = j
            self._queue.append(batch)
            if len(self._workers) < self.max_workers and self._running + len(self._queue) > len(self._workers):
                t = threading.Thread(target=self._worker_loop, name=f"lab-worker-{len(self._workers)}", daemon=True)
                self._workers.append(t)
                t.start()
            self._cond.notify_all()
        return batch.jobs

    def get(self, job_id: str | None) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) if job_id else None

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._cond:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    def position(self, job: Job) -> int | None:
        """1-based place of the job's batch in the queue, None once it has a worker."""
        with self._cond:
            for i, b in enumerate(self._queue):
                if b is job.batch:
                    return i + 1
        return None

    def queue_length(self) -> int:
        with self._cond:
            return len(self._queue)

    def heartbeat(self, owner: str) -> None:
        """The owner (a browser session) is still there."""
        with self._cond:
            self._beats[owner] = time.monotonic()
            self._gone_since.pop(owner, None)

    def forget(self, job_id: str) -> None:
        """Stop a job if needed and drop it (and its model) from the manager."""
        with self._cond:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            job.stop()

    def reap(self, now: float | None = None) -> list[str]:
        """Stop and forget the jobs of owners that are gone. Returns the owners reaped."""
        now = time.monotonic() if now is None else now
        with self._cond:
            owners = {j.owner for j in self._jobs.values() if j.owner is not None}
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
                        self._gone_since.pop(o, None)
                    else:
                        since = self._gone_since.setdefault(o, now)
                        stale = now - since > self.gone_grace
            if stale:
                gone.append(o)
        for o in gone:
            for j in self.jobs(o):
                self.forget(j.id)
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

    # ------------------------------------------------------------------ internals
    def snapshot_for(self, job: Job):
        """The picture function for a job: the manager's own, or its family's (``"default"``)."""
        return job.family.snapshot if self.snapshot_fn == "default" else self.snapshot_fn

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _trim_done(self) -> None:
        """Keep at most ``keep_done`` finished jobs per owner (each holds a model)."""
        with self._cond:
            by_owner: dict = collections.defaultdict(list)
            for j in self._jobs.values():
                if j.done:
                    by_owner[j.owner].append(j)
            for lst in by_owner.values():
                lst.sort(key=lambda j: j.created)
                for j in lst[:-self.keep_done] if len(lst) > self.keep_done else []:
                    self._jobs.pop(j.id, None)

    def _janitor_loop(self) -> None:
        while True:
            with self._cond:
                if self._shutdown:
                    return
                self._cond.wait(timeout=min(5.0, max(0.05, min(self.heartbeat_timeout, self.gone_grace) / 4)))
                if self._shutdown:
                    return
            try:
                self.reap()
            except Exception:  # the janitor must survive anything
                log.exception("reaping jobs failed")

    def _worker_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._shutdown:
                    self._cond.wait()
                if self._shutdown:
                    return
                batch = self._queue.popleft()
                self._running += 1
            try:
                self._run_batch(batch)
            except Exception:
                log.exception("worker crashed on a batch")
            finally:
                with self._cond:
                    self._running -= 1

    def _run_batch(self, batch: _Batch) -> None:
        for job in batch.jobs:
            self._start_job(job)
        while True:
            live = [j for j in batch.jobs if j._status == Status.RUNNING]
            if not live:
                return
            progressed = False
            for job in live:
                if job._stop.is_set():
                    self._finish_job(job)
                    continue
                if job._changes:  # live surgery, at this chunk boundary (also while paused)
                    self._apply_changes(job)
                n = job._steps_allowed(self._chunk_size(job))
                if n > 0:
                    self._run_chunk(job, n)
                    progressed = True
            if not progressed:
                with self._cond:  # every job paused: sleep until a control call wakes us
                    self._cond.wait(timeout=0.5)

    def _chunk_size(self, job: Job) -> int:
        """Steps per chunk: about ``chunk_seconds`` of training, whole recording periods."""
        t = job.schedule
        tr = job.trainer
        sps = tr.steps_per_second if tr is not None else 0.0
        if tr is None or tr.step == 0 or sps <= 0:
            return 1  # step 1 is always recorded: the first chart appears at once
        else:
            n = int(sps * self.chunk_seconds)
        n = max(t.record_every, min(t.flush_every, n))
        return max(1, n - n % t.record_every)

    def _start_job(self, job: Job) -> None:
        """Make the job's trainer through its family; a failure ends the job as ``failed``."""
        if job._stop.is_set():
            job._set(_status=Status.STOPPED)
            return
        job._set(_status=Status.STARTING, _started=time.perf_counter())
        try:
            if self.sink_factory is not None:
                job._sink = self.sink_factory(job)
        except Exception as e:  # a missing store never blocks a run; the page shows it
            job.sink_error = f"{type(e).__name__}: {e}"
            log.warning("sink for job %s failed: %s", job.id, e)
        try:
            with job.model_lock:
                trainer = job.family.make_trainer(job.spec)
        except Exception as e:  # shown on the page, recorded by the sink
            failed = {"status": Status.FAILED.value, "steps": 0, "layers": []}
            job._set(_status=Status.FAILED, error=f"{type(e).__name__}: {e}", _ended=time.perf_counter())
            self._sink_call(job, "start", job.spec, name=job.name, summary=failed)
            self._sink_call(job, "finish", failed, job.error)
            return
        job.trainer = trainer
        job._rng = _rng_state(getattr(trainer, "device", None))  # right after the trainer seeded it
        if job._stop.is_set():
            trainer.stop()
        job._set(live=LiveMetrics(trainer.layers), _status=Status.RUNNING)
        self._sink_call(job, "start", job.spec, name=job.name, summary=trainer.summary())

    def _run_chunk(self, job: Job, n: int) -> None:
        tr = job.trainer
        try:
            with job.model_lock:
                # Each job keeps its own RNG stream (dropout masks), so twins interleaved on
                # one worker train exactly as they would alone.
                _set_rng_state(getattr(tr, "device", None), job._rng)
                chunk = tr.steps(n)
                job._rng = _rng_state(getattr(tr, "device", None))
                now = time.perf_counter()
                # Snapshots cost a few forward passes: take them at most every snapshot_seconds
                # and never more than ~2% of the time (50x their own cost apart).
                gap = max(self.snapshot_seconds, 50 * job._snap_cost)
                snap = (self.snapshot_for(job) is not None and
                        (tr.done or now - job._last_snap >= gap or job._paused))
                if snap:
                    job._snapshot()
                    job._last_snap = time.perf_counter()
                    job._snap_cost = job._last_snap - now
        except Exception as e:
            job.live.add(MetricsChunk.empty(tr.layers))
            job._set(error=f"{type(e).__name__}: {e}", _busy=False)
            log.exception("job %s failed", job.id)
            self._finish_job(job, failed=True)
            return
        with job._lock:
            job.live.add(chunk)
            job._steps = tr.step
            job._version += 1
            job._busy = False
        self._sink_call(job, "append", chunk, tr.summary())
        if tr.done:
            self._finish_job(job)

    def _apply_changes(self, job: Job) -> None:
        tr = job.trainer
        try:
            with job.model_lock:
                applied = job._apply_changes()
        except Exception as e:  # a failed surgery ends the run as failed, never silently
            job._set(error=f"{type(e).__name__}: {e}")
            log.exception("surgery on job %s failed", job.id)
            self._finish_job(job, failed=True)
            return
        if applied:  # the store gets the event now, even while the run stays paused
            self._sink_call(job, "append", MetricsChunk.empty(tr.layers), tr.summary())

    def _finish_job(self, job: Job, failed: bool = False) -> None:
        tr = job.trainer
        if tr is not None and not tr.done:
            tr.status = Status.FAILED if failed else Status.STOPPED
        status = Status.FAILED if failed else (tr.status if tr is not None else Status.STOPPED)
        job._set(_status=status, _ended=time.perf_counter())
        summary = tr.summary() if tr is not None else {"status": str(status), "steps": 0, "layers": []}
        self._sink_call(job, "finish", summary, job.error)

    def _sink_call(self, job: Job, method: str, *args, **kw) -> None:
        sink = job._sink
        if sink is None:
            return
        try:
            getattr(sink, method)(*args, **kw)
        except Exception as e:  # a broken store must not end the run; the page shows it
            job.sink_error = f"{type(e).__name__}: {e}"
            job._sink = None
            log.warning("run sink failed in %s for job %s: %s", method, job.id, e)


__all__ = ["Job", "JobManager", "JobView"]
