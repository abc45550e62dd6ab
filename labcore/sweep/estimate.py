"""The dry run: what a sweep will cost, measured, before it runs.

A calibration runs a few of the plan's own points in this process, on one thread (as a worker
does), for a short budget of steps: the cheapest point and the most expensive one by a simple
cost proxy (depth × width² × batch, the matmul work of a step), each at two step counts so that a
point's fixed cost (building the net, loading data) and its per-step cost are measured apart.
Every point's CPU-seconds are then interpolated on the proxy; the wall time on N workers is the
makespan of the points dealt longest-first to N workers, plus the pool's start-up.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from labcore.spec.codec import to_dict
from labcore.sweep.plan import SweepPlan, point_key
from labcore.sweep.worker import init_worker, run_point

WORKER_START_S = 6.0  # a spawned worker imports torch and labcore; re-measured by calibrate(start=True)


def _proxy(spec) -> float:
    net = spec.net
    work = sum(l.width * l.width for l in net.layers)
    return float(work * spec.train.batch_size)


@dataclass
class Estimate:
    points: int
    cpu_seconds: float  # all points, one thread each
    wall_seconds: float  # on ``workers`` workers, start-up included
    workers: int
    per_point: list  # CPU-seconds of each point, in plan order
    fixed_seconds: float  # per point, whatever its steps
    calibration_seconds: float  # what the calibration itself took
    start_seconds: float  # pool start-up included in wall_seconds
    wall_at_load: float = 0.0  # wall_seconds stretched by how busy the cores were while calibrating
    slowdown: float = 1.0  # wall/CPU of the calibration runs (1 on an idle machine)

    def to_dict(self) -> dict:
        return {"points": self.points, "cpu_seconds": self.cpu_seconds, "wall_seconds": self.wall_seconds,
                "workers": self.workers, "fixed_seconds_per_point": self.fixed_seconds,
                "calibration_seconds": self.calibration_seconds, "start_seconds": self.start_seconds,
                "wall_seconds_at_current_load": self.wall_at_load, "slowdown": self.slowdown,
                "per_point_seconds": {"min": min(self.per_point, default=0.0), "max": max(self.per_point, default=0.0),
                                      "mean": self.cpu_seconds / max(1, self.points)}}


def makespan(costs: list[float], workers: int) -> float:
    """Longest-first dealing of ``costs`` to ``workers``: the time the last one finishes."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        i = loads.index(min(loads))
        loads[i] += c
    return max(loads)


_LOAD: list[tuple[float, float]] = []  # (cpu, wall) of each calibration run


def _measure(spec, steps: int) -> float:
    from labcore.spec.edit import override

    s = override(spec, steps=steps)
    r = run_point(to_dict(s), "calibration")
    _LOAD.append((r["cpu_seconds"], r["wall_seconds"]))
    return r["cpu_seconds"] if r["status"] != "failed" else float("nan")


def estimate(plan: SweepPlan, workers: int = 2, *, calib_steps: int = 60, start_seconds: float | None = None) -> Estimate:
    """Calibrate on the plan's extreme points and predict its CPU-seconds and wall time."""
    t0 = time.perf_counter()
    init_worker()
    _LOAD.clear()
    pts = plan.points()
    specs = [plan.spec_for(p) for p in pts]
    proxies = [_proxy(s) for s in specs]
    lo, hi = proxies.index(min(proxies)), proxies.index(max(proxies))
    short, long = max(2, calib_steps // 6), calib_steps
    per_step, fixed = {}, []
    for i in sorted({lo, hi}):
        _measure(specs[i], short)  # warm-up: the first run in a process pays one-off costs
        a, b = _measure(specs[i], short), _measure(specs[i], long)
        per_step[i] = max(0.0, (b - a) / (long - short))
        fixed.append(max(0.0, a - per_step[i] * short))
    f = sum(fixed) / len(fixed)
    p_lo, p_hi = proxies[lo], proxies[hi]
    s_lo, s_hi = per_step[lo], per_step[hi]

    def step_cost(x: float) -> float:
        if p_hi == p_lo:
            return s_lo
        return s_lo + (s_hi - s_lo) * (x - p_lo) / (p_hi - p_lo)

    costs = [f + step_cost(x) * plan.steps for x in proxies]
    start = WORKER_START_S if start_seconds is None else start_seconds
    w = max(1, min(workers, len(costs)))
    wall = makespan(costs, w) + (start if w > 1 or start_seconds is not None else 0.0)
    cpu, real = sum(c for c, _ in _LOAD[1:]), sum(r for _, r in _LOAD[1:])
    slowdown = max(1.0, real / cpu) if cpu > 0 else 1.0  # other programs' share of the cores, now
    return Estimate(len(costs), sum(costs), wall, w, costs, f, time.perf_counter() - t0, start,
                    wall * slowdown, slowdown)


def plan_table(plan: SweepPlan, limit: int = 20) -> list[str]:
    """Lines listing the points (the first ``limit`` and a count of the rest)."""
    pts = plan.points()
    lines = [point_key(p) for p in pts[:limit]]
    if len(pts) > limit:
        lines.append(f"... and {len(pts) - limit} more")
    return lines
