"""Name -> constructor tables for the builders and trainers, keyed like :mod:`labcore.spec.choices`.

The names and what they mean live in :mod:`labcore.spec.choices` (no torch); this module maps the
same keys to modules, init functions and optimizers, and checks at import that no key is missing.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from labcore.spec import choices


ACTIVATION_MODULES: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}

NORM_MODULES: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda width: nn.Identity(),
    "batchnorm": nn.BatchNorm1d,
    "layernorm": nn.LayerNorm,
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

INIT_FNS: dict[str, InitFn] = {
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

OPTIMIZER_FNS: dict[str, OptimizerFn] = {
    "sgd": _sgd(False, False),
    "momentum": _sgd(True, False),
    "nesterov": _sgd(True, True),
    "adam": _adam(torch.optim.Adam),
    "adamw": _adam(torch.optim.AdamW),
    "rmsprop": _rmsprop,
}


def _same_keys(name: str, built: dict, named: dict) -> None:
    if set(built) != set(named):
        raise RuntimeError(f"{name}: constructors for {sorted(built)} but names {sorted(named)}")


_same_keys("activations", ACTIVATION_MODULES, choices.ACTIVATIONS)
_same_keys("norms", NORM_MODULES, choices.NORMS)
_same_keys("inits", INIT_FNS, choices.INITS)
_same_keys("optimizers", OPTIMIZER_FNS, choices.OPTIMIZERS)
