"""The spec of a full-model run (plain/ResNet, VGG, AlexNet on images): frozen, validated, JSON.

Defaults are the paper's CIFAR-10 recipe (He et al. 2016, section 4.2): SGD with momentum 0.9,
weight decay 1e-4, batch 128, learning rate 0.1 divided by 10 at 50 % and 75 % of training
(the paper's 32k and 48k of 64k iterations), He-normal init, BN, option-A shortcuts; plus
:data:`DEFAULT_RECIPE` (6 epochs, 1 warm-up epoch, zero-init residual branches), measured so
the short runs show the paper's Fig. 6 shape (see the comment there). A bad value
raises :class:`~labcore.spec.mlp.SpecError` naming the field and what is allowed.

Its dict form carries ``kind = "model"``: the family registered in :mod:`labcore.families.image`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from labcore.core.errors import SpecError, _choice, _float, _int, check_tree
from labcore.data.image_sets import IMAGE_DATASETS, UPSAMPLE_SIZES
from labcore.spec.choices import CONV_NORMS, DEVICES, INITS, MODEL_NAMES

# The default recipe of the degradation experiment, shared by the Models page and the CLI (they
# both start from ModelRunSpec's defaults, which read it). Measured on digits, final training
# loss, seeds 0 / 1 / 2 (issue 10; tests/test_degradation.py checks this recipe on those seeds):
#   6 epochs, 1 warm-up epoch:        ResNet-56 0.137 / 1.583 / 0.125  > ResNet-20 0.016 / 0.014 / 0.018
#   6 epochs, 1 warm-up, zero-init:   ResNet-56 0.121 / 0.142 / 0.141  < ResNet-20 0.351 / 0.348 / 0.256
#                                     plain-56  2.263 / 2.283 / 2.281  > plain-20  0.055 / 0.052 / 0.062
#   10 epochs, 1 warm-up, zero-init:  ResNet-56 0.007 / 0.012 / 0.013 vs ResNet-20 0.024 / 0.028 / 0.012
#                                     (seed 2 ties; and 10 epochs cost 1.7x the time)
# Without zero-init the 56-layer ResNet's first steps can blow up (seed 1: 1.58 after 6 epochs);
# starting each residual branch at 0 (Goyal et al. 2017) makes it a shallow net that deepens as it
# learns, so ResNet-56 <= ResNet-20 as in He et al.'s Fig. 6, while plain-56 stalls near log 10.
# The price, said plainly: after 6 epochs zero-init ResNet-20 has not caught up with plain-20.
DEFAULT_RECIPE = {"epochs": 6, "warmup_epochs": 1.0, "zero_init_residual": True}

AUGMENTS = ("auto", "none", "crop", "crop_flip")  # auto: crop (+ flip where labels allow it), none for digits
NORM_CHOICES = ("auto",) + CONV_NORMS  # auto: the model's own (BN for ResNets and *_bn)
SHORTCUT_CHOICES = ("auto", "A", "B")  # auto: A for CIFAR nets, B for ResNet-18/34
MAX_EPOCHS = 1000


@dataclass(frozen=True)
class ModelRunSpec:
    """Everything needed to reproduce a full-model run."""

    model: str = "resnet20"  # key of MODELS
    dataset: str = "digits"  # key of IMAGE_DATASETS
    upsample: int = 0  # digits only: 16 or 32 resizes 8x8 images once at load; 0 keeps them
    n_train: int = 0  # use only the first n training examples; 0 = all
    epochs: int = DEFAULT_RECIPE["epochs"]  # passes over the training set
    lr: float = 0.1  # peak learning rate
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of training where lr is divided
    lr_decay: float = 0.1  # lr multiplier at each milestone
    warmup_epochs: float = DEFAULT_RECIPE["warmup_epochs"]  # linear warm-up from 0 to lr over this many epochs
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 1e-4  # L2 penalty
    batch_size: int = 128  # examples per step
    init: str = "he_normal"  # key of INITS, for every conv and linear weight
    gain: float = 1.0  # multiplies the init's standard deviation
    norm: str = "auto"  # auto | batchnorm | none | groupnorm
    shortcut: str = "auto"  # auto | A (zero-pad identity) | B (1x1 projection)
    zero_init_residual: bool = DEFAULT_RECIPE["zero_init_residual"]  # start each residual branch's last norm at 0
    augment: str = "auto"  # auto | none | crop | crop_flip
    channels_last: bool = True  # GPU only: NHWC memory format for convs
    autocast: bool = True  # GPU only: bf16 (fp16 + grad scaler where bf16 is missing)
    compile: bool = False  # torch.compile the model (the unrecorded steps)
    seed: int = 0  # seeds init, batches and augmentation
    device: str = "auto"  # auto | cpu | cuda | mps
    record_every: int = 10  # probe every N steps
    flush_every: int = 50  # copy metrics to the host every N steps

    def __post_init__(self):
        _choice("model", self.model, MODEL_NAMES)
        _choice("dataset", self.dataset, IMAGE_DATASETS)
        _int("upsample", self.upsample, 0, 32)
        if self.upsample not in UPSAMPLE_SIZES:
            raise SpecError("upsample", self.upsample, "0 (native size), 16 or 32")
        if self.upsample and self.dataset != "digits":
            raise SpecError("upsample", self.upsample, f"0 for {self.dataset} (upsampling is for digits)")
        _int("n_train", self.n_train, 0, 10_000_000)
        _int("epochs", self.epochs, 1, MAX_EPOCHS)
        _float("lr", self.lr, 0.0, 10.0, lo_open=True)
        if isinstance(self.milestones, list):
            object.__setattr__(self, "milestones", tuple(self.milestones))
        if (not isinstance(self.milestones, tuple) or len(self.milestones) > 8
                or any(isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 < m < 1
                       for m in self.milestones) or list(self.milestones) != sorted(self.milestones)):
            raise SpecError("milestones", self.milestones, "up to 8 increasing fractions of training in (0, 1)")
        _float("lr_decay", self.lr_decay, 0.0, 1.0, lo_open=True)
        _float("warmup_epochs", self.warmup_epochs, 0.0, float(self.epochs))
        _float("momentum", self.momentum, 0.0, 0.999)
        _float("weight_decay", self.weight_decay, 0.0, 1.0)
        _int("batch_size", self.batch_size, 1, 65536)
        _choice("init", self.init, INITS)
        _float("gain", self.gain, 0.0, 100.0, lo_open=True)
        _choice("norm", self.norm, NORM_CHOICES)
        _choice("shortcut", self.shortcut, SHORTCUT_CHOICES)
        _choice("augment", self.augment, AUGMENTS)
        for name in ("zero_init_residual", "channels_last", "autocast", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(name, getattr(self, name), "true or false")
        _int("seed", self.seed, 0, 2**31 - 1)
        _choice("device", self.device, DEVICES)
        _int("record_every", self.record_every, 1, 10_000)
        _int("flush_every", self.flush_every, 1, 100_000)
        if self.flush_every < self.record_every:
            raise SpecError("flush_every", self.flush_every, f"at least record_every ({self.record_every})")

    # ------------------------------------------------------------------ derived
    @property
    def examples(self) -> int:
        """Training examples per epoch."""
        n = IMAGE_DATASETS[self.dataset].n_train
        return min(n, self.n_train) if self.n_train else n

    @property
    def batch(self) -> int:
        """The batch actually used: never more than the training set."""
        return min(self.batch_size, self.examples)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.examples // self.batch)  # the last partial batch is dropped

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def lr_at(self, step: int) -> float:
        """Learning rate of 1-based ``step``: linear warm-up, then step decay at the milestones."""
        spe, total = self.steps_per_epoch, self.total_steps
        warm = self.warmup_epochs * spe
        if warm > 0 and step <= warm:
            return self.lr * step / warm
        lr = self.lr
        for m in self.milestones:
            if step > m * total:
                lr *= self.lr_decay
        return lr

    def resolved_augment(self) -> tuple[bool, bool]:
        """(crop, flip) actually applied."""
        if self.augment == "none":
            return False, False
        if self.augment == "auto":
            if self.dataset in ("digits", "mnist1d"):
                return False, False  # tiny sets: the degradation experiment wants the plain signal
            return True, IMAGE_DATASETS[self.dataset].flip
        return True, self.augment == "crop_flip"

    def with_changes(self, **changes) -> "ModelRunSpec":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    # ------------------------------------------------------------------ codec
    def to_dict(self, *, drop_defaults: bool = False) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        if drop_defaults:
            default = asdict(ModelRunSpec())
            default["milestones"] = list(default["milestones"])
            d = {k: v for k, v in d.items() if v != default[k] or k == "model"}
        return {"kind": "model", **d}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def from_dict(d: Any) -> ModelRunSpec:
    """Build and validate from the dict form; unknown keys and bad values raise SpecError."""
    if not isinstance(d, dict):
        raise SpecError("spec", d, "a table of model-run fields")
    check_tree(d)
    d = dict(d)
    kind = d.pop("kind", "model")
    if kind != "model":
        raise SpecError("kind", kind, "'model'")
    known = {f.name for f in fields(ModelRunSpec)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SpecError(unknown[0], d[unknown[0]], "a known field: " + ", ".join(sorted(known)))
    return ModelRunSpec(**d)


def from_json(text: str | bytes) -> ModelRunSpec:
    """Parse with the codec's guards (size cap, nesting scan, over-long integers), as a model spec."""
    from labcore.spec.codec import MAX_TEXT_BYTES, _loads_json

    if not isinstance(text, (str, bytes)):
        raise SpecError("spec", text, "JSON text")
    if len(text) > MAX_TEXT_BYTES:
        raise SpecError("spec", f"{len(text):,} bytes", f"a spec of at most {MAX_TEXT_BYTES // 1024} KiB")
    return from_dict(_loads_json(text, "spec"))


def degradation_spec(depth: int, residual: bool, **changes) -> ModelRunSpec:
    """One run of the degradation experiment: ``plain{depth}`` or ``resnet{depth}``."""
    return ModelRunSpec(model=f"{'resnet' if residual else 'plain'}{depth}", **changes)
