"""Run a sweep: plan -> points -> a backend -> results streamed into the run store as they finish.

:func:`run_sweep` starts a new sweep (or, with ``sweep_id``, resumes one: points whose result is
already stored are skipped, and leftovers of an interrupted attempt are run again). Each result is
written as a run of the sweep (its spec, metrics chunk, status and summary) the moment it
arrives, so a stopped or killed sweep keeps every point it finished. ``progress`` is called after
each point with a :class:`Progress` (done, total, ETA). Without a store the results are only
returned (the CLI's ``--no-store``).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from labcore.spec.codec import to_dict
from labcore.store import sweeps as sweep_store
from labcore.sweep.backends import default_workers, run_tasks
from labcore.sweep.plan import SweepPlan, point_key

DONE = ("finished", "diverged", "failed")  # a stored point with one of these is not run again
SUMMARY_KEYS = ("status", "steps", "first_bad_step", "grad_ratio", "signal_ratio_init", "final_loss", "test_acc",
                "test_loss", "error", "cpu_seconds", "wall_seconds")


@dataclass
class Progress:
    total: int  # points in the plan
    done: int  # points with a result (before this attempt included)
    skipped: int  # done before this attempt (resume)
    elapsed: float  # seconds since this attempt started
    failed: int = 0
    last: dict | None = None  # the result that just arrived
    first_at: float | None = None  # when this attempt's first result arrived (after the pool started)

    @property
    def eta(self) -> float | None:
        """Seconds left, from the rate since the first result (so the pool's start-up is not
        spread over the rest); None until two points have arrived."""
        ran = self.done - self.skipped
        if ran < 2 or self.first_at is None:
            return None if self.done < self.total else 0.0
        return (self.elapsed - self.first_at) / (ran - 1) * (self.total - self.done)


@dataclass
class SweepResult:
    sweep_id: int | None
    plan: SweepPlan
    results: list[dict] = field(default_factory=list)  # this attempt's points, in arrival order
    skipped: int = 0
    stopped: bool = False
    wall_seconds: float = 0.0
    backend: str = "local"
    workers: int = 1

    @property
    def points_per_second(self) -> float:
        return len(self.results) / self.wall_seconds if self.wall_seconds > 0 else 0.0


def summary_of(result: dict) -> dict:
    return {k: result.get(k) for k in SUMMARY_KEYS}


def _record(store, sweep_id: int, plan: SweepPlan, point: dict, result: dict) -> int:
    spec = plan.spec_for(point)
    s = result.get("summary") or {}
    rid = store.create_run(spec, name=f"{plan.name} {result['key']}".strip(), summary=s,
                           tags=("sweep",), sweep=(sweep_id, result["key"]))
    if result.get("chunk") is not None:
        store.append(rid, result["chunk"], {**s, "status": result["status"]}, wall_seconds=result["wall_seconds"])
    store.finish(rid, {**s, "status": result["status"], "steps": result["steps"],
                       "first_bad_step": result["first_bad_step"]},
                 error=result.get("error"), wall_seconds=result["wall_seconds"])
    sweep_store.set_point_summary(store, rid, summary_of(result))
    return rid


def run_sweep(plan: SweepPlan, *, store=None, backend: str = "local", workers: int | None = None,
              address: str | None = None, sweep_id: int | None = None, stop: threading.Event | None = None,
              progress=None, retry_failed: bool = False) -> SweepResult:
    """Run (or resume) a sweep; returns this attempt's results. Never raises for a bad point."""
    keys = plan.check()  # every point's spec is valid before anything starts (SpecError otherwise)
    points = dict(zip(keys, plan.points()))
    workers = workers or default_workers()
    done_keys: set[str] = set()
    if store is not None:
        if sweep_id is None:
            sweep_id = sweep_store.create_sweep(store, plan.name, plan.to_dict(), len(points))
        else:
            df = sweep_store.sweep_points(store, sweep_id)
            keep = DONE if not retry_failed else ("finished", "diverged")
            if len(df):
                done_keys = set(df.loc[df["status"].isin(keep), "point"])
                stale = df.loc[~df["status"].isin(keep), "run_id"].tolist()
                if stale:
                    sweep_store.delete_points(store, sweep_id, stale)
            sweep_store.set_sweep_status(store, sweep_id, "running")
    todo = [(to_dict(plan.spec_for(points[k])), k) for k in keys if k not in done_keys]
    out = SweepResult(sweep_id, plan, skipped=len(done_keys), backend=backend, workers=workers)
    prog = Progress(total=len(points), done=len(done_keys), skipped=len(done_keys), elapsed=0.0)
    stop = stop or threading.Event()
    t0 = time.perf_counter()
    try:
        for r in run_tasks(todo, backend, workers=workers, address=address, stop=stop):
            if store is not None:
                r["run_id"] = _record(store, sweep_id, plan, points[r["key"]], r)
            out.results.append(r)
            prog.done += 1
            prog.failed += r["status"] == "failed"
            prog.elapsed, prog.last = time.perf_counter() - t0, r
            if prog.first_at is None:
                prog.first_at = prog.elapsed
            if progress is not None:
                progress(prog)
    finally:
        out.wall_seconds = time.perf_counter() - t0
        out.stopped = stop.is_set() and prog.done < prog.total
        if store is not None:
            status = "finished" if prog.done >= prog.total else "stopped"
            sweep_store.set_sweep_status(store, sweep_id, status)
    return out


def resume_sweep(store, sweep_id: int, **kw) -> SweepResult:
    """Run the points of a stored sweep that have no result yet (the plan comes from the store)."""
    plan = SweepPlan.from_dict(sweep_store.get_sweep(store, sweep_id)["plan"])
    return run_sweep(plan, store=store, sweep_id=sweep_id, **kw)
