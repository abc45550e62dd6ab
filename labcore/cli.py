"""Command line: ``python -m labcore run|presets ...``.

Errors print one clear line on stderr and exit non-zero; set LAB_DEBUG=1 for the traceback.
Extra subcommands (the run store's ``runs``, full-model flags) plug in through :data:`EXTENSIONS`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

from .datasets import DATASETS
from .edit import override
from .registry import ACTIVATIONS, DEVICES, INITS, NORMS, OPTIMIZERS, SKIPS
from .sinks import MemorySink
from .spec import RunSpec, SpecError

EXIT_BAD_INPUT, EXIT_FAILED = 2, 1


def _num(x: float):
    """JSON number or null for NaN/Inf."""
    return float(x) if x is not None and math.isfinite(x) else None


def _fmt(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.3g}"


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse otherwise)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.width = total, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1.0

    def update(self, done: int, extra: str = "") -> None:
        frac = min(1.0, done / max(1, self.total))
        if not self.tty and frac < 1.0 and frac - self._last < 0.1:
            return
        self._last = frac
        bar = "#" * int(frac * self.width)
        line = f"[{bar:<{self.width}}] {done}/{self.total} {extra}"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ----------------------------------------------------------------------------- run
def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="start from a preset (see `python -m labcore presets`); default relu-he")
    p.add_argument("--spec", help="start from a .json or .toml spec file instead of a preset")
    g = p.add_argument_group("network")
    g.add_argument("--depth", type=int, help="hidden layers")
    g.add_argument("--width", type=int, help="units per hidden layer")
    g.add_argument("--activation", choices=list(ACTIVATIONS))
    g.add_argument("--init", choices=list(INITS))
    g.add_argument("--gain", type=float)
    g.add_argument("--norm", choices=_choices("norm", NORMS))
    g.add_argument("--skip", choices=list(SKIPS))
    g.add_argument("--dropout", type=float)
    g = p.add_argument_group("training")
    g.add_argument("--dataset", choices=_choices("dataset", DATASETS))
    g.add_argument("--steps", type=int)
    g.add_argument("--batch-size", type=int, dest="batch_size")
    g.add_argument("--lr", type=float)
    g.add_argument("--optimizer", choices=list(OPTIMIZERS))
    g.add_argument("--weight-decay", type=float, dest="weight_decay")
    g.add_argument("--l1", type=float)
    g.add_argument("--clip-norm", type=float, dest="clip_norm")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", choices=list(DEVICES))
    g.add_argument("--record-every", type=int, dest="record_every")
    p.add_argument("--name", default="", help="a name for the run")
    p.add_argument("--json", metavar="PATH", help="write the run's metrics and spec as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


OVERRIDES = ("depth", "width", "activation", "init", "gain", "norm", "skip", "dropout", "dataset", "steps",
             "batch_size", "lr", "optimizer", "weight_decay", "l1", "clip_norm", "seed", "device",
             "record_every")


def spec_from_args(args) -> RunSpec:
    from .codec import load_spec_file
    from .presets import load_preset

    if args.spec and args.preset:
        raise SpecError("--spec", args.spec, "either --spec or --preset, not both")
    base = load_spec_file(args.spec) if args.spec else load_preset(args.preset or "relu-he").spec
    return override(base, **{k: getattr(args, k) for k in OVERRIDES})


def run_result(spec: RunSpec, summary: dict, metrics, name: str = "") -> dict:
    """The ``--json`` document: the keys the issue fixes, plus per-layer extras."""
    from .codec import to_dict


    def grid(a):
        return [[_num(v) for v in row] for row in a.tolist()]

    last_loss = metrics.step_loss[-1] if len(metrics.step_loss) else math.nan
    return {
        "name": name,
        "status": summary["status"],
        "steps": summary["steps"],
        "first_bad_step": summary.get("first_bad_step"),
        "layers": list(metrics.layers),
        "recorded_steps": metrics.steps.tolist(),
        "grad_norm": grid(metrics.metric("grad_norm")),
        "out_grad_norm": grid(metrics.metric("out_grad_norm")),
        "act_std": grid(metrics.metric("act_std")),
        "loss": [_num(v) for v in metrics.loss.tolist()],
        "acc": [_num(v) for v in metrics.acc.tolist()],
        "eval_steps": metrics.eval_steps.tolist(),
        "test_loss": [_num(v) for v in metrics.test_loss.tolist()],
        "test_acc": [_num(v) for v in metrics.test_acc.tolist()],
        "first_last_ratio": _num(metrics.first_last_ratio("grad_norm")),
        "first_last_signal_ratio": _num(metrics.first_last_ratio("out_grad_norm")),
        "final_loss": _num(last_loss),
        "final_test_acc": _num(metrics.test_acc[-1]) if len(metrics.test_acc) else None,
        "steps_per_second": _num(summary["steps_per_second"]),
        "device": summary["device"],
        "params": summary["params"],
        "spec": to_dict(spec),
    }


def print_summary(result: dict, metrics, out=None) -> None:
    out = out or sys.stdout
    import numpy as np

    g, s = metrics.metric("grad_norm"), metrics.metric("out_grad_norm")
    last = lambda a: a[-1] if len(a) else np.full(len(metrics.layers), np.nan)  # noqa: E731
    with np.errstate(all="ignore"):
        med_g = np.nanmedian(g, axis=0) if len(g) else last(g)
    print(f"{'layer':>6}  {'‖∇W‖ last':>10}  {'‖∇W‖ median':>11}  {'‖∂L/∂h‖ last':>12}", file=out)
    for i, name in enumerate(metrics.layers):
        print(f"{name:>6}  {_fmt(last(g)[i]):>10}  {_fmt(med_g[i]):>11}  {_fmt(last(s)[i]):>12}", file=out)
    r = result
    print(file=out)
    print(f"first/last hidden-layer gradient ratio: {_fmt(r['first_last_ratio'] or math.nan)}"
          f"  (backprop signal: {_fmt(r['first_last_signal_ratio'] or math.nan)})", file=out)
    acc = r["final_test_acc"]
    print(f"final loss: {_fmt(r['final_loss'] or math.nan)}   test accuracy: "
          f"{'—' if acc is None else f'{acc:.1%}'}", file=out)
    bad = f" at step {r['first_bad_step']}" if r["first_bad_step"] else ""
    print(f"status: {r['status']}{bad}   steps: {r['steps']}   "
          f"{r['steps_per_second'] or 0:.0f} steps/s   device: {r['device']}   params: {r['params']:,}", file=out)


def make_sinks(args, spec) -> list:
    """A MemorySink (for the summary and --json) plus every registered extension sink."""
    sinks = [MemorySink()] + [make(args, spec) for make in EXTENSIONS["run_sinks"]]
    return [s for s in sinks if s is not None]


def safe_call(sinks: list, method: str, *a, **kw) -> list:
    """Call ``method`` on every sink; one that fails is dropped with a warning, the run goes on."""
    kept = []
    for s in sinks:
        try:
            getattr(s, method)(*a, **kw)
            kept.append(s)
        except Exception as e:  # noqa: BLE001 - a recording problem must not kill the training
            print(f"warning: {type(s).__name__} stopped recording this run ({type(e).__name__}: {e})",
                  file=sys.stderr)
    return kept


def drive(trainer, spec, args, *, name: str, status_text=None):
    """Train to the end with a progress bar, feeding every sink; returns the in-memory metrics.

    Ctrl-C stops the run (status ``stopped``) and keeps what was trained.
    """
    memory, *others = make_sinks(args, spec)
    memory.start(spec, name=name, summary=trainer.summary())
    others = safe_call(others, "start", spec, name=name, summary=trainer.summary())
    bar = None if args.quiet else Progress(trainer.total_steps)
    status_text = status_text or (lambda chunk: f"loss {_fmt(chunk.step_loss[-1]) if len(chunk.step_loss) else '—'}"
                                                f"  {trainer.steps_per_second:.0f} steps/s")
    error = None
    try:
        while not trainer.done:
            chunk = trainer.steps(trainer.flush_every)
            memory.append(chunk, trainer.summary())
            others = safe_call(others, "append", chunk, trainer.summary())
            if bar:
                bar.update(trainer.step, status_text(chunk))
    except KeyboardInterrupt:
        trainer.stop()
        trainer.status = "stopped"
    except Exception as e:  # noqa: BLE001 - recorded, then re-raised as a clean CLI error
        error = f"{type(e).__name__}: {e}"
        trainer.status = "failed"
        raise
    finally:
        if bar:
            bar.close()
        memory.finish(trainer.summary(), error)
        safe_call(others, "finish", trainer.summary(), error)
    return memory.metrics()


def write_json(path: str | None, result: dict) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, allow_nan=False)


def cmd_run(args) -> int:
    from .train import Trainer

    for handler in EXTENSIONS["run_handlers"]:  # e.g. --model runs full conv nets
        code = handler(args)
        if code is not None:
            return code
    spec = spec_from_args(args)
    trainer = Trainer(spec)
    name = args.name or (args.preset or "run")
    metrics = drive(trainer, spec, args, name=name)
    result = run_result(spec, trainer.summary(), metrics, name)
    print_summary(result, metrics)
    write_json(args.json, result)
    return 0


def cmd_presets(args) -> int:
    from .presets import list_presets

    presets = list_presets()
    w = max(len(p.name) for p in presets)
    for p in presets:
        print(f"{p.name:<{w}}  {p.description}")
    return 0


# Other modules plug in here (kept import-light): "subcommands": f(subparsers);
# "run_arguments": f(run_parser); "run_sinks": f(args, spec) -> RunSink | None;
# "run_handlers": f(args) -> exit code, or None to let the MLP run go ahead.
# "run_choices": (dest, extra values) pairs that widen a run option's choices (e.g. image data sets).
EXTENSIONS: dict[str, list] = {"subcommands": [], "run_arguments": [], "run_sinks": [], "run_handlers": [],
                               "run_choices": []}


def _choices(dest: str, base) -> list[str]:
    extra = [v for d, values in EXTENSIONS["run_choices"] if d == dest for v in values]
    return list(dict.fromkeys(list(base) + extra))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m labcore", description="Gradient Flow Lab from the command line.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train a network and print its per-layer gradient summary")
    add_run_arguments(r)
    for add in EXTENSIONS["run_arguments"]:
        add(r)
    r.set_defaults(func=cmd_run)
    sub.add_parser("presets", help="list the presets").set_defaults(func=cmd_presets)
    for register in EXTENSIONS["subcommands"]:
        register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - the CLI never shows a traceback
        if os.environ.get("LAB_DEBUG"):
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED


_LOADED: set[str] = set()


def _load_extensions() -> None:
    """Import optional modules that register subcommands (e.g. the run store)."""
    import importlib

    for mod in ("labcore.store_cli", "labcore.models_cli"):
        if mod in _LOADED:
            continue
        try:
            importlib.import_module(mod)
            _LOADED.add(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
