"""``python -m labcore run`` and ``presets``: train a spec of any family from the command line.

A run starts from a preset, a spec file of any registered family (``--spec``), or the full-model
flags (``--model``, :mod:`labcore.cli.models`); flat overrides (``--depth``, ``--lr``...) change an
MLP spec. The trainer comes from the spec's family, so a new family runs here with no edit.
"""
from __future__ import annotations

import argparse
import math
import sys

from labcore.spec.edit import override
from labcore.spec.fields import FIELDS
from labcore.core.sinks import MemorySink
from labcore.cli import models, runs, seq
from labcore.core.family import family_of
from labcore.core.status import Status
from labcore.spec.mlp import RunSpec, SpecError
from labcore.spec.model import NORM_CHOICES
from labcore.data.image_sets import IMAGE_DATASETS

from labcore.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, Progress, _fmt, _num, write_json  # noqa: F401


# ----------------------------------------------------------------------------- run
# A flag's choices beyond the MLP's: --dataset and --norm also take what --model accepts.
_MODEL_CHOICES = {"dataset": tuple(IMAGE_DATASETS), "norm": tuple(NORM_CHOICES)}
_GROUP = {"net": "network", "layer": "network", "init": "network", "data": "training", "train": "training"}
_TYPE = {"int": int, "float": float, "choice": None}
OVERRIDES = tuple(f for f in FIELDS if f.cli)  # the spec fields ``run`` takes as flags


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``run``'s options; the spec flags come from :data:`labcore.spec.fields.FIELDS` (those with ``cli``)."""
    p.add_argument("--preset", help="start from a preset (see `python -m labcore presets`); default relu-he")
    p.add_argument("--spec", help="start from a .json or .toml spec file instead of a preset")
    groups = {name: p.add_argument_group(name) for name in dict.fromkeys(_GROUP.values())}
    for f in OVERRIDES:
        kw = {"dest": f.name, "help": f.doc}
        if f.kind == "choice":
            kw["choices"] = list(dict.fromkeys([*f.choices, *_MODEL_CHOICES.get(f.name, ())]))
        else:
            kw["type"] = _TYPE[f.kind]
        groups[_GROUP[f.section]].add_argument(f.flag, **kw)
    p.add_argument("--name", default="", help="a name for the run")
    p.add_argument("--json", metavar="PATH", help="write the run's metrics and spec as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def spec_from_args(args):
    """The spec of a ``run``: ``--model`` flags, a spec file, or a preset, then the flat overrides."""
    from labcore.presets import load_preset
    from labcore.spec.codec import load_spec_file

    if getattr(args, "model", None):
        return models.spec_from_args(args)
    if getattr(args, "family", None) and not (args.spec or args.preset):
        return seq.spec_from_args(args)
    if args.spec and args.preset:
        raise SpecError("--spec", args.spec, "either --spec or --preset, not both")
    base = load_spec_file(args.spec) if args.spec else load_preset(args.preset or "relu-he").spec
    if seq.handles(base):  # a recurrent or transformer spec file or preset takes the sequence flags
        return seq.override(base, args)
    seq.check_unused(args)
    changes = {f.name: getattr(args, f.name) for f in OVERRIDES if getattr(args, f.name) is not None}
    if not isinstance(base, RunSpec):
        if changes:
            flag = "--" + next(iter(changes)).replace("_", "-")
            raise SpecError(flag, changes[next(iter(changes))],
                            f"left out: this {family_of(base).label or family_of(base).name} spec is changed in its file")
        return base
    return override(base, **changes)


def run_result(spec, summary: dict, metrics, name: str = "") -> dict:
    """The ``--json`` document: the keys the issue fixes, plus per-layer extras.

    ``diagnosis`` is the page's verdict (:mod:`labcore.figures.diagnose`): ``kind``, ``severity``,
    the English ``sentence`` (notes included), the ``numbers`` it quotes and its ``notes``.
    """
    from labcore.figures.diagnose import diagnose
    from labcore.spec.codec import to_dict


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
        "diagnosis": diagnose(metrics, summary["status"], summary.get("first_bad_step"),
                              summary.get("error")).to_dict(),
        "final_loss": _num(last_loss),
        "final_test_acc": _num(metrics.test_acc[-1]) if len(metrics.test_acc) else None,
        "steps_per_second": _num(summary["steps_per_second"]),
        "device": summary["device"],
        "params": summary["params"],
        "events": list(summary.get("events") or []),  # live changes applied (labcore.spec.events)
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
    print(f"first/last hidden-layer gradient ratio: {_fmt(r['first_last_ratio'] or math.nan)} (‖∇W‖, h2 / last;"
          f" h1 reads the data)  backprop signal ‖∂L/∂h‖: {_fmt(r['first_last_signal_ratio'] or math.nan)}"
          f" (h1 / last)", file=out)
    acc = r["final_test_acc"]
    print(f"final loss: {_fmt(r['final_loss'] or math.nan)}   test accuracy: "
          f"{'—' if acc is None else f'{acc:.1%}'}", file=out)
    print(f"diagnosis: {r['diagnosis']['sentence']}", file=out)
    for e in r.get("events") or []:
        print(f"event at step {e['step']}: {e['label']}   (pause {e.get('pause_ms', 0):.1f} ms)", file=out)
    bad = f" at step {r['first_bad_step']}" if r["first_bad_step"] else ""
    print(f"status: {r['status']}{bad}   steps: {r['steps']}   "
          f"{r['steps_per_second'] or 0:.0f} steps/s   device: {r['device']}   params: {r['params']:,}", file=out)


def make_sinks(args, spec) -> list:
    """A MemorySink (for the summary and --json) and, unless --no-store, the run store's sink."""
    sinks = [MemorySink(), runs.make_run_sink(args, spec)]
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
    memory, *others = [s for s in make_sinks(args, spec) if s is not None]
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
        trainer.status = Status.STOPPED
    except Exception as e:  # noqa: BLE001 - recorded, then re-raised as a clean CLI error
        error = f"{type(e).__name__}: {e}"
        trainer.status = Status.FAILED
        raise
    finally:
        if bar:
            bar.close()
        memory.finish(trainer.summary(), error)
        safe_call(others, "finish", trainer.summary(), error)
    return memory.metrics()


def cmd_run(args) -> int:
    spec = spec_from_args(args)
    family = family_of(spec)
    family.check(spec)  # cross-field checks and the size guard, before anything is allocated
    trainer = family.make_trainer(spec, **models.trainer_options(args, family))
    if getattr(trainer, "cpu_threads", None):  # the trainer states its wish; the runner applies it
        from labcore.train.device import use_cpu_threads

        use_cpu_threads(trainer)
    name = args.name or (getattr(args, "model", None) or args.preset or "run")
    progress = getattr(trainer, "progress_text", None)
    metrics = drive(trainer, spec, args, name=name, status_text=progress)
    result = run_result(spec, trainer.summary(), metrics, name)
    extras = getattr(trainer, "result_extras", None)  # e.g. top-1/top-5 and epochs of full models
    if extras is not None:
        result.update(extras())
    if not getattr(trainer, "replaces_layer_table", False):  # a recurrent run's "layers" are time steps
        print_summary(result, metrics)
    line = getattr(trainer, "summary_line", None)
    if line is not None:
        print(line())
    write_json(args.json, result)
    return 0


def cmd_presets(args) -> int:
    from labcore.presets import list_presets

    presets = list_presets(None)
    w = max(len(p.name) for p in presets)
    for p in presets:
        print(f"{p.name:<{w}}  {p.description}")
        if p.claim.get("text"):
            print(f"{'':<{w}}  claim (checked on seeds {p.claim.get('seeds')}): {p.claim['text']}")
    return 0
