"""Process-wide resources, shared by every session: the Lab's job manager, the Models page's job
queue and the run store. Each is made once per server process; tests and the Runs page forget
the store with :func:`reset_run_store` (never by touching the module's variables).
"""
from __future__ import annotations

import logging
import os
import threading

import streamlit as st

from labcore.core.machine import usable_cores
from labcore.train.jobs import JobManager

log = logging.getLogger(__name__)

# The boundary and histograms are redrawn every few seconds while a run trains (ui/lab_live.py):
# a snapshot (a few forward passes, on the training thread) more often than this is wasted work.
SNAPSHOT_SECONDS = 2.0


def session_alive(session_id: str) -> bool:
    """False once the browser session is gone (tab closed); True when we cannot tell."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return Runtime.instance().is_active_session(session_id)
    except Exception:
        return True


# ----------------------------------------------------------------------------- run store
class _StoreSlot:
    """The shared RunStore, opened on first use; an error is remembered (the Runs page explains)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.store = None
        self.error: str | None = None
        self.tried = False


_store = _StoreSlot()


def run_store():
    """The shared run store, or None if it is missing or cannot be opened (the Runs page explains)."""
    with _store.lock:
        if not _store.tried:
            _store.tried = True
            try:
                from labcore.store.db import RunStore

                _store.store = RunStore()
            except Exception as e:  # corrupt file, unwritable LAB_HOME...
                _store.error = f"{type(e).__name__}: {e}"
                log.warning("run store unavailable: %s", e)
        return _store.store


def reset_run_store(*, close: bool = False) -> None:
    """Forget the shared store so the next :func:`run_store` opens it again (e.g. after the bad file
    was moved aside, or LAB_HOME changed in a test); ``close`` closes the old one."""
    with _store.lock:
        old, _store.store, _store.error, _store.tried = _store.store, None, None, False
    if close and old is not None:
        old.close()


_KEYS: dict[tuple[str, int], str] = {}  # (store path, run id) -> run_key of its spec (never changes)
_KEYS_LOCK = threading.Lock()
_LOOKED_AT = 500  # the newest runs searched for a finished run of a preset or lesson


def stored_runs(specs):
    """[(metrics, summary)] of finished stored runs with these specs' content keys (same family,
    spec, seed, events, device), or None: how a preset or lesson already run anywhere on this
    store is served at once (:class:`~labcore.train.jobs.JobManager`'s ``stored_runs``)."""
    from labcore.train.share import run_key

    store = run_store()
    if store is None:
        return None
    runs = [r for r in store.list_runs()[:_LOOKED_AT] if r["status"] in ("finished", "diverged")]
    found = []
    for spec in specs:
        want = run_key([spec])
        for r in runs:
            k = (str(store.path), r["id"])
            with _KEYS_LOCK:
                key = _KEYS.get(k)
            if key is None:
                try:
                    key = run_key([store.spec(r["id"])])  # with its live changes: a changed run never matches
                except Exception:
                    key = ""
                with _KEYS_LOCK:
                    _KEYS[k] = key
            if key == want:
                summary = {c: r[c] for c in ("status", "steps", "first_bad_step", "steps_per_second", "device",
                                             "params", "layers", "wall_seconds")}
                found.append((store.metrics(r["id"]), summary))
                break
        else:
            return None
    return found


def store_sink(job):
    """The run store's sink for a job (None without a store): every job manager records there."""
    store = run_store()
    return store.sink(name=job.name, tags=("lab",)) if store is not None else None


# ----------------------------------------------------------------------------- job managers
_TORCH_LOCK = threading.Lock()
_torch_ready = False


def import_training_stack() -> None:
    """Import torch and the trainers once per server, before any page code can (app.py calls it
    first in every page run). Page threads importing torch at the same moment trip importlib's
    deadlock detection and can see a half-built module ("'prims' object has no attribute
    'frexp'"); holding the interpreter's import lock instead deadlocked outright against a page
    thread already inside torch's import (found by the kill -9 browser test). Here the first
    thread imports under a plain lock and the others wait before they import anything of torch's."""
    global _torch_ready
    if _torch_ready:
        return
    with _TORCH_LOCK:
        if not _torch_ready:
            import labcore.train.device  # noqa: F401
            import labcore.train.mlp  # noqa: F401

            _torch_ready = True


_WARM_LOCK = threading.Lock()
_warm_started = False


def warm_up() -> None:
    """Start paying the other first-use costs (a first training step, the training processes, the
    emoji regex) in the background, once per server (app.py, after torch is imported)."""
    global _warm_started
    with _WARM_LOCK:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=_warm_up, args=(manager(),), name="lab-warmup", daemon=True).start()


def _warm_up(m: JobManager | None = None) -> None:
    """Pay first-use costs (torch, the training processes, Streamlit's emoji regex) before the
    first Train click."""
    try:
        if m is not None and m.hosts is not None:
            m.hosts.start()
        import_training_stack()
        if m is None or m.hosts is None:  # else the processes train, and warm up themselves
            from labcore.train.warm import warm_up_training

            warm_up_training()
        # Streamlit compiles its emoji regex (about 0.2 s) the first time an alert shows
        # non-ASCII text, such as the first diagnosis after Train: pay that now.
        from streamlit.string_util import extract_leading_emoji

        extract_leading_emoji("→ ")
    except Exception as e:
        log.warning("warm-up failed: %s", e)


@st.cache_resource
def manager() -> JobManager:
    """The Lab's job manager (thread-safe; one of the few cached objects pages may mutate)."""
    m = JobManager(max_workers=int(os.environ.get("LAB_MAX_JOBS", "2")), sink_factory=store_sink,
                   heartbeat_timeout=float(os.environ.get("LAB_JOB_TIMEOUT", "120")),
                   owner_alive=session_alive, gone_grace=float(os.environ.get("LAB_JOB_GONE_GRACE", "20")),
                   snapshot_seconds=SNAPSHOT_SECONDS, stored_runs=stored_runs,
                   max_active=int(os.environ.get("LAB_MAX_ACTIVE", "8")), processes=_train_processes())
    return m  # warmed up by warm_up() (app.py, right after torch is imported)


def _train_processes() -> int:
    """Worker processes for the Lab's training: ``LAB_TRAIN_PROCESSES`` (a number; 0 trains in the
    server's own threads), else one per worker (``LAB_MAX_JOBS``) on a machine without a GPU and
    with two cores or more. Processes take training off the pages' GIL (labcore.train.remote):
    six presets for a class of 30 on the 2-core machine, p99 10-16 s instead of 20-26 s (README,
    "Serving a classroom"). With a GPU the kernels run off the GIL anyway, and each process would
    hold a CUDA context of its own, so training stays in threads there."""
    raw = os.environ.get("LAB_TRAIN_PROCESSES", "auto").strip().lower()
    if raw != "auto":
        try:
            return max(0, int(raw))
        except ValueError:
            log.warning("LAB_TRAIN_PROCESSES=%r is not a number: training in threads", raw)
            return 0
    import torch  # imported already (import_training_stack runs first)

    mps = getattr(torch.backends, "mps", None)
    if usable_cores() < 2 or torch.cuda.is_available() or (mps is not None and mps.is_available()):
        return 0
    return max(1, int(os.environ.get("LAB_MAX_JOBS", "2")))


@st.cache_resource
def model_jobs() -> JobManager:
    """Full-model runs, one worker (these runs are heavy); thread-safe, like :func:`manager`.

    Jobs live until their browser session is gone (no heartbeat timeout: a finished experiment
    stays on screen while the tab is open); runs go to the run store like the Lab's.
    """
    return JobManager(max_workers=1, sink_factory=store_sink, heartbeat_timeout=float("inf"),
                      owner_alive=session_alive, keep_done=12)


def heartbeat(owner: str) -> None:
    """Keep ``owner``'s Lab jobs alive (the sidebar calls it every few seconds on every page)."""
    manager().heartbeat(owner)


__all__ = ["SNAPSHOT_SECONDS", "heartbeat", "manager", "model_jobs", "reset_run_store", "run_store",
           "session_alive", "store_sink", "stored_runs"]
