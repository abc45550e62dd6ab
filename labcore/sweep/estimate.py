"""The dry run: what a sweep will cost, measured the way its points will run, before it runs.

A calibration starts the same process pool a local sweep starts (so its measured start-up is the
sweep's: the forkserver importing torch once in a fresh process, then forking the workers) and
runs a few of the plan's own points there, each as ``workers`` copies side by side, one torch
thread each: the cheapest point and the most expensive one by a simple cost proxy (depth × width² ×
batch, the matmul work of a step), each at two step counts, so that a point's fixed cost
(building the net, loading data) and its per-step cost are measured apart. Every point's
CPU-seconds are then interpolated on the proxy.

The wall time is the makespan of the points dealt longest-first to N workers, divided by the
share of a core each worker actually got during the calibration (CPU-seconds ÷ wall-seconds of
the calibration points, which ran N at a time: on a shared machine the other programs' load is in
it), plus the measured start-up. The prediction holds while the load stays what it was; the
assumptions (cores, load average, share, start-up) are returned with it so they can be printed.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import wait
from dataclasses import dataclass, field

from labcore.core.machine import usable_cores
from labcore.spec.codec import to_dict
from labcore.sweep.plan import SweepPlan, point_key
from labcore.sweep.worker import run_point


def _proxy(spec) -> float:
    net = spec.net
    work = sum(l.width * l.width for l in net.layers)
    return float(work * spec.train.batch_size)


@dataclass
class Estimate:
    points: int
    cpu_seconds: float  # all points, one thread each
    wall_seconds: float  # on ``workers`` workers with a whole core each, start-up included
    workers: int
    per_point: list  # CPU-seconds of each point, in plan order
    fixed_seconds: float  # per point, whatever its steps
    calibration_seconds: float  # what the calibration itself took (wall)
    start_seconds: float  # pool start-up (measured), included in both wall figures
    wall_at_load: float = 0.0  # the prediction: wall time at the CPU share the calibration got
    slowdown: float = 1.0  # 1 / share
    share: float = 1.0  # CPU-seconds ÷ wall-seconds per worker during the calibration (≤ 1)
    cores: int = 1  # cores this process may use
    load_average: float = 0.0  # 1-minute load average when the calibration ended (it included)
    assumptions: list = field(default_factory=list)  # human-readable lines

    def to_dict(self) -> dict:
        return {"points": self.points, "cpu_seconds": self.cpu_seconds, "wall_seconds": self.wall_seconds,
                "workers": self.workers, "fixed_seconds_per_point": self.fixed_seconds,
                "calibration_seconds": self.calibration_seconds, "start_seconds": self.start_seconds,
                "wall_seconds_at_current_load": self.wall_at_load, "slowdown": self.slowdown,
                "cpu_share_per_worker": self.share, "cores": self.cores, "load_average": self.load_average,
                "assumptions": list(self.assumptions),
                "per_point_seconds": {"min": min(self.per_point, default=0.0), "max": max(self.per_point, default=0.0),
                                      "mean": self.cpu_seconds / max(1, self.points)}}


def makespan(costs: list[float], workers: int) -> float:
    """Longest-first dealing of ``costs`` to ``workers``: the time the last one finishes."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        i = loads.index(min(loads))
        loads[i] += c
    return max(loads)


def _pick(proxies: list[float], target: float) -> int:
    """The middle one of the points whose proxy is ``target`` (a phase diagram's extreme depth at a
    middle σ_w: the gains at the edges vanish or saturate and cost a little less or more)."""
    idx = [i for i, p in enumerate(proxies) if p == target]
    return idx[len(idx) // 2]


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def estimate(plan: SweepPlan, workers: int = 2, *, calib_steps: int = 60, backend: str = "local") -> Estimate:
    """Calibrate on the plan's extreme points, in a pool like the sweep's, and predict its cost."""
    from labcore.spec.edit import override
    from labcore.sweep.backends import start_pool

    t0 = time.perf_counter()
    pts = plan.points()
    specs = [plan.spec_for(p) for p in pts]
    proxies = [_proxy(s) for s in specs]
    lo, hi = _pick(proxies, min(proxies)), _pick(proxies, max(proxies))
    long = max(2, min(calib_steps, plan.steps))
    short = max(1, long // 6)
    w = max(1, min(workers, len(pts))) if backend != "serial" else 1
    ts = time.perf_counter()
    ex = start_pool(w)
    start = time.perf_counter() - ts
    runs = {}
    try:
        # each job w times in a row, so the w copies run side by side: every measured point shares
        # the cores (caches, memory bandwidth, the other programs) as the sweep's points will,
        # instead of the dearest one finishing alone after the cheap ones are done
        jobs = [(i, n) for n in (long, short) for i in sorted({hi, lo}, reverse=True) for _ in range(w)]
        futs = {ex.submit(run_point, to_dict(override(specs[i], steps=n)), f"calibration {i} {n} {k}"): (i, n)
                for k, (i, n) in enumerate(jobs)}
        wait(list(futs))
        for f, (i, n) in futs.items():
            r = f.result()
            if r["status"] != "failed":
                runs.setdefault((i, n), []).append((r["cpu_seconds"], r["wall_seconds"]))
    finally:
        ex.shutdown(wait=True)
    per_step, fixed = {}, []
    for i in sorted({lo, hi}):
        a = _median([c for c, _ in runs.get((i, short), [(float("nan"), 1.0)])])
        b = _median([c for c, _ in runs.get((i, long), [(float("nan"), 1.0)])])
        per_step[i] = max(0.0, (b - a) / (long - short)) if long > short else b / long
        fixed.append(max(0.0, a - per_step[i] * short))
    f = sum(fixed) / len(fixed)
    p_lo, p_hi = proxies[lo], proxies[hi]
    s_lo, s_hi = per_step[lo], per_step[hi]

    def step_cost(x: float) -> float:
        if p_hi == p_lo:
            return s_lo
        return s_lo + (s_hi - s_lo) * (x - p_lo) / (p_hi - p_lo)

    costs = [f + step_cost(x) * plan.steps for x in proxies]
    allruns = [cw for v in runs.values() for cw in v]
    cpu, real = sum(c for c, _ in allruns), sum(r for _, r in allruns)
    share = min(1.0, cpu / real) if real > 0 and cpu > 0 else 1.0
    if backend == "serial":
        start = 0.0  # the points run in this process: nothing starts
    span = makespan(costs, w)
    wall_idle = span + start
    wall = span / share + start
    cores, load = usable_cores(), _load()
    assumptions = [
        f"{w} worker(s) on {cores} core(s); 1-minute load average {load:.1f} at the end of the calibration "
        f"(its own {w} worker(s) included)",
        f"each worker got {share:.0%} of a core while {w} ran side by side (CPU ÷ wall of the calibration "
        f"points); the sweep is assumed to get the same share",
        f"start-up {start:.1f} s measured ({'the pool: forkserver importing torch once, then forking' if backend != 'serial' else 'none: serial runs in this process'})",
        f"per point {f:.2f} CPU-s fixed + per-step cost interpolated on depth × width² between the "
        f"calibrated points ({short} and {long} steps)",
    ]
    return Estimate(len(costs), sum(costs), wall_idle, w, costs, f, time.perf_counter() - t0, start,
                    wall, 1.0 / share, share, cores, load, assumptions)


def plan_table(plan: SweepPlan, limit: int = 20) -> list[str]:
    """Lines listing the points (the first ``limit`` and a count of the rest)."""
    pts = plan.points()
    lines = [point_key(p) for p in pts[:limit]]
    if len(pts) > limit:
        lines.append(f"... and {len(pts) - limit} more")
    return lines
