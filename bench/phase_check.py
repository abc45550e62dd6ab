"""The dry run's prediction against the real sweep: the issue's 12×12 tanh phase diagram, 300 steps.

Runs ``python -m labcore sweep phase ... --dry-run`` and then the same sweep for real, each as its
own process as a user would (so the real sweep pays its own pool start-up, as the dry run
predicted), into a temporary run store, and prints predicted vs actual wall time and CPU-seconds,
the CPU share the sweep got, the load around both, and the measured trainability boundary beside
6·ξ_c. Not a test: nothing here asserts a time.

    python bench/phase_check.py                   # the full 12×12 (depths 5..60 × σ_w 0.25..3), 300 steps
    python bench/phase_check.py --grid 6x6 --steps 150   # a smaller check
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _axis(lo: float, hi: float, n: int, integer: bool) -> str:
    vals = [lo + (hi - lo) * i / (n - 1) for i in range(n)] if n > 1 else [lo]
    return ",".join(str(int(round(v))) if integer else f"{v:.4g}" for v in vals)


def _cli(args: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "labcore", *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"labcore {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return wall, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", default="12x12", help="depths x gains, e.g. 12x12 or 6x6")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", default="local")
    a = ap.parse_args()
    try:
        nd, ng = (int(x) for x in a.grid.lower().split("x"))
    except ValueError:
        sys.exit("--grid: depths x gains, e.g. 12x12")
    depths, gains = _axis(5, 60, nd, True), _axis(0.25, 3.0, ng, False)
    common = ["sweep", "phase", "--activation", "tanh", "--depths", depths, "--gains", gains, "--steps", str(a.steps),
              "--workers", str(a.workers), "--backend", a.backend]
    with tempfile.TemporaryDirectory() as tmp:
        dry_json, run_json, db = (str(Path(tmp) / n) for n in ("dry.json", "run.json", "runs.sqlite"))
        load0 = os.getloadavg()
        dry_wall, dry_out = _cli(common + ["--dry-run", "--json", dry_json])
        print(dry_out.split("assuming:")[0].splitlines()[-1])
        print("assuming:" + dry_out.split("assuming:")[1] if "assuming:" in dry_out else "")
        load1 = os.getloadavg()
        run_wall, _ = _cli(common + ["--json", run_json, "--db", db])
        load2 = os.getloadavg()
        est = json.loads(Path(dry_json).read_text())["estimate"]
        run = json.loads(Path(run_json).read_text())
    cpu = sum(p["cpu_seconds"] or 0.0 for p in run["points"])
    share = cpu / (run["wall_seconds"] * run["workers"]) if run["wall_seconds"] > 0 else float("nan")
    pred, pred_idle = est["wall_seconds_at_current_load"], est["wall_seconds"]
    print(f"\n{run['done']}/{run['total']} points ({a.grid}, {a.steps} steps, {run['workers']} {a.backend} workers)")
    print(f"load average (1 min) before the dry run {load0[0]:.1f}, before the sweep {load1[0]:.1f}, "
          f"after it {load2[0]:.1f}; cores {os.cpu_count()}")
    print(f"{'':24}{'predicted':>12}{'actual':>12}{'actual/pred':>13}")
    print(f"{'wall (sweep), s':24}{pred:12.1f}{run['wall_seconds']:12.1f}{run['wall_seconds'] / pred:13.2f}")
    print(f"{'CPU-s (points)':24}{est['cpu_seconds']:12.1f}{cpu:12.1f}{cpu / est['cpu_seconds']:13.2f}")
    print(f"{'CPU share per worker':24}{est['cpu_share_per_worker']:12.2f}{share:12.2f}")
    print(f"wall with a whole core per worker (predicted): {pred_idle:.1f} s; dry run took {dry_wall:.1f} s, "
          f"the sweep's process {run_wall:.1f} s (Python start-up and imports included)")
    ok = abs(run["wall_seconds"] / pred - 1) <= 0.3
    print(f"within ±30 % of the prediction: {'yes' if ok else 'no'}")
    theory = run.get("theory") or {}
    if theory:
        from labcore.figures.phase import measured_boundary
        import pandas as pd

        b = measured_boundary(pd.DataFrame(run["points"]))
        print("\nσ_w      " + " ".join(f"{g:>6.3g}" for g in theory["sigma_w"]))
        print("measured " + " ".join(f"{(b.get(g) if b.get(g) is not None else '-'):>6}" for g in theory["sigma_w"]))
        print("6·ξ_c    " + " ".join(f"{x:>6.1f}" if x is not None and math.isfinite(x) else f"{'∞':>6}"
                                    for x in theory["k_xi"]))


if __name__ == "__main__":
    main()
