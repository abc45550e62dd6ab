"""Name -> constructor tables: the single source of truth for every choice in the lab.

Widgets and the CLI take their options from ``list(TABLE)``; specs validate against the
same keys. ``"none"`` maps to ``nn.Identity`` so model ``forward`` never branches on a toggle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass(frozen=True)
class Activation:
    """An activation choice: how to build it and which failure mode it is prone to."""

    make: Callable[[], nn.Module]  # fresh module per layer
    family: str  # "saturating" (sigmoid/tanh), "relu" (ReLU family: can die), "linear"
    bounds: tuple[float, float] | None  # output range for saturating activations
    description: str


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(nn.Sigmoid, "saturating", (0.0, 1.0), "logistic, saturates at 0 and 1"),
    "tanh": Activation(nn.Tanh, "saturating", (-1.0, 1.0), "saturates at -1 and 1"),
    "relu": Activation(nn.ReLU, "relu", None, "max(0, x); units can die"),
    "leaky_relu": Activation(lambda: nn.LeakyReLU(0.01), "relu", None, "ReLU with slope 0.01 below 0"),
    "gelu": Activation(nn.GELU, "relu", None, "smooth ReLU (x·Φ(x))"),
    "elu": Activation(nn.ELU, "relu", None, "exponential below 0"),
    "identity": Activation(nn.Identity, "linear", None, "no nonlinearity"),
}

# Thresholds for the activation statistics, stated once (probe and docs read them from here).
SATURATION_MARGIN = 0.01  # an output within 1% of the range's width from a bound is saturated

NORMS: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda width: nn.Identity(),
    "batchnorm": nn.BatchNorm1d,
    "layernorm": nn.LayerNorm,
}

SKIPS: dict[str, str] = {
    "none": "plain layer: x -> f(x)",
    "residual": "x -> x + f(x); a linear projection of x where the widths differ",
    "dense": "x -> concat(x, f(x)), DenseNet-style: later layers see every earlier output",
}


def _fans(w: torch.Tensor) -> tuple[int, int]:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    return fan_in, fan_out


def _normal(w: torch.Tensor, std: float) -> None:
    with torch.no_grad():
        w.normal_(0.0, std)


def _uniform_std(w: torch.Tensor, std: float) -> None:
    bound = math.sqrt(3.0) * std  # U(-b, b) has std b/sqrt(3)
    with torch.no_grad():
        w.uniform_(-bound, bound)


def _default(w: torch.Tensor, gain: float, sigma: float) -> None:
    # PyTorch's own nn.Linear init (kaiming_uniform with a=sqrt(5)), scaled by the gain.
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    with torch.no_grad():
        w.mul_(gain)


InitFn = Callable[[torch.Tensor, float, float], None]  # (weight, gain, sigma) -> None, in place

INITS: dict[str, InitFn] = {
    "xavier_uniform": lambda w, g, s: nn.init.xavier_uniform_(w, gain=g),
    "xavier_normal": lambda w, g, s: nn.init.xavier_normal_(w, gain=g),
    "he_uniform": lambda w, g, s: _uniform_std(w, g * math.sqrt(2.0 / _fans(w)[0])),
    "he_normal": lambda w, g, s: _normal(w, g * math.sqrt(2.0 / _fans(w)[0])),
    "lecun_normal": lambda w, g, s: _normal(w, g / math.sqrt(_fans(w)[0])),
    "orthogonal": lambda w, g, s: nn.init.orthogonal_(w, gain=g),
    "normal": lambda w, g, s: _normal(w, g * s),
    "zeros": lambda w, g, s: nn.init.zeros_(w),
    "default": _default,
}


def _fused_ok(device: torch.device) -> bool:
    # Fused Adam/AdamW/SGD keep the step counter on the device: no .item() per step.
    return device.type in ("cuda", "cpu")  # MPS: the foreach path (its .item() reads a CPU counter)


def _adam(cls):
    def make(params, lr, momentum, weight_decay, device):
        kw = {"lr": lr, "weight_decay": weight_decay}
        if _fused_ok(device):
            kw["fused"] = True
        return cls(params, **kw)

    return make


def _sgd(momentum_on: bool, nesterov: bool):
    def make(params, lr, momentum, weight_decay, device):
        kw = {"lr": lr, "weight_decay": weight_decay,
              "momentum": momentum if momentum_on else 0.0, "nesterov": nesterov}
        if _fused_ok(device):
            kw["fused"] = True
        return torch.optim.SGD(params, **kw)

    return make


def _rmsprop(params, lr, momentum, weight_decay, device):
    # RMSprop has no fused kernel; its foreach path reads no step counter on the host.
    return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay, foreach=True)


OptimizerFn = Callable[..., torch.optim.Optimizer]  # (params, lr, momentum, weight_decay, device)

OPTIMIZERS: dict[str, OptimizerFn] = {
    "sgd": _sgd(False, False),
    "momentum": _sgd(True, False),
    "nesterov": _sgd(True, True),
    "adam": _adam(torch.optim.Adam),
    "adamw": _adam(torch.optim.AdamW),
    "rmsprop": _rmsprop,
}

DEVICES = ("auto", "cpu", "cuda", "mps")
