"""``python -m labcore sweep phase|lr|grid|list|export|delete|resume``: sweeps from the command line.

``phase`` is depth × σ_w (LeCun-normal gain, σ_b = 0), ``lr`` is depth × learning rate, ``grid``
any fields (``--set depth=5:30:5 --set lr=0.001,0.01``; ``--random N`` draws N of them). Each
prints a progress bar with an ETA, records the sweep in the store (``--db``; ``--no-store``
to skip) and writes ``--json``. ``--dry-run`` prints the plan and the calibrated cost instead.
"""
from __future__ import annotations

import argparse
import math
import sys

from labcore.cli.common import Progress, write_json
from labcore.cli.runs import EXIT_BAD_INPUT, EXIT_OK, _guard
from labcore.core.errors import SpecError
from labcore.figures.theory import depth_scale
from labcore.presets import load_preset
from labcore.spec.codec import load_spec_file, to_url
from labcore.store import sweeps as sweep_store
from labcore.store.db import RunStore
from labcore.sweep.backends import BACKENDS, default_workers
from labcore.sweep.estimate import estimate, plan_table
from labcore.sweep.plan import SweepPlan, lr_plan, parse_values, phase_plan, point_key
from labcore.sweep.runner import SUMMARY_KEYS, resume_sweep, run_sweep

K_XI = 6.0  # Schoenholz et al. 2017: networks train up to a depth of about 6 ξ_c


def _num(x):
    return x if not isinstance(x, float) or math.isfinite(x) else None


def _fmt_s(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _plan(args) -> SweepPlan:
    if args.kind in ("phase", "lr"):
        seeds = tuple(parse_values(args.seeds, "--seeds"))
        common = dict(steps=args.steps, width=args.width, optimizer=args.optimizer, seeds=seeds,
                      dataset=args.dataset, name=args.name or "")
    if args.kind == "phase":
        return phase_plan(args.activation, parse_values(args.depths, "--depths"),
                          parse_values(args.gains, "--gains"), lr=args.lr, **common)
    if args.kind == "lr":
        return lr_plan(args.activation, parse_values(args.depths, "--depths"), parse_values(args.lrs, "--lrs"),
                       gain=args.gain, **common)
    base = load_preset(args.preset).spec if args.preset else load_spec_file(args.spec) if args.spec else None
    axes = []
    for item in args.set or []:
        if "=" not in item:
            raise SpecError("--set", item, "field=values, e.g. depth=5:30:5 or lr=0.001,0.01")
        k, v = item.split("=", 1)
        axes.append((k.strip(), tuple(parse_values(v, k.strip()))))
    kw = {"base": base} if base is not None else {}
    if args.random:
        return SweepPlan(axes=tuple(axes), steps=args.steps, mode="random", samples=args.random, seed=args.seed,
                         name=args.name or "grid", **kw)
    return SweepPlan(axes=tuple(axes), steps=args.steps, name=args.name or "grid", **kw)


def theory_of(plan: SweepPlan, k: float = K_XI) -> dict | None:
    """For a phase plan: σ_w, ξ_c(σ_w², σ_b²) and the depth k·ξ_c the theory says training reaches."""
    meta = dict(plan.meta)
    if meta.get("kind") != "phase":
        return None
    gains = dict(plan.axes)["gain"]
    xi = [depth_scale(meta["activation"], g * g, meta["sigma_b2"]) for g in gains]
    return {"activation": meta["activation"], "sigma_b2": meta["sigma_b2"], "k": k, "sigma_w": list(gains),
            "xi": [_num(x) for x in xi], "k_xi": [_num(k * x) for x in xi]}


def result_json(plan: SweepPlan, res, store=None) -> dict:
    """The points in plan order (so two backends' files compare equal), each with its Lab link."""
    by_key = {r["key"]: r for r in res.results}
    if store is not None and res.sweep_id is not None:  # a resume: earlier points come from the store
        df = sweep_store.sweep_points(store, res.sweep_id)
        for _, row in df.iterrows():
            by_key.setdefault(row["point"], {k: (None if (isinstance(row.get(k), float) and math.isnan(row.get(k)))
                                                 else row.get(k)) for k in SUMMARY_KEYS} | {"run_id": int(row["run_id"])})
    points = []
    for p in plan.points():
        r = by_key.get(point_key(p))
        if r is None:
            continue
        rec = dict(p)
        rec.update({k: _num(r.get(k)) for k in SUMMARY_KEYS if k not in ("cpu_seconds", "wall_seconds")})
        rec["cpu_seconds"] = _num(r.get("cpu_seconds"))
        rec["run_id"] = r.get("run_id")
        rec["link"] = "?spec=" + to_url(plan.spec_for(p))
        points.append(rec)
    return {"sweep_id": res.sweep_id, "plan": plan.to_dict(), "backend": res.backend, "workers": res.workers,
            "wall_seconds": res.wall_seconds, "points_per_second": res.points_per_second, "stopped": res.stopped,
            "done": len(points), "total": plan.size, "points": points, "theory": theory_of(plan)}


def _run(args, plan: SweepPlan, store, sweep_id=None) -> int:
    bar = Progress(plan.size)

    def progress(p):
        bar.update(p.done, f"failed {p.failed}  ETA {_fmt_s(p.eta)}")

    kw = dict(store=store, backend=args.backend, workers=args.workers, address=args.address, progress=progress)
    try:
        res = resume_sweep(store, sweep_id, **kw) if sweep_id is not None else run_sweep(plan, **kw)
    except KeyboardInterrupt:
        bar.close()
        print("stopped: `python -m labcore sweep resume ID` runs the points left", file=sys.stderr)
        return 130
    bar.close()
    out = result_json(plan, res, store)
    failed = sum(p["status"] == "failed" for p in out["points"])
    print(f"sweep {res.sweep_id if res.sweep_id is not None else '(not stored)'}: {out['done']}/{plan.size} points "
          f"in {res.wall_seconds:.1f} s on {res.workers} {args.backend} worker(s) "
          f"({res.points_per_second:.2f} points/s), {failed} failed, {res.skipped} skipped (already done)")
    write_json(args.json, out)
    return EXIT_OK


def cmd_plan(args) -> int:
    plan = _plan(args)
    plan.check()
    if args.dry_run:
        workers = args.workers or default_workers()
        est = estimate(plan, workers, backend=args.backend)
        for line in plan_table(plan):
            print("  " + line)
        print(f"{plan.size} points × {plan.steps} steps; calibrated on {plan.name}'s extreme points "
              f"in {est.calibration_seconds:.1f} s, in a {args.backend} pool as the points will run")
        print(f"estimated {est.cpu_seconds:.3g} CPU-seconds ({est.cpu_seconds / max(1, est.points):.3g} s per point); "
              f"wall time on {est.workers} worker(s): {_fmt_s(est.wall_at_load)} at the current load "
              f"({_fmt_s(est.wall_seconds)} with a whole core per worker)")
        print("assuming:")
        for line in est.assumptions:
            print("  - " + line)
        write_json(args.json, {"dry_run": True, "plan": plan.to_dict(), "estimate": est.to_dict(),
                               "points": plan.points(), "theory": theory_of(plan)})
        return EXIT_OK
    store = None if args.no_store else RunStore(args.db)
    try:
        return _run(args, plan, store)
    finally:
        if store is not None:
            store.close()


def cmd_resume(args) -> int:
    with RunStore(args.db) as store:
        plan = SweepPlan.from_dict(sweep_store.get_sweep(store, args.id)["plan"])
        return _run(args, plan, store, sweep_id=args.id)


def cmd_list(args) -> int:
    with RunStore(args.db) as store:
        rows = sweep_store.list_sweeps(store)
    if args.json:
        print(__import__("json").dumps([{k: v for k, v in r.items() if k != "plan"} for r in rows]))
        return EXIT_OK
    if not rows:
        print("no sweeps yet")
    for r in rows:
        by = ", ".join(f"{n} {s}" for s, n in sorted(r["by_status"].items()))
        print(f"{r['id']:>4}  {r['name'][:30]:<30}  {r['status']:<9} {r['done']}/{r['total']} done  {by}")
    return EXIT_OK


def cmd_export(args) -> int:
    with RunStore(args.db) as store:
        df = sweep_store.sweep_points(store, args.id)
    fmt = args.format or ("json" if str(args.out).endswith(".json") else "csv")
    if args.out == "-":
        print(df.to_csv(index=False) if fmt == "csv" else df.to_json(orient="records"))
    elif fmt == "csv":
        df.to_csv(args.out, index=False)
    else:
        df.to_json(args.out, orient="records")
    if args.out != "-":
        print(f"wrote {len(df)} points of sweep {args.id} to {args.out}")
    return EXIT_OK


def cmd_delete(args) -> int:
    with RunStore(args.db) as store:
        n = sweep_store.delete_sweep(store, args.id)
    print(f"deleted sweep {args.id} and its {n} runs")
    return EXIT_OK


def _run_options(q) -> None:
    q.add_argument("--backend", choices=BACKENDS, default="local", help="local process pool (default), ray, serial")
    q.add_argument("--workers", type=int, default=None, help="parallel points (default: the cores available)")
    q.add_argument("--address", default=None, help="Ray cluster: 'auto' or ray://host:10001 (with --backend ray)")
    q.add_argument("--json", metavar="PATH", help="write the points and their metrics as JSON")
    q.add_argument("--db", metavar="PATH", help="store file (default: $LAB_HOME/runs.sqlite)")


def add_subcommands(sub) -> None:
    p = sub.add_parser("sweep", help="many short runs: phase diagrams and grids (local pool or Ray)")
    ss = p.add_subparsers(dest="sweep_command", required=True)
    for kind, help_ in (("phase", "depth × σ_w (init gain), σ_b = 0"), ("lr", "depth × learning rate"),
                        ("grid", "any spec fields: --set field=values")):
        q = ss.add_parser(kind, help=help_)
        q.set_defaults(kind=kind, func=_guard(cmd_plan))
        if kind in ("phase", "lr"):
            q.add_argument("--activation", default="tanh" if kind == "phase" else "relu")
            q.add_argument("--depths", default="5:30:5", help="start:stop:step (inclusive) or a,b,c")
            q.add_argument("--width", type=int, default=64)
            q.add_argument("--optimizer", default="momentum")
            q.add_argument("--dataset", default="digits")
            q.add_argument("--seeds", default="0", help="one seed, or several: each point runs once per seed")
        if kind == "phase":
            q.add_argument("--gains", default="0.5:3:0.5", help="σ_w values (LeCun-normal init gain)")
            q.add_argument("--lr", type=float, default=0.01)
        if kind == "lr":
            q.add_argument("--lrs", default="0.001,0.003,0.01,0.03,0.1")
            q.add_argument("--gain", type=float, default=None, help="σ_w (default: √2 for ReLU-like, else 1)")
        if kind == "grid":
            q.add_argument("--set", action="append", metavar="FIELD=VALUES", help="an axis (repeat for more)")
            q.add_argument("--preset", default=None, help="base spec from a preset")
            q.add_argument("--spec", default=None, help="base spec from a .json/.toml file")
            q.add_argument("--random", type=int, default=0, metavar="N", help="draw N points instead of the grid")
            q.add_argument("--seed", type=int, default=0, help="seed of the random draw")
        q.add_argument("--steps", type=int, default=300, help="training steps per point")
        q.add_argument("--name", default="")
        q.add_argument("--dry-run", action="store_true", help="print the plan and its calibrated cost; run nothing")
        q.add_argument("--no-store", action="store_true", help="do not record the sweep in the run store")
        _run_options(q)
    q = ss.add_parser("resume", help="run the points of a stored sweep that have no result yet")
    q.add_argument("id", type=int)
    q.set_defaults(func=_guard(cmd_resume))
    _run_options(q)
    q = ss.add_parser("list", help="the stored sweeps")
    q.add_argument("--json", action="store_true")
    q.add_argument("--db", metavar="PATH")
    q.set_defaults(func=_guard(cmd_list))
    q = ss.add_parser("export", help="one row per point (settings and metrics) as csv or json")
    q.add_argument("id", type=int)
    q.add_argument("--out", required=True, help="file ('-' for stdout)")
    q.add_argument("--format", choices=("csv", "json"), default=None)
    q.add_argument("--db", metavar="PATH")
    q.set_defaults(func=_guard(cmd_export))
    q = ss.add_parser("delete", help="delete a sweep and all its runs")
    q.add_argument("id", type=int)
    q.add_argument("--db", metavar="PATH")
    q.set_defaults(func=_guard(cmd_delete))


__all__ = ["add_subcommands", "theory_of", "result_json", "EXIT_BAD_INPUT"]
