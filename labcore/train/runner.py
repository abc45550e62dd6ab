"""The worker side of :class:`~labcore.train.jobs.JobManager`: start a job's trainer, train one
chunk, apply queued live changes, finish, and feed the run sink. Runs on the manager's worker
threads only; split from :mod:`labcore.train.jobs` (which schedules) to keep each file short.
"""
from __future__ import annotations

import logging
import time

from labcore.core.metrics import LiveMetrics, MetricsChunk
from labcore.core.status import Status
from labcore.train.job import Job

log = logging.getLogger("labcore.train.jobs")


class _WorkerSide:
    """Mixed into JobManager: needs ``sink_factory``, ``chunk_seconds``, ``snapshot_seconds``,
    ``make_trainer`` and ``snapshot_for``."""

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
                trainer = self.make_trainer(job)
        except Exception as e:  # shown on the page, recorded by the sink
            failed = {"status": Status.FAILED.value, "steps": 0, "layers": []}
            job._set(_status=Status.FAILED, error=f"{type(e).__name__}: {e}", _ended=time.perf_counter())
            self._sink_call(job, "start", job.spec, name=job.name, summary=failed)
            self._sink_call(job, "finish", failed, job.error)
            return
        job.trainer = trainer
        if job._stop.is_set():
            trainer.stop()
        job._set(live=LiveMetrics(trainer.layers), _status=Status.RUNNING)
        self._sink_call(job, "start", job.spec, name=job.name, summary=trainer.summary())

    def _run_chunk(self, job: Job, n: int) -> None:
        tr = job.trainer
        try:
            with job.model_lock:
                # Each trainer draws from its own generators (labcore.train.rng), so twins
                # interleaved on one worker train exactly as they would alone.
                chunk = tr.steps(n)
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


def _use_cpu_threads(trainer) -> None:
    """Apply a torch trainer's thread wish on this worker (a trainer without one: nothing)."""
    if getattr(trainer, "cpu_threads", None):
        from labcore.train.device import use_cpu_threads  # torch: only for trainers that use it

        use_cpu_threads(trainer)


