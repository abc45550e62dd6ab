"""The app's sweep runner: one sweep at a time, in a background thread, into the shared store.

Process-wide (like the job manager): a sweep started from the Sweeps page keeps running while
the page reruns or the tab closes, and every session sees its progress. The thread only calls
:func:`labcore.sweep.run_sweep` (local process pool); it never calls ``st.*``.
"""
from __future__ import annotations

import os
import threading
import time

from labcore.sweep import SweepPlan, resume_sweep, run_sweep

MAX_POINTS = int(os.environ.get("LAB_SWEEP_MAX_POINTS", "400"))  # the page's size guard
MAX_POINT_STEPS = int(os.environ.get("LAB_SWEEP_MAX_POINT_STEPS", "150000"))  # points × steps
WORKERS = int(os.environ.get("LAB_SWEEP_WORKERS", "0")) or None  # default: every core


class SweepRunner:
    def __init__(self):
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.sweep_id: int | None = None
        self.progress = None  # labcore.sweep.Progress of the running sweep
        self.error: str | None = None
        self.total = 0
        self.started = 0.0

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def guard(self, plan: SweepPlan) -> str | None:
        """A reason to refuse this plan on the page (too big), or None."""
        if plan.size > MAX_POINTS:
            return "points"
        if plan.size * plan.steps > MAX_POINT_STEPS:
            return "steps"
        return None

    def start(self, plan: SweepPlan, store, workers: int | None = None, sweep_id: int | None = None) -> bool:
        workers = workers or WORKERS
        with self.lock:
            if self.running:
                return False
            self.stop_event = threading.Event()
            self.error, self.progress, self.total, self.started = None, None, plan.size, time.time()
            self.sweep_id = None
            ready = threading.Event()

            def on_progress(p):
                self.progress = p

            def target():
                try:
                    if sweep_id is not None:
                        self.sweep_id = sweep_id
                        ready.set()
                        resume_sweep(store, sweep_id, backend="local", workers=workers, stop=self.stop_event,
                                     progress=on_progress)
                    else:
                        from labcore.store import sweeps as ss

                        # Create the sweep row first so the page can show it before the pool is up.
                        sid = ss.create_sweep(store, plan.name, plan.to_dict(), plan.size)
                        self.sweep_id = sid
                        ready.set()
                        run_sweep(plan, store=store, backend="local", workers=workers, sweep_id=sid,
                                  stop=self.stop_event, progress=on_progress)
                except Exception as e:  # noqa: BLE001 - shown on the page
                    self.error = f"{type(e).__name__}: {e}"
                finally:
                    ready.set()

            self.thread = threading.Thread(target=target, name="sweep", daemon=True)
            self.thread.start()
        ready.wait(30)
        return True

    def stop(self) -> None:
        self.stop_event.set()


_RUNNER = SweepRunner()


def runner() -> SweepRunner:
    return _RUNNER
