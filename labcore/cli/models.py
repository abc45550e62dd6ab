"""``python -m labcore run --model NAME ...``: the full-model flags of ``run``.

``--model``, ``--epochs``, ``--download`` and a few recipe flags build a full-model spec; the
``run`` options ``--dataset --lr --batch-size --seed --device --init --gain --norm --json --name
--quiet`` are reused (``--dataset`` and ``--norm`` also accept the image sets and ``groupnorm``).
Without ``--model`` the MLP run goes ahead unchanged. The recipe's defaults are
:data:`labcore.spec.model.DEFAULT_RECIPE`, the same as the Models page's.

The ``--json`` document has the MLP run's keys (``loss`` is the training loss per recorded
step) plus ``top1``, ``top5`` (test accuracy at the last epoch) and ``epochs`` (one row per
epoch), which the full-model trainer adds (:meth:`ImageTrainer.result_extras`).
"""
from __future__ import annotations

import argparse

from labcore.core.errors import SpecError
from labcore.data.image_sets import IMAGE_DATASETS
from labcore.spec.choices import MODEL_NAMES
from labcore.spec.model import AUGMENTS, DEFAULT_RECIPE, ModelRunSpec


def add_arguments(p) -> None:
    g = p.add_argument_group("full models (with --model)")
    g.add_argument("--model", choices=list(MODEL_NAMES), help="train a full model instead of an MLP")
    g.add_argument("--epochs", type=int, help=f"passes over the training set (default {DEFAULT_RECIPE['epochs']})")
    g.add_argument("--download", action="store_true", help="download a missing torchvision data set first")
    g.add_argument("--upsample", type=int, help="digits only: resize 8x8 images to 16 or 32")
    g.add_argument("--shortcut", choices=["auto", "A", "B"], help="ResNet shortcuts: A zero-pad, B projection")
    g.add_argument("--warmup-epochs", type=float, dest="warmup_epochs",
                   help=f"linear lr warm-up (epochs, default {DEFAULT_RECIPE['warmup_epochs']:g})")
    g.add_argument("--augment", choices=list(AUGMENTS), help="pad-and-crop / flip augmentation")
    g.add_argument("--zero-init-residual", action=argparse.BooleanOptionalAction, dest="zero_init_residual",
                   help="start every residual branch at zero (default: on, the shared recipe)")
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
    flags = {"zero_init_residual": args.zero_init_residual, "compile": args.compile or None,
             "autocast": False if args.no_autocast else None}
    spec = spec.with_changes(**flags)
    if spec.flush_every < spec.record_every:
        spec = spec.with_changes(flush_every=spec.record_every)
    return spec


def trainer_options(args, family) -> dict:
    """Options for ``make_trainer`` that only full models take (``--download``)."""
    if getattr(args, "download", False):
        if family.name != "model":
            raise SpecError("--download", True, "used with --model (MLP data sets are embedded)")
        return {"download": True}
    return {}
