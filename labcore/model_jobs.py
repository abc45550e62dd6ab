"""Full-model runs on the job queue: :class:`ModelJobManager` starts :class:`ImageTrainer` jobs.

:class:`labcore.jobs.JobManager` builds ``Trainer(job.spec)`` for every job. This subclass
overrides only that start step: a :class:`ModelRunSpec` job gets an :class:`ImageTrainer`,
anything else goes to the base class. Queueing, lockstep batches (the four runs of the
degradation experiment advance together on one worker), pause/step/stop, live metrics, views
and run sinks are the base class's. ``ModelRunSpec.train`` gives the scheduler the numbers it
reads (total steps, record/flush periods).

When ``JobManager`` grows a trainer factory, this file shrinks to that one line.
"""
from __future__ import annotations

import logging
import time

from .jobs import JobManager, LiveMetrics, _rng_state
from .model_spec import ModelRunSpec

log = logging.getLogger(__name__)


class ModelJobManager(JobManager):
    def __init__(self, *args, **kw):
        kw.setdefault("snapshot_fn", None)  # decision boundaries/histograms are MLP pictures
        super().__init__(*args, **kw)

    def _start_job(self, job) -> None:
        if not isinstance(job.spec, ModelRunSpec):
            return super()._start_job(job)
        from .imagetrain import ImageTrainer  # torch loads only when a job runs

        if job._stop.is_set():
            job._set(_status="stopped")
            return
        job._set(_status="starting", _started=time.perf_counter())
        job._sink = None
        if self.sink_factory is not None:
            try:
                job._sink = self.sink_factory(job)
            except Exception as e:  # noqa: BLE001 - a missing store never blocks a run
                job.sink_error = f"{type(e).__name__}: {e}"
        try:
            with job.model_lock:
                trainer = ImageTrainer(job.spec)
        except Exception as e:  # noqa: BLE001 - shown on the page, recorded by the sink
            failed = {"status": "failed", "steps": 0, "layers": []}
            job._set(_status="failed", error=f"{type(e).__name__}: {e}", _ended=time.perf_counter())
            self._sink_call(job, "start", job.spec, name=job.name, summary=failed)
            self._sink_call(job, "finish", failed, job.error)
            return
        job.trainer = trainer
        job._rng = _rng_state(trainer.device)
        if job._stop.is_set():
            trainer.stop()
        job._set(live=LiveMetrics(trainer.layers), _status="running")
        job._last_snap, job._snap_cost = 0.0, 0.0
        self._sink_call(job, "start", job.spec, name=job.name, summary=trainer.summary())


__all__ = ["ModelJobManager"]
