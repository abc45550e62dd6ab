"""Background training jobs: a process-wide manager with bounded workers and a FIFO queue.

A :class:`Job` is one run of a :class:`~labcore.spec.RunSpec`. Jobs submitted together (twin
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

Every run is reported to a :class:`~labcore.sinks.RunSink` made by ``sink_factory(job)`` (the
run store), from the worker thread: ``start`` once, ``append`` per chunk, ``finish`` at the end.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .metrics import LAYER_METRICS, MetricsChunk
from .spec import RunSpec

log = logging.getLogger(__name__)

ACTIVE = ("queued", "starting", "running", "paused")  # a job in one of these may still change
DONE = ("finished", "diverged", "stopped", "failed")


# ----------------------------------------------------------------------------- live metrics
class LiveMetrics:
    """The metrics a page shows while a run trains: bounded in memory.

    Per-layer rows are kept until ``max_rows``; then every other row is dropped and later rows
    are kept at the doubled stride, so a 1000-layer x 1M-step run stays a few MB. The every-step
    loss is kept whole (one float per step). The run store gets the full-resolution chunks.
    """

    def __init__(self, layers: list[str], max_cells: int = 2_000_000):
        self.layers = list(layers)
        per_row = len(LAYER_METRICS) * max(1, len(layers))
        self.max_rows = int(min(8192, max(256, max_cells // per_row)))
        self.stride, self._seen = 1, 0  # keep recorded row k when k % stride == 0
        self.steps = np.zeros(0, np.int64)
        self.loss = np.zeros(0)
        self.acc = np.zeros(0)
        self.layer = np.zeros((0, len(LAYER_METRICS), len(layers)), np.float32)
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                                   ("eval_steps", "test_loss", "test_acc", "all_steps", "step_loss")}

    def add(self, c: MetricsChunk) -> None:
        idx = np.arange(self._seen, self._seen + len(c.steps))
        self._seen += len(c.steps)
        keep = idx % self.stride == 0
        if len(c.steps) and not keep[-1]:
            keep[-1] = True  # the newest row is always shown ("current step")
        self.steps = np.concatenate([self.steps, c.steps[keep]])
        self.loss = np.concatenate([self.loss, c.loss[keep]])
        self.acc = np.concatenate([self.acc, c.acc[keep]])
        self.layer = np.concatenate([self.layer, c.layer[keep].astype(np.float32)])
        for k in self.parts:
            self.parts[k].append(getattr(c, k))
        while len(self.steps) > self.max_rows:
            self.stride *= 2
            sel = np.zeros(len(self.steps), bool)
            sel[::2] = True
            sel[-1] = True
            self.steps, self.loss, self.acc = self.steps[sel], self.loss[sel], self.acc[sel]
            self.layer = self.layer[sel]

    def chunk(self) -> MetricsChunk:
        flat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in self.parts.items()}
        for k, v in flat.items():  # merge the per-chunk lists once, so later views stay cheap
            self.parts[k] = [v]
        return MetricsChunk(self.layers, self.steps, self.loss, self.acc, self.layer,
                            flat["eval_steps"].astype(np.int64), flat["test_loss"], flat["test_acc"],
                            flat["all_steps"].astype(np.int64), flat["step_loss"])


# ----------------------------------------------------------------------------- views
@dataclass(frozen=True)
class JobView:
    """What a page reads: an immutable snapshot of a job at one moment."""

    id: str
    name: str
    spec: RunSpec
    status: str  # queued | starting | running | paused | finished | diverged | stopped | failed
    position: int | None  # 1-based place in the queue while queued, else None
    steps: int  # steps trained so far
    total_steps: int
    metrics: MetricsChunk  # live metrics (rows thinned for long runs)
    summary: dict  # Trainer.summary() plus wall-clock figures
    error: str | None
    version: int  # grows with every chunk or snapshot: a cache key for figures
    extras: dict = field(default_factory=dict)  # snapshot data: "boundary", "hist", "snapshot_step"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def done(self) -> bool:
        return self.status in DONE


class Job:
    """One run. Control methods are thread-safe and return at once."""

    def __init__(self, manager: "JobManager", spec: RunSpec, name: str, owner: str | None,
                 batch: "_Batch", paused: bool):
        self.manager = manager
        self.id = uuid.uuid4().hex[:12]
        self.spec, self.name, self.owner, self.batch = spec, name, owner, batch
        self.created = time.time()
        self._lock = threading.Lock()  # guards the fields below
        self.model_lock = threading.RLock()  # held whenever the trainer/model is used
        self._status = "queued"
        self._paused = paused
        self._credits = 0  # steps granted by step() while paused
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
            self._credits += steps or self.spec.train.flush_every
            self._version += 1
        self.manager._wake()

    def stop(self) -> None:
        self._stop.set()
        tr = self.trainer
        if tr is not None:
            tr.stop()
        self.manager._wake()

    def set_focus(self, layer: str | None) -> None:
        """Choose the layer whose histograms the next snapshot computes."""
        self.focus = layer

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def status(self) -> str:
        with self._lock:
            if self._status == "running" and self._paused and self._credits == 0 and not self._busy:
                return "paused"
            if self._status == "queued" and self._stop.is_set():
                return "stopped"
            return self._status

    @property
    def done(self) -> bool:
        return self.status in DONE

    # ------------------------------------------------------------------ reading (any thread)
    def view(self) -> JobView:
        """The latest snapshot; rebuilt only when something changed since the last call."""
        status, pos = self.status, self.manager.position(self)
        with self._lock:
            v = self._view
            if v is not None and v.version == self._version and v.status == status and v.position == pos:
                return v
            metrics = self.live.chunk() if self.live is not None else MetricsChunk.empty([])
            summary = dict(self.trainer.summary()) if self.trainer is not None else {}
            wall = ((self._ended or time.perf_counter()) - self._started) if self._started else 0.0
            summary["wall_seconds"] = wall
            summary["wall_steps_per_second"] = self._steps / wall if wall > 0 else 0.0
            if self.sink_error:
                summary["sink_error"] = self.sink_error
            self._view = JobView(self.id, self.name, self.spec, status, pos, self._steps,
                                 self.spec.train.steps, metrics, summary, self.error, self._version,
                                 dict(self.extras))
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
        if self.trainer is None or self.manager.snapshot_fn is None:
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
        try:
            data = self.manager.snapshot_fn(self.trainer, self.focus)
        except Exception as e:  # a failed picture must never end a run
            log.warning("snapshot of job %s failed: %s", self.id, e)
            data = {"snapshot_error": str(e)}
        with self._lock:
            self.extras = data
            self._version += 1

    def _set(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, v)
            self._version += 1

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
    """Jobs scheduled together on one worker (a single run, or twins A and B)."""

    def __init__(self):
        self.jobs: list[Job] = []


def _rng_state(device) -> tuple:
    import torch

    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device, state) -> None:
    import torch

    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


# ----------------------------------------------------------------------------- manager
class JobManager:
    """Process-wide, thread-safe. Hold one per process (the app keeps it in ``st.cache_resource``)."""

    def __init__(self, max_workers: int = 2, sink_factory: Callable | None = None, *,
                 snapshot_fn: Callable | None | str = "default", heartbeat_timeout: float = 120.0,
                 owner_alive: Callable[[str], bool] | None = None, gone_grace: float = 20.0,
                 chunk_seconds: float = 0.2, snapshot_seconds: float = 0.5, keep_done: int = 6):
        if snapshot_fn == "default":
            from .snapshot import take as snapshot_fn
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
        self._janitor = threading.Thread(target=self._janitor_loop, name="lab-janitor", daemon=True)
        self._janitor.start()

    # ------------------------------------------------------------------ public API
    def submit(self, spec: RunSpec, *, owner: str | None = None, name: str = "",
               paused: bool = False) -> Job:
        """Queue one run. ``paused=True`` queues it paused (then :meth:`Job.step` advances it)."""
        return self.submit_group([spec], owner=owner, names=[name], paused=paused)[0]

    def submit_group(self, specs: list[RunSpec], *, owner: str | None = None,
                     names: list[str] | None = None, paused: bool = False) -> list[Job]:
        """Queue runs that train together on one worker, chunk by chunk (twin runs)."""
        names = names or [""] * len(specs)
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
            live = [j for j in batch.jobs if j._status == "running"]
            if not live:
                return
            progressed = False
            for job in live:
                if job._stop.is_set():
                    self._finish_job(job)
                    continue
                n = job._steps_allowed(self._chunk_size(job))
                if n > 0:
                    self._run_chunk(job, n)
                    progressed = True
            if not progressed:
                with self._cond:  # every job paused: sleep until a control call wakes us
                    self._cond.wait(timeout=0.5)

    def _chunk_size(self, job: Job) -> int:
        """Steps per chunk: about ``chunk_seconds`` of training, whole recording periods."""
        t = job.spec.train
        tr = job.trainer
        sps = tr.steps_per_second if tr is not None else 0.0
        if tr is None or tr.step == 0 or sps <= 0:
            return 1  # step 1 is always recorded: the first chart appears at once
        else:
            n = int(sps * self.chunk_seconds)
        n = max(t.record_every, min(t.flush_every, n))
        return max(1, n - n % t.record_every)

    def _start_job(self, job: Job) -> None:
        from .train import Trainer  # imported here: torch loads only when a job runs

        if job._stop.is_set():
            job._set(_status="stopped")
            return
        job._set(_status="starting", _started=time.perf_counter())
        sink = None
        try:
            if self.sink_factory is not None:
                sink = self.sink_factory(job)
        except Exception as e:
            job.sink_error = f"{type(e).__name__}: {e}"
            log.warning("sink for job %s failed: %s", job.id, e)
        job._sink = sink
        try:
            with job.model_lock:
                trainer = Trainer(job.spec)
        except Exception as e:
            job._set(_status="failed", error=f"{type(e).__name__}: {e}", _ended=time.perf_counter())
            self._sink_call(job, "start", job.spec, name=job.name,
                            summary={"status": "failed", "steps": 0, "layers": []})
            self._sink_call(job, "finish", {"status": "failed", "steps": 0, "layers": []}, job.error)
            return
        job.trainer = trainer
        job._rng = _rng_state(trainer.device)  # right after the trainer seeded it
        if job._stop.is_set():
            trainer.stop()
        job._set(live=LiveMetrics(trainer.layers), _status="running")
        job._last_snap, job._snap_cost = 0.0, 0.0
        self._sink_call(job, "start", job.spec, name=job.name, summary=trainer.summary())

    def _run_chunk(self, job: Job, n: int) -> None:
        tr = job.trainer
        try:
            with job.model_lock:
                # Each job keeps its own RNG stream (dropout masks), so twins interleaved on
                # one worker train exactly as they would alone.
                _set_rng_state(tr.device, job._rng)
                chunk = tr.steps(n)
                job._rng = _rng_state(tr.device)
                now = time.perf_counter()
                # Snapshots cost a few forward passes: take them at most every snapshot_seconds
                # and never more than ~2% of the time (50x their own cost apart).
                gap = max(self.snapshot_seconds, 50 * job._snap_cost)
                snap = (self.snapshot_fn is not None and
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

    def _finish_job(self, job: Job, failed: bool = False) -> None:
        tr = job.trainer
        if tr is not None and not tr.done:
            tr.status = "failed" if failed else "stopped"
        status = "failed" if failed else (tr.status if tr is not None else "stopped")
        job._set(_status=status, _ended=time.perf_counter())
        summary = tr.summary() if tr is not None else {"status": status, "steps": 0, "layers": []}
        self._sink_call(job, "finish", summary, job.error)

    def _sink_call(self, job: Job, method: str, *args, **kw) -> None:
        sink = getattr(job, "_sink", None)
        if sink is None:
            return
        try:
            getattr(sink, method)(*args, **kw)
        except Exception as e:  # a broken store must not end the run; the page shows it
            job.sink_error = f"{type(e).__name__}: {e}"
            job._sink = None
            log.warning("run sink failed in %s for job %s: %s", method, job.id, e)


__all__ = ["ACTIVE", "DONE", "Job", "JobManager", "JobView", "LiveMetrics"]
