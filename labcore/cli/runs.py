"""The run store on the command line: ``python -m labcore runs list|show|export|delete|import|check``.

It also gives ``run`` its ``--db PATH`` / ``--tag`` / ``--no-store`` options and the sink that
records every ``python -m labcore run`` into the store (``$LAB_HOME/runs.sqlite`` without --db).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from labcore.core.family import family_of
from labcore.store.db import RunStore, StoreError, StoreSink, move_aside

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXPORT_FORMATS = ("csv", "parquet", "json", "toml")


def _open(args) -> RunStore:
    return RunStore(getattr(args, "db", None))


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def run_record(r: dict) -> dict:
    """The JSON form of a run's record (what ``runs list --json`` prints per run)."""
    return {"id": r["id"], "name": r["name"], "status": r["status"], "steps": r["steps"],
            "device": r["device"], "tags": r["tags"], "created": time.strftime(
                "%Y-%m-%dT%H:%M:%S", time.localtime(r["created"])),
            "depth": max(0, len(r["layers"]) - 1), "params": r["params"],
            "first_bad_step": r["first_bad_step"], "final_loss": _num(r["final_loss"]),
            "final_acc": _num(r["final_acc"]), "final_test_acc": _num(r["final_test_acc"]),
            "wall_seconds": _num(r["wall_seconds"]), "error": r["error"]}


def _fmt(x, pct=False):
    if x is None:
        return "—"
    return f"{x:.1%}" if pct else f"{x:.3g}"


# ----------------------------------------------------------------------------- commands
def cmd_list(args) -> int:
    with _open(args) as store:
        runs = [run_record(r) for r in store.list_runs()]
    if args.json:
        print(json.dumps(runs, indent=None if args.compact else 2))
        return EXIT_OK
    if not runs:
        print("no runs yet")
        return EXIT_OK
    w = max(4, max(len(r["name"]) for r in runs))
    print(f"{'id':>4}  {'name':<{w}}  {'status':<11}  {'steps':>6}  {'loss':>7}  {'acc':>6}  device")
    for r in runs:
        acc = r["final_test_acc"] if r["final_test_acc"] is not None else r["final_acc"]
        print(f"{r['id']:>4}  {r['name']:<{w}}  {r['status']:<11}  {r['steps']:>6}  "
              f"{_fmt(r['final_loss']):>7}  {_fmt(acc, True):>6}  {r['device']}")
    return EXIT_OK


def cmd_show(args) -> int:
    from labcore.spec.codec import to_dict

    with _open(args) as store:
        rec = run_record(store.get(args.id))
        spec = store.spec(args.id)
        m = store.metrics(args.id)
        events = store.events(args.id)
    rec["recorded_steps"] = len(m)
    rec["layers"] = list(m.layers)
    rec["first_last_ratio"] = _num(m.first_last_ratio())
    if args.json:
        print(json.dumps({**rec, "spec": to_dict(spec), "events": events}, indent=2))
        return EXIT_OK
    for k, v in rec.items():
        if k != "layers":
            print(f"{k:>16}: {v if v is not None else '—'}")
    print(f"{'layers':>16}: {', '.join(rec['layers'])}")
    for e in events:  # live changes (labcore.spec.events)
        print(f"{'event':>16}: step {e['step']}: {e['label']} (pause {e.get('pause_ms', 0):.1f} ms)")
    if len(m):
        g = m.metric("grad_norm")[-1]
        print("\nlast recorded gradient norm per layer:")
        for name, v in zip(m.layers, g):
            print(f"  {name:>6}  {_fmt(float(v)) if math.isfinite(v) else '—'}")
    return EXIT_OK


def export_bytes(store: RunStore, run_id: int, fmt: str) -> bytes:
    """A run's export as bytes: metrics as csv/parquet, spec as json/toml (for downloads)."""
    import io

    from labcore.spec.codec import to_json, to_toml

    if fmt == "json":
        return to_json(store.spec(run_id)).encode()
    if fmt == "toml":
        return to_toml(store.spec(run_id)).encode()
    df = store.export_frame(run_id)
    if fmt == "csv":
        return df.to_csv(index=False).encode()
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")


def export_run(store: RunStore, run_id: int, fmt: str, out) -> None:
    """Write a run's metrics (csv/parquet) or spec (json/toml) to ``out`` ('-' = stdout)."""
    from labcore.spec.codec import to_json, to_toml

    if fmt in ("json", "toml"):
        spec = store.spec(run_id)
        text = to_json(spec) if fmt == "json" else to_toml(spec)
        if out == "-":
            sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
        else:
            with open(out, "w", encoding="utf-8") as f:
                f.write(text)
        return
    df = store.export_frame(run_id)
    if fmt == "csv":
        df.to_csv(sys.stdout if out == "-" else out, index=False)
    else:
        if out == "-":
            raise ValueError("parquet needs --out PATH")
        df.to_parquet(out, index=False)


def cmd_export(args) -> int:
    with _open(args) as store:
        export_run(store, args.id, args.format, args.out)
    if args.out != "-":
        print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_delete(args) -> int:
    with _open(args) as store:
        rec = store.get(args.id)
        store.delete(args.id)
    print(f"deleted run {rec['id']} ({rec['name'] or 'unnamed'}, {rec['status']}, {rec['steps']} steps)")
    return EXIT_OK


def cmd_import(args) -> int:
    """Validate a JSON/TOML spec file; print its canonical JSON and the Lab link code."""
    from labcore.spec.codec import load_spec_file, to_dict, to_url

    spec = load_spec_file(args.path)  # size-capped, strict; SpecError -> exit 2
    family_of(spec).check(spec)  # checks across fields and the size guard: valid means it can run
    if args.json:
        print(json.dumps({"spec": to_dict(spec), "url": to_url(spec)}, indent=2))
    else:
        fam = family_of(spec)
        print(f"valid {fam.label or fam.name} spec: {fam.schedule(spec).total_steps} steps")
        if fam.page == "lab":
            print(f"open it in the Lab with ?spec={to_url(spec)}")
        print(f"or train it here: python -m labcore run --spec {args.path}")
    return EXIT_OK


def cmd_check(args) -> int:
    with _open(args) as store:
        result = store.integrity()
        n = len(store.list_runs(include_trashed=True))
    print(f"{store.path}: {n} runs, integrity {result}")
    return EXIT_OK if result == "ok" else EXIT_FAILED


def cmd_move_aside(args) -> int:
    from labcore.store.db import default_path

    path = args.db or default_path()
    print(f"moved {path} to {move_aside(path)}; a new store starts on the next run")
    return EXIT_OK


def _guard(func):
    """Turn store problems and unknown ids into one clear line and an exit code."""
    def run(args) -> int:
        try:
            return func(args)
        except StoreError as e:
            print(f"error: {e}", file=sys.stderr)
            if e.kind in ("corrupt", "foreign"):
                db = f" --db {e.path}" if getattr(args, "db", None) else ""
                print(f"hint: `python -m labcore runs move-aside{db}` renames it and starts a new store",
                      file=sys.stderr)
            return EXIT_FAILED
        except KeyError as e:
            print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return run


# ----------------------------------------------------------------------------- registration
def add_subcommands(sub) -> None:
    p = sub.add_parser("runs", help="the run store: list, show, export, delete, import runs")
    rs = p.add_subparsers(dest="runs_command", required=True)

    def add(name, func, help_):
        q = rs.add_parser(name, help=help_)
        q.add_argument("--db", metavar="PATH", help="store file (default: $LAB_HOME/runs.sqlite)")
        q.set_defaults(func=_guard(func))
        return q

    q = add("list", cmd_list, "list the runs, newest first")
    q.add_argument("--json", action="store_true", help="print a JSON list")
    q.add_argument("--compact", action="store_true", help="one-line JSON")
    q = add("show", cmd_show, "one run's record, layers and last gradient norms")
    q.add_argument("id", type=int)
    q.add_argument("--json", action="store_true")
    q = add("export", cmd_export, "metrics as csv/parquet, spec as json/toml")
    q.add_argument("id", type=int)
    q.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    q.add_argument("--out", required=True, help="output file ('-' for stdout, not parquet)")
    q = add("delete", cmd_delete, "delete a run and its metrics")
    q.add_argument("id", type=int)
    q = add("import", cmd_import, "validate a .json/.toml spec file and print its Lab link")
    q.add_argument("path")
    q.add_argument("--json", action="store_true")
    add("check", cmd_check, "PRAGMA integrity_check of the store")
    add("move-aside", cmd_move_aside, "rename a damaged/foreign store file so a new one can start")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run store")
    g.add_argument("--db", metavar="PATH", help="record into this store file (default: $LAB_HOME/runs.sqlite)")
    g.add_argument("--tag", action="append", default=[], help="tag the stored run (repeatable)")
    g.add_argument("--no-store", action="store_true", dest="no_store", help="do not record this run")


class _CliSink(StoreSink):
    """A store sink that says on stderr where the run was recorded."""

    def finish(self, summary, error=None):
        super().finish(summary, error)
        if self.run_id is not None and self.error is None:
            print(f"recorded as run {self.run_id} in {self.store.path}", file=sys.stderr)
        elif self.error is not None:
            print(f"warning: the run was not fully recorded: {self.error}", file=sys.stderr)


def make_run_sink(args, spec):
    if getattr(args, "no_store", False):
        return None
    return _CliSink(RunStore(getattr(args, "db", None)), tags=getattr(args, "tag", ()) or ())
