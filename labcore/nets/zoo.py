"""The registry of full models: name -> builder, and the one entry point :func:`build_model`.

``MODELS["resnet56"].make(in_shape, n_classes, norm=..., shortcut=...)`` builds an un-initialised
module; :func:`build_model` builds it deterministically from a seed, applies the named init and,
if asked, zero-initialises the last norm of each residual branch (Goyal et al. 2017), so every
residual block starts as the identity. :func:`measure_model` counts parameters, multiply-adds
and activation memory on PyTorch's ``meta`` device, without allocating anything.

Every builder accepts ``(C, H, W)`` images and ``(C, L)`` signals (1-D convs for MNIST-1D).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from labcore.nets.alexnet import alexnet
from labcore.nets.base import init_weights
from labcore.nets.cifar_resnet import CIFAR_DEPTHS, BasicBlock, cifar_resnet
from labcore.nets.imagenet_resnet import imagenet_resnet
from labcore.nets.vgg import vgg
from labcore.spec.choices import MODEL_NAMES


@dataclass(frozen=True)
class ModelInfo:
    make: Callable[..., nn.Module]  # (in_shape, n_classes, *, norm, shortcut) -> module
    family: str  # "plain", "resnet", "vgg", "alexnet"
    description: str
    default_norm: str  # what norm="auto" means for this model
    residual: bool = False  # has identity/projection shortcuts


def _cifar(depth: int, residual: bool) -> ModelInfo:
    kind = "ResNet" if residual else "plain"
    return ModelInfo(lambda s, k, *, norm, shortcut: cifar_resnet(depth, s, k, residual=residual,
                                                                   shortcut=shortcut, norm=norm),
                     "resnet" if residual else "plain",
                     f"CIFAR-style {kind}-{depth} (He et al. 2016): {depth - 2} 3x3 convs in 3 stages + fc",
                     "batchnorm", residual)


def _imagenet(depth: int) -> ModelInfo:
    return ModelInfo(lambda s, k, *, norm, shortcut: imagenet_resnet(depth, s, k, shortcut=shortcut, norm=norm),
                     "resnet", f"ResNet-{depth}, ImageNet widths 64-512, 3x3 stem for small inputs",
                     "batchnorm", True)


def _vgg(depth: int, bn: bool) -> ModelInfo:
    return ModelInfo(lambda s, k, *, norm, shortcut: vgg(depth, s, k, norm=norm), "vgg",
                     f"VGG-{depth}-style{' with BN' if bn else ''}, small-input classifier",
                     "batchnorm" if bn else "none")


MODELS: dict[str, ModelInfo] = {}
for _d in CIFAR_DEPTHS:
    MODELS[f"plain{_d}"] = _cifar(_d, False)
for _d in CIFAR_DEPTHS:
    MODELS[f"resnet{_d}"] = _cifar(_d, True)
MODELS["resnet18"] = _imagenet(18)
MODELS["resnet34"] = _imagenet(34)
MODELS["vgg11"], MODELS["vgg11_bn"] = _vgg(11, False), _vgg(11, True)
MODELS["vgg16"], MODELS["vgg16_bn"] = _vgg(16, False), _vgg(16, True)
MODELS["alexnet"] = ModelInfo(lambda s, k, *, norm, shortcut: alexnet(s, k, norm=norm), "alexnet",
                              "AlexNet-style: 5 convs + 3 fc with dropout, scaled for small inputs", "none")

if tuple(MODELS) != MODEL_NAMES:
    raise RuntimeError(f"model builders {list(MODELS)} differ from the names {MODEL_NAMES}")


def resolve_norm(model: str, norm: str) -> str:
    return MODELS[model].default_norm if norm == "auto" else norm


def resolve_shortcut(model: str, shortcut: str) -> str:
    """``auto``: option A for the CIFAR nets (the paper's), B for ResNet-18/34."""
    if shortcut != "auto":
        return shortcut
    return "B" if model in ("resnet18", "resnet34") else "A"


def _zero_init_residual(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, BasicBlock) and m.residual:
            norm = m.last_norm()
            target = norm.weight if getattr(norm, "weight", None) is not None else m.c2.conv.weight
            nn.init.zeros_(target)  # no norm: zero the last conv so the branch starts at 0


def build_model(name: str, in_shape, n_classes: int, *, norm: str = "auto", shortcut: str = "auto",
                init: str = "he_normal", gain: float = 1.0, zero_init_residual: bool = False,
                seed: int = 0) -> nn.Module:
    """Build, then initialise deterministically: same arguments and seed, same weights."""
    info = MODELS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = info.make(tuple(in_shape), n_classes, norm=resolve_norm(name, norm),
                          shortcut=resolve_shortcut(name, shortcut))
        init_weights(model, init, gain)
        if zero_init_residual:
            _zero_init_residual(model)
    return model


@dataclass(frozen=True)
class ModelSize:
    params: int
    macs_per_example: int  # conv + linear multiply-adds of one forward pass
    activation_bytes_per_example: int  # float32 outputs of every leaf module (kept for backward)
    largest_output_bytes_per_example: int = 0  # the biggest single leaf output (bounds a no-grad pass)


def measure_model(name: str, in_shape, n_classes: int, *, norm: str = "auto", shortcut: str = "auto") -> ModelSize:
    """Size of a model on the ``meta`` device: nothing is allocated or initialised."""
    info = MODELS[name]
    with torch.device("meta"):
        model = info.make(tuple(in_shape), n_classes, norm=resolve_norm(name, norm),
                          shortcut=resolve_shortcut(name, shortcut))
    macs, acts, largest = [0], [0], [0]

    def hook(m, inputs, out):
        per = out[0].numel()  # one example's output elements
        acts[0] += per
        largest[0] = max(largest[0], per)
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            macs[0] += per * m.weight[0].numel()  # each output: c_in/groups * k... multiply-adds
        elif isinstance(m, nn.Linear):
            macs[0] += per * m.in_features

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    with torch.no_grad():
        model.eval()
        model(torch.empty((1, *in_shape), device="meta"))
    for h in handles:
        h.remove()
    return ModelSize(sum(p.numel() for p in model.parameters()), macs[0], acts[0] * 4, largest[0] * 4)
