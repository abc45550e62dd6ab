"""The names of every choice in the lab, with what each means: no torch here.

Specs validate against these keys, widgets and the CLI take their options from them, and the
builders in :mod:`labcore.nets.registry` map the same keys to constructors (an import-time check
there keeps the two key sets equal). Keeping the names apart from the constructors lets the CLI,
the codecs and the pages start without importing torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ActivationInfo:
    """An activation choice: which failure mode it is prone to."""

    family: str  # "saturating" (sigmoid/tanh), "relu" (ReLU family), "linear"
    bounds: tuple[float, float] | None  # output range for saturating activations
    description: str
    zero_below: bool = False  # output and gradient are exactly 0 for inputs < 0 (a unit can die)


ACTIVATIONS: dict[str, ActivationInfo] = {
    "sigmoid": ActivationInfo("saturating", (0.0, 1.0), "logistic, saturates at 0 and 1"),
    "tanh": ActivationInfo("saturating", (-1.0, 1.0), "saturates at -1 and 1"),
    "relu": ActivationInfo("relu", None, "max(0, x); units can die", zero_below=True),
    "leaky_relu": ActivationInfo("relu", None, "ReLU with slope 0.01 below 0"),
    "gelu": ActivationInfo("relu", None, "smooth ReLU (x·Φ(x))"),
    "elu": ActivationInfo("relu", None, "exponential below 0"),
    "identity": ActivationInfo("linear", None, "no nonlinearity"),
}

# Thresholds for the activation statistics, stated once (probe and docs read them from here).
SATURATION_MARGIN = 0.01  # an output within 1% of the range's width from a bound is saturated

@dataclass(frozen=True)
class NormInfo:
    """A normalisation: what it does, and which builders offer it (one name means one thing)."""

    description: str
    mlp: bool  # offered for the MLP's hidden layers (LayerSpec.norm)
    conv: bool  # offered for the conv nets' conv units (ModelRunSpec.norm)


# One vocabulary for the MLP and the conv nets: "batchnorm" normalises each unit (an MLP's feature,
# a conv's channel over its positions too) over the batch in both, "none" is no norm in both.
NORM_KINDS: dict[str, NormInfo] = {
    "none": NormInfo("no normalisation", mlp=True, conv=True),
    "batchnorm": NormInfo("BatchNorm: normalise each unit (channel) over the batch", mlp=True, conv=True),
    "layernorm": NormInfo("LayerNorm: normalise each example over its units", mlp=True, conv=False),
    "groupnorm": NormInfo("GroupNorm: normalise each example over groups of channels", mlp=False, conv=True),
}
NORMS: dict[str, str] = {k: v.description for k, v in NORM_KINDS.items() if v.mlp}  # the MLP's choices
CONV_NORMS: tuple[str, ...] = tuple(k for k, v in NORM_KINDS.items() if v.conv)  # the conv nets' choices


@dataclass(frozen=True)
class SkipInfo:
    """A skip choice and what it does to the width: the one place that rule is written."""

    description: str
    out_width: Callable[[int, int], int]  # (input width, layer width) -> width passed on
    projects: Callable[[int, int], bool]  # (input width, layer width) -> needs a projection of x


SKIPS: dict[str, SkipInfo] = {
    "none": SkipInfo("plain layer: x -> f(x)", lambda d, w: w, lambda d, w: False),
    "residual": SkipInfo("x -> x + f(x); a linear projection of x where the widths differ",
                         lambda d, w: w, lambda d, w: d != w),
    "dense": SkipInfo("x -> concat(x, f(x)), DenseNet-style: later layers see every earlier output",
                      lambda d, w: d + w, lambda d, w: False),
}

INITS: dict[str, str] = {
    "xavier_uniform": "Glorot uniform: Var = 2/(fan_in+fan_out)",
    "xavier_normal": "Glorot normal: Var = 2/(fan_in+fan_out)",
    "he_uniform": "He uniform: Var = 2/fan_in",
    "he_normal": "He normal: Var = 2/fan_in",
    "lecun_normal": "LeCun normal: Var = 1/fan_in",
    "orthogonal": "orthogonal matrix",
    "normal": "N(0, sigma²), independent of the width",
    "zeros": "all zeros",
    "default": "PyTorch's own nn.Linear init",
}

OPTIMIZERS: dict[str, str] = {
    "sgd": "plain SGD",
    "momentum": "SGD with momentum",
    "nesterov": "SGD with Nesterov momentum",
    "adam": "Adam",
    "adamw": "AdamW (decoupled weight decay)",
    "rmsprop": "RMSprop",
}

DEVICES = ("auto", "cpu", "cuda", "mps")

CIFAR_DEPTHS = (20, 32, 44, 56, 110)  # the depths of He et al. 2016's Table 6 (any 6n+2 builds)
MODEL_NAMES: tuple[str, ...] = (tuple(f"plain{d}" for d in CIFAR_DEPTHS) + tuple(f"resnet{d}" for d in CIFAR_DEPTHS)
                                + ("resnet18", "resnet34", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet"))
