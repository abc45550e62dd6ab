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

import math

from . import cli
from .images import IMAGE_DATASETS
from .model_spec import AUGMENTS, NORM_CHOICES, ModelRunSpec
from .models.zoo import MODELS
from .spec import SpecError


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
    return {
        **cli.run_result(spec, summary, metrics, name),
        "top1": num(summary.get("top1", math.nan)), "top5": num(summary.get("top5", math.nan)),
        "epochs": [{k: (num(v) if isinstance(v, float) else v) for k, v in e.items()} for e in epochs_log],
        "images_per_second": num(summary.get("images_per_second", math.nan)),
        "model": spec.model,
    }


def run_model(args) -> int | None:
    """The ``run`` handler: None without ``--model`` (the MLP path runs)."""
    if not getattr(args, "model", None):
        return None
    from .imagetrain import ImageTrainer

    spec = spec_from_args(args)
    trainer = ImageTrainer(spec, download=args.download)
    name = args.name or spec.model

    def status_text(chunk) -> str:
        ep = trainer.epochs_log[-1] if trainer.epochs_log else {}
        return (f"epoch {len(trainer.epochs_log)}/{spec.epochs}  loss "
                f"{cli._fmt(chunk.step_loss[-1]) if len(chunk.step_loss) else '—'}"
                f"  top-1 {cli._fmt(ep.get('top1', math.nan))}  {trainer.summary()['images_per_second']:.0f} img/s")

    metrics = cli.drive(trainer, spec, args, name=name, status_text=status_text)
    result = model_result(spec, trainer.summary(), metrics, trainer.epochs_log, name)
    cli.print_summary(result, metrics)
    t1, t5 = result["top1"], result["top5"]
    print(f"model: {spec.model} on {spec.dataset}   epochs: {len(trainer.epochs_log)}/{spec.epochs}   "
          f"test top-1: {'—' if t1 is None else f'{t1:.1%}'}   top-5: {'—' if t5 is None else f'{t5:.1%}'}   "
          f"{result['images_per_second'] or 0:.0f} images/s")
    cli.write_json(args.json, result)
    return 0


cli.EXTENSIONS["run_choices"] += [("dataset", IMAGE_DATASETS), ("norm", NORM_CHOICES)]
cli.EXTENSIONS["run_arguments"].append(add_arguments)
cli.EXTENSIONS["run_handlers"].append(run_model)
