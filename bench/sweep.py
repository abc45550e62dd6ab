"""Sweep throughput, measured side by side: points per second of

* ``serial``: the same points one after another in this process (the baseline),
* ``local``: the process pool on ``--workers`` cores (one torch thread each),
* ``ray``: a local Ray instance with ``--workers`` CPUs (when Ray is installed),

in interleaved rounds, on a small phase diagram (tanh, depth × σ_w). Each backend's time counts
its start-up: the local pool's forkserver imports torch once per process (in round 1) and
forks the workers of every later pool from it; Ray is started (and its workers warmed) before the
first round and reused, as a cluster would be. Each round prints the load average and the
CPU-seconds per point of each backend (the machine may be shared: compare within a round). Prints the ratios (local ÷ serial, ray ÷ local) per
round and their medians, and the measured CPU-seconds per point that the README's 10,000-point
extrapolation uses. Not a test: nothing here asserts a time.

    python bench/sweep.py --rounds 3 --workers 2
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labcore.sweep import phase_plan, run_sweep  # noqa: E402
from labcore.sweep.backends import ray_available, shutdown_ray, start_local_ray  # noqa: E402


def once(plan, backend: str, workers: int) -> tuple[float, float, float]:
    """(points/s start-up included, points/s after the first result, CPU-seconds per point)."""
    marks = []
    t = time.perf_counter()
    res = run_sweep(plan, backend=backend, workers=workers, progress=lambda p: marks.append(time.perf_counter()))
    wall = time.perf_counter() - t
    assert all(r["status"] == "finished" for r in res.results), [r["error"] for r in res.results]
    steady = (len(marks) - 1) / (marks[-1] - marks[0]) if len(marks) > 1 and marks[-1] > marks[0] else float("nan")
    return len(res.results) / wall, steady, sum(r["cpu_seconds"] for r in res.results) / len(res.results)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--depths", default="10,20,30")
    ap.add_argument("--gains", default="0.75,1.0,1.25,1.5,2.0")
    a = ap.parse_args()
    depths = [int(x) for x in a.depths.split(",")]
    gains = [float(x) for x in a.gains.split(",")]
    plan = phase_plan("tanh", depths, gains, a.steps, width=64)
    backends = ["serial", "local"] + (["ray"] if ray_available() else [])
    if "ray" in backends:
        start_local_ray(a.workers)
    print(f"{plan.size} points × {a.steps} steps (tanh, width 64, depths {depths}); {a.workers} workers; "
          f"backends {backends}")
    rows = {b: [] for b in backends}
    steady = {b: [] for b in backends}
    cpu = []
    cpus = {b: [] for b in backends}
    for r in range(a.rounds):
        for b in backends:
            pps, st, c = once(plan, b, a.workers)
            rows[b].append(pps)
            steady[b].append(st)
            cpu.append(c)
            cpus[b].append(c)
        line = "  ".join(f"{b} {rows[b][-1]:.2f} ({steady[b][-1]:.2f}) pts/s {cpus[b][-1]:.2f} CPU-s/pt"
                         for b in backends)
        line = f"load {os.getloadavg()[0]:.1f}  " + line
        ratio = f"local/serial {rows['local'][-1] / rows['serial'][-1]:.2f}"
        if "ray" in rows:
            ratio += f"  ray/local {rows['ray'][-1] / rows['local'][-1]:.2f}"
        print(f"round {r + 1}: {line}  |  {ratio}", flush=True)
    med = {b: statistics.median(v) for b, v in rows.items()}
    med_steady = {b: statistics.median(v) for b, v in steady.items()}
    print("(in brackets: after the first point, i.e. without the workers' start-up)")
    print("median points/s after the first point: " + ", ".join(f"{b} {v:.2f}" for b, v in med_steady.items()))
    print(f"steady local ÷ serial {med_steady['local'] / med_steady['serial']:.2f}" +
          (f", steady ray ÷ local {med_steady['ray'] / med_steady['local']:.2f}" if "ray" in med_steady else ""))
    ratios = [l / s for l, s in zip(rows["local"], rows["serial"])]
    print(f"median points/s: " + ", ".join(f"{b} {v:.2f}" for b, v in med.items()))
    print(f"local ÷ serial: median {statistics.median(ratios):.2f} (rounds {', '.join(f'{x:.2f}' for x in ratios)})")
    if "ray" in rows:
        rr = [y / l for y, l in zip(rows["ray"], rows["local"])]
        print(f"ray ÷ local: median {statistics.median(rr):.2f} (rounds {', '.join(f'{x:.2f}' for x in rr)})")
        shutdown_ray()
    print(f"CPU-seconds per point (one thread): median {statistics.median(cpu):.3f}")


if __name__ == "__main__":
    main()
