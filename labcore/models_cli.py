"""``python -m labcore run --model NAME ...``: full-model runs from the command line.

Plugs into :mod:`labcore.cli` through its ``EXTENSIONS`` hooks (imported automatically):
``--model``, ``--epochs``, ``--download`` and a few recipe flags are added to ``run``; the
existing ``--dataset --lr --batch-size --seed --device --init --gain --norm --json --name
--quiet`` are reused (``--dataset`` and ``--norm`` also accept the image sets and
``groupnorm``). Without ``--model`` the MLP run goes ahead unchanged.

The ``--json`` document has the MLP run's keys (``loss`` is the training loss per recorded
step) plus ``top1``, ``top5`` (test accuracy at the last epoch) and ``epochs`` (one row per epoch).
"""
from __future__ import annotations

import json
import math
import sys

from . import cli
from .images import IMAGE_DATASETS
from .model_spec import AUGMENTS, NORM_CHOICES, ModelRunSpec
from .models.zoo import MODELS
from .spec import SpecError


def _widen_choices(parser, dest: str, extra) -> None:
    """Let an existing option accept more values (its first validation is the spec's)."""
    for action in parser._actions:  # argparse has no public API for this
        if action.dest == dest and action.choices is not None:
            action.choices = list(dict.fromkeys(list(action.choices) + list(extra)))


def add_arguments(p) -> None:
    g = p.add_argument_group("full models (with --model)")
    g.add_argument("--model", choices=list(MODELS), help="train a full model instead of an MLP")
    g.add_argument("--epochs", type=int, help="passes over the training set (default 10)")
    g.add_argument("--download", action="store_true", help="download a missing torchvision data set first")
    g.add_argument("--upsample", type=int, help="digits only: resize 8x8 images to 16 or 32")
    g.add_argument("--shortcut", choices=["auto", "A", "B"], help="ResNet shortcuts: A zero-pad, B projection")
    g.add_argument("--warmup-epochs", type=float, dest="warmup_epochs", help="linear lr warm-up (epochs)")
    g.add_argument("--augment", choices=list(AUGMENTS), help="pad-and-crop / flip augmentation")
    g.add_argument("--zero-init-residual", action="store_true", dest="zero_init_residual",
                   help="start every residual branch at zero")
    g.add_argument("--n-train", type=int, dest="n_train", help="use only the first N training examples")
    g.add_argument("--compile", action="store_true", help="torch.compile the model")
    g.add_argument("--no-autocast", action="store_true", dest="no_autocast", help="GPU: stay in float32")
    _widen_choices(p, "dataset", IMAGE_DATASETS)
    _widen_choices(p, "norm", NORM_CHOICES)


def spec_from_args(args) -> ModelRunSpec:
    if getattr(args, "spec", None) or getattr(args, "preset", None):
        raise SpecError("--model", args.model, "used without --spec/--preset (those describe MLP runs)")
    dataset = args.dataset or "digits"
    if dataset not in IMAGE_DATASETS:
        raise SpecError("--dataset", dataset, "an image or signal set with --model: " + ", ".join(IMAGE_DATASETS))
    changes = {"model": args.model, "dataset": dataset, "epochs": args.epochs, "lr": args.lr,
               "batch_size": args.batch_size, "seed": args.seed, "device": args.device, "init": args.init,
               "gain": args.gain, "norm": args.norm, "upsample": args.upsample, "shortcut": args.shortcut,
               "warmup_epochs": args.warmup_epochs, "augment": args.augment, "n_train": args.n_train,
               "record_every": args.record_every, "weight_decay": args.weight_decay}
    spec = ModelRunSpec(model=args.model).with_changes(**changes)
    flags = {"zero_init_residual": args.zero_init_residual or None, "compile": args.compile or None,
             "autocast": False if args.no_autocast else None}
    spec = spec.with_changes(**flags)
    if spec.flush_every < spec.record_every:
        spec = spec.with_changes(flush_every=spec.record_every)
    return spec


def model_result(spec: ModelRunSpec, summary: dict, metrics, epochs_log: list[dict], name: str = "") -> dict:
    """The ``--json`` document: cli.run_result's keys, plus top1/top5/epochs."""
    num = cli._num

    def grid(a):
        return [[num(v) for v in row] for row in a.tolist()]

    last_loss = metrics.step_loss[-1] if len(metrics.step_loss) else math.nan
    return {
        "name": name, "status": summary["status"], "steps": summary["steps"],
        "first_bad_step": summary.get("first_bad_step"), "layers": list(metrics.layers),
        "recorded_steps": metrics.steps.tolist(),
        "grad_norm": grid(metrics.metric("grad_norm")), "out_grad_norm": grid(metrics.metric("out_grad_norm")),
        "act_std": grid(metrics.metric("act_std")),
        "loss": [num(v) for v in metrics.loss.tolist()], "acc": [num(v) for v in metrics.acc.tolist()],
        "eval_steps": metrics.eval_steps.tolist(), "test_loss": [num(v) for v in metrics.test_loss.tolist()],
        "test_acc": [num(v) for v in metrics.test_acc.tolist()],
        "first_last_ratio": num(metrics.first_last_ratio("grad_norm")),
        "first_last_signal_ratio": num(metrics.first_last_ratio("out_grad_norm")),
        "final_loss": num(last_loss),
        "final_test_acc": num(metrics.test_acc[-1]) if len(metrics.test_acc) else None,
        "top1": num(summary.get("top1", math.nan)), "top5": num(summary.get("top5", math.nan)),
        "epochs": [{k: (num(v) if isinstance(v, float) else v) for k, v in e.items()} for e in epochs_log],
        "steps_per_second": num(summary["steps_per_second"]),
        "images_per_second": num(summary.get("images_per_second", math.nan)),
        "device": summary["device"], "params": summary["params"], "model": spec.model,
        "spec": spec.to_dict(),
    }


def _safe(sinks, method: str, *a, **kw) -> list:
    """Call a sink method; a sink that cannot take model runs is dropped with a warning."""
    kept = []
    for s in sinks:
        try:
            getattr(s, method)(*a, **kw)
            kept.append(s)
        except Exception as e:  # noqa: BLE001 - the run goes on; the user is told
            print(f"warning: {type(s).__name__} cannot record this model run ({type(e).__name__}: {e})",
                  file=sys.stderr)
    return kept


def run_model(args) -> int | None:
    """The ``run`` handler: None without ``--model`` (the MLP path runs)."""
    if not getattr(args, "model", None):
        return None
    from .imagetrain import ImageTrainer

    spec = spec_from_args(args)
    trainer = ImageTrainer(spec, download=args.download)
    sinks = cli.make_sinks(args, spec)
    memory = sinks[0]
    name = args.name or spec.model
    sinks = [memory] + _safe(sinks[1:], "start", spec, name=name, summary=trainer.summary())
    memory.start(spec, name=name, summary=trainer.summary())
    bar = None if args.quiet else cli.Progress(trainer.total_steps)
    error = None
    try:
        while not trainer.done:
            chunk = trainer.steps(spec.flush_every)
            sinks = [memory] + _safe(sinks[1:], "append", chunk, trainer.summary())
            memory.append(chunk, trainer.summary())
            if bar:
                ep = trainer.epochs_log[-1] if trainer.epochs_log else {}
                bar.update(trainer.step, f"epoch {len(trainer.epochs_log)}/{spec.epochs}  loss "
                                         f"{cli._fmt(chunk.step_loss[-1]) if len(chunk.step_loss) else '—'}"
                                         f"  top-1 {cli._fmt(ep.get('top1', math.nan))}"
                                         f"  {trainer.summary()['images_per_second']:.0f} img/s")
    except KeyboardInterrupt:
        trainer.stop()
        trainer.status = "stopped"
    except Exception as e:  # noqa: BLE001 - recorded, then re-raised as a clean CLI error
        error = f"{type(e).__name__}: {e}"
        trainer.status = "failed"
        _safe(sinks, "finish", trainer.summary(), error)
        raise
    finally:
        if bar:
            bar.close()
    _safe(sinks, "finish", trainer.summary(), error)
    metrics = memory.metrics()
    result = model_result(spec, trainer.summary(), metrics, trainer.epochs_log, name)
    cli.print_summary(result, metrics)
    t1, t5 = result["top1"], result["top5"]
    print(f"model: {spec.model} on {spec.dataset}   epochs: {len(trainer.epochs_log)}/{spec.epochs}   "
          f"test top-1: {'—' if t1 is None else f'{t1:.1%}'}   top-5: {'—' if t5 is None else f'{t5:.1%}'}   "
          f"{result['images_per_second'] or 0:.0f} images/s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, allow_nan=False)
    return 0


cli.EXTENSIONS["run_arguments"].append(add_arguments)
cli.EXTENSIONS["run_handlers"].append(run_model)
