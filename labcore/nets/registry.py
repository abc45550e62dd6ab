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

NormLayer = Callable[[int], nn.Module]  # channels (units) -> a norm module (torchvision's norm_layer)
GN_GROUPS = 8  # GroupNorm groups when the channel count allows it (16..512 all do)


def _group_norm(channels: int) -> nn.Module:
    return nn.GroupNorm(GN_GROUPS if channels % GN_GROUPS == 0 else 1, channels)


# kind -> spatial dims of the input (0: features (B, C); 1: signals (B, C, L); 2: images (B, C, H, W))
# -> norm_layer. One table for the MLP (dims 0) and the conv nets (dims 1, 2).
_NORM_LAYERS: dict[str, Callable[[int], NormLayer]] = {
    "none": lambda dims: nn.Identity,  # nn.Identity(channels) ignores its argument
    "batchnorm": lambda dims: nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d,
    "layernorm": lambda dims: nn.LayerNorm,  # the MLP's only (over the units of each example)
    "groupnorm": lambda dims: _group_norm,
}


def norm_layer_of(kind: str, dims: int = 0) -> NormLayer:
    """The ``norm_layer`` callable (``norm_layer(channels) -> nn.Module``) of a norm name.

    ``dims`` is the input's number of spatial dimensions: 0 for an MLP's features, 1 for
    signals, 2 for images. Builders get the callable, resolved once, never the name.
    """
    try:
        make = _NORM_LAYERS[kind]
    except KeyError:
        raise ValueError(f"unknown norm {kind!r}; one of {', '.join(choices.NORM_KINDS)}") from None
    if dims not in (0, 1, 2):
        raise ValueError(f"norm for {dims} spatial dimensions: 0, 1 or 2")
    return make(dims)


NORM_MODULES: dict[str, NormLayer] = {k: norm_layer_of(k, 0) for k in choices.NORMS}  # the MLP's norms


def _fans(w: torch.Tensor) -> tuple[int, int]:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    return fan_in, fan_out


def _normal(w: torch.Tensor, std: float, gen: torch.Generator | None = None) -> None:
    with torch.no_grad():
        w.normal_(0.0, std, generator=gen)


def _uniform_std(w: torch.Tensor, std: float, gen: torch.Generator | None = None) -> None:
    bound = math.sqrt(3.0) * std  # U(-b, b) has std b/sqrt(3)
    with torch.no_grad():
        w.uniform_(-bound, bound, generator=gen)


def _default(w: torch.Tensor, gain: float, sigma: float, gen: torch.Generator | None = None) -> None:
    # PyTorch's own nn.Linear init (kaiming_uniform with a=sqrt(5)), scaled by the gain.
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=gen)
    with torch.no_grad():
        w.mul_(gain)


# (weight, gain, sigma, generator=None) -> None, in place; random numbers from the generator
# (torch's global RNG when it is None).
InitFn = Callable[..., None]

INIT_FNS: dict[str, InitFn] = {
    "xavier_uniform": lambda w, g, s, gen=None: nn.init.xavier_uniform_(w, gain=g, generator=gen),
    "xavier_normal": lambda w, g, s, gen=None: nn.init.xavier_normal_(w, gain=g, generator=gen),
    "he_uniform": lambda w, g, s, gen=None: _uniform_std(w, g * math.sqrt(2.0 / _fans(w)[0]), gen),
    "he_normal": lambda w, g, s, gen=None: _normal(w, g * math.sqrt(2.0 / _fans(w)[0]), gen),
    "lecun_normal": lambda w, g, s, gen=None: _normal(w, g / math.sqrt(_fans(w)[0]), gen),
    "orthogonal": lambda w, g, s, gen=None: nn.init.orthogonal_(w, gain=g, generator=gen),
    "normal": lambda w, g, s, gen=None: _normal(w, g * s, gen),
    "zeros": lambda w, g, s, gen=None: nn.init.zeros_(w),
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
_same_keys("norms", _NORM_LAYERS, choices.NORM_KINDS)
_same_keys("inits", INIT_FNS, choices.INITS)
_same_keys("optimizers", OPTIMIZER_FNS, choices.OPTIMIZERS)
