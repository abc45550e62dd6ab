"""One background run and its snapshot: :class:`Job` (control flags, live metrics, the trainer)
and :class:`JobView` (what a page reads). The :class:`~labcore.train.jobs.JobManager` schedules
jobs; a Job never calls streamlit.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from labcore.core.family import family_of
from labcore.core.metrics import LiveMetrics, MetricsChunk
from labcore.core.status import ACTIVE, TERMINAL, Status

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- views
@dataclass(frozen=True)
class JobView:
    """What a page reads: an immutable snapshot of a job at one moment."""

    id: str
    name: str
    spec: object  # a spec of any registered family
    status: str  # a Status value
    position: int | None  # 1-based place in the queue while queued, else None
    steps: int  # steps trained so far
    total_steps: int
    metrics: MetricsChunk  # live metrics (rows thinned for long runs)
    summary: dict  # Trainer.summary() plus wall-clock figures
    error: str | None
    version: int  # grows with every chunk or snapshot: a cache key for figures
    extras: dict = field(default_factory=dict)  # snapshot data: "boundary", "hist", "snapshot_step"
    surgery: tuple = ()  # live changes applied or refused, oldest first (Job.surgery_log)
    pending_changes: int = 0  # live changes queued for the next chunk boundary

    @property
    def events(self) -> list[dict]:
        """The live changes applied so far (step, label, changes, notes, pause_ms...)."""
        return list(self.summary.get("events") or [])

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class Job:
    """One run. Control methods are thread-safe and return at once."""

    def __init__(self, manager, spec, name: str, owner: str | None,
                 batch: "_Batch", paused: bool):
        self.manager = manager
        self.id = uuid.uuid4().hex[:12]
        self.spec, self.name, self.batch = spec, name, batch
        if owner is not None and owner not in batch.watchers:
            batch.watchers.append(owner)
        self.family = family_of(spec)
        self.schedule = self.family.schedule(spec)
        self.created = time.time()
        self._lock = threading.Lock()  # guards the fields below
        self.model_lock = threading.RLock()  # held whenever the trainer/model is used
        self._status = Status.QUEUED
        self._paused = paused
        self._credits = 0  # steps granted by step() while paused
        self._catchup = False  # a private copy of a shared run, replaying up to where it was
        self._halt = False  # stop once the catch-up steps are trained (Stop on a private copy)
        self._stop = threading.Event()
        self._version = 0
        self._view: JobView | None = None
        self.trainer = None
        self.live: LiveMetrics | None = None
        self.error: str | None = None
        self.sink_error: str | None = None
        self.extras: dict = {}
        self.focus: str | None = None  # layer whose histograms the snapshot computes
        self._started = self._ended = None
        self._steps = 0
        self._busy = False  # a chunk is training right now
        # Worker-side state, set when the job starts.
        self._sink = None  # the run sink (the store), or None
        self._last_snap = 0.0  # perf_counter() of the last snapshot
        self._snap_cost = 0.0  # seconds the last snapshot took
        # Live surgery: changes queued by apply(), applied by the worker at the next chunk boundary.
        self._changes: list = []
        self._stored_summary: dict | None = None  # a finished run served from the run store
        self.surgery_log: list[dict] = []  # {"ok": bool, "label"/"error": str, "step": int}, newest last

    # ------------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        with self._lock:
            self._paused = True
        self.manager._wake()

    def resume(self) -> None:
        with self._lock:
            self._paused, self._credits = False, 0
        self.manager._wake()

    def step(self, steps: int | None = None) -> None:
        """Pause, then train one more chunk (``flush_every`` steps unless ``steps`` is given)."""
        with self._lock:
            self._paused = True
            self._credits += steps or self.schedule.flush_every
            self._version += 1
        self.manager._wake()

    def stop(self) -> None:
        with self._lock:  # a private copy still catching up stops where the shared run was
            if self._catchup and self._credits > 0 and self._status in (Status.QUEUED, Status.RUNNING):
                self._halt = True
                self.manager._wake()
                return
        self._stop.set()
        tr = self.trainer
        if tr is not None:
            tr.stop()
        self.manager._wake()

    def apply(self, change) -> list[dict]:
        """Queue a live change (a :class:`~labcore.spec.events.Change` or its dict form) for the
        next chunk boundary; thread-safe, returns at once with the diffs it will make.

        A change that cannot apply raises :class:`~labcore.spec.events.SurgeryError` here, with
        the run untouched: a finished run, a run not started yet, a family without live surgery,
        an unknown layer, a norm on a layer that has one...
        """
        from labcore.spec.events import Change, SurgeryError, advance, ended  # no torch: cheap

        if isinstance(change, dict):
            change = Change.from_dict(change)
        if len(self.batch.watchers) > 1:
            raise SurgeryError("run", "shared", "a run of your own",
                               "This run is shared with others who pressed Train on the same settings: "
                               "press Pause or Step first to get your own copy, then change it.")
        status = self.status
        if self.done:
            raise ended(str(status))
        tr = self.trainer
        if tr is None:
            raise SurgeryError("run", str(status), "a started run",
                               "This run has not started yet: try again in a moment.")
        if not hasattr(tr, "apply"):
            raise SurgeryError("run", self.family.name, "an MLP run",
                               "This kind of run takes no live changes (only the Lab's MLP runs do).")
        with self._lock:  # checked against the net as the queued changes will leave it
            state = tr.state
            for c in self._changes:
                try:
                    state = advance(state, c)[0]
                except SurgeryError:
                    pass
            diffs = advance(state, change)[1]
            self._changes.append(change)
            self._version += 1
        self.manager._wake()
        return diffs

    @property
    def pending_changes(self) -> int:
        with self._lock:
            return len(self._changes)

    def set_focus(self, layer: str | None) -> None:
        """Choose the layer whose histograms the next snapshot computes."""
        self.focus = layer

    @property
    def owner(self) -> str | None:
        """The first session that watches this run (None for a run nobody watches)."""
        w = self.batch.watchers
        return w[0] if w else None

    @property
    def watchers(self) -> list[str]:
        """The sessions that watch this run (several when identical submits share it)."""
        return list(self.batch.watchers)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def status(self) -> str:
        with self._lock:
            if self._status == Status.RUNNING and self._paused and self._credits == 0 and not self._busy:
                return Status.PAUSED
            if self._status == Status.QUEUED and self._stop.is_set():
                return Status.STOPPED
            if self._status == Status.RUNNING and not self._busy and self.manager._suspended(self.batch):
                return Status.PAUSED  # every watcher's tab is gone: it waits, off the workers
            return self._status

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    # ------------------------------------------------------------------ reading (any thread)
    def view(self) -> JobView:
        """The latest snapshot; rebuilt only when something changed since the last call."""
        status, pos = self.status, self.manager.position(self)
        with self._lock:
            v = self._view
            if v is not None and v.version == self._version and v.status == status and v.position == pos:
                return v
            metrics = self.live.chunk() if self.live is not None else MetricsChunk.empty([])
            summary = (dict(self.trainer.summary()) if self.trainer is not None
                       else dict(self._stored_summary or {}))
            wall = ((self._ended or time.perf_counter()) - self._started) if self._started else 0.0
            summary["wall_seconds"] = wall
            summary["wall_steps_per_second"] = self._steps / wall if wall > 0 else 0.0
            if self.sink_error:
                summary["sink_error"] = self.sink_error
            self._view = JobView(self.id, self.name, self.spec, status, pos, self._steps,
                                 self.schedule.total_steps, metrics, summary, self.error, self._version,
                                 dict(self.extras), tuple(self.surgery_log), len(self._changes))
            return self._view

    def wait_for_data(self, timeout: float) -> bool:
        """Block up to ``timeout`` s until the first chunk is in (or the job ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._steps > 0 or self.done:
                return True
            time.sleep(0.01)
        return False

    def refresh_snapshot(self) -> bool:
        """Recompute the snapshot now, in the caller's thread, if no worker is using the model.

        For a paused or finished job whose histogram layer changed. Returns False when the
        model is busy (the worker will refresh it at its next chunk boundary).
        """
        if self.trainer is None or self.manager.snapshot_for(self) is None:
            return False
        if not self.model_lock.acquire(blocking=False):
            return False
        try:
            self._snapshot()
        finally:
            self.model_lock.release()
        return True

    # ------------------------------------------------------------------ worker side
    def _snapshot(self) -> None:
        fn, tr = self.manager.snapshot_for(self), self.trainer
        try:  # next to a trainer that lives in a worker process (labcore.train.remote)
            data = tr.run_picture(fn, self.focus) if hasattr(tr, "run_picture") else fn(tr, self.focus)
        except Exception as e:  # a failed picture must never end a run
            log.warning("snapshot of job %s failed: %s", self.id, e)
            data = {"snapshot_error": str(e)}
        with self._lock:
            self.extras = data
            self._version += 1

    def _apply_changes(self) -> bool:
        """Worker side, holding ``model_lock``: apply the queued changes in order. A change that
        turns out not to apply (an earlier one changed the net) is logged and skipped."""
        from labcore.spec.events import SurgeryError

        applied = False
        while True:
            with self._lock:  # a change leaves the queue only once the trainer's state shows it,
                if not self._changes:  # so apply() always checks against one or the other
                    return applied
                c = self._changes[0]
            try:
                rec = self.trainer.apply(c)
                entry = {"ok": True, "step": rec["step"], "label": rec["label"], "record": rec}
            except SurgeryError as e:
                entry = {"ok": False, "step": self.trainer.step, "error": str(e)}
            with self._lock:
                self._changes.pop(0)
                self.surgery_log.append(entry)
                self._version += 1
            applied = True

    def _load_finished(self, metrics: MetricsChunk, summary: dict) -> None:
        """Become a finished run read from the run store (no trainer, no model, no pictures)."""
        live = LiveMetrics(list(metrics.layers))
        live.add(metrics)
        steps = int(summary.get("steps") or (metrics.all_steps[-1] if len(metrics.all_steps) else 0))
        status = Status(summary.get("status", Status.FINISHED.value))
        now = time.perf_counter()
        wall = summary.get("wall_seconds") or 0.0
        self._set(live=live, _steps=steps, _status=status, _stored_summary=dict(summary),
                  _started=now - wall, _ended=now)

    def _set(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, v)
            self._version += 1

    def _wants_worker(self) -> bool:
        """Whether a worker has something to do for this job now (start, train, stop, change)."""
        with self._lock:
            if self._status == Status.QUEUED:
                return True
            if self._status != Status.RUNNING:
                return False
            return (self._stop.is_set() or bool(self._changes) or not self._paused or self._credits > 0
                    or self._halt)

    def _steps_allowed(self, chunk: int) -> int:
        """Steps the worker may train now: 0 while paused without credits."""
        with self._lock:
            if not self._paused:
                self._busy = True
                return chunk
            n = min(chunk, self._credits)
            self._credits -= n
            self._busy = n > 0
            return n


class _Batch:
    """Jobs scheduled together, chunk by chunk in lockstep (a single run, or twins A and B), and
    the sessions that watch them (several when identical submits share the batch)."""

    def __init__(self, key: str | None = None):
        self.jobs: list[Job] = []
        self.watchers: list[str] = []
        self.key = key  # run_key of the specs when the batch may be shared, else None
        self.started = False  # had its first turn on a worker
        self.host: int | None = None  # with worker processes: the one holding its trainers

    @property
    def done(self) -> bool:
        return all(j.done for j in self.jobs)

