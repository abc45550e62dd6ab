"""Shared pieces of the convolutional builders: 1-D/2-D layer factories and conv units.

Every builder works on images ``(B, C, H, W)`` and on signals ``(B, C, L)`` (MNIST-1D); the
:class:`Ops` table picks ``Conv2d``/``Conv1d``, ``MaxPool2d``/``MaxPool1d`` and so on from the
number of spatial dimensions, so ``forward`` never branches on it.

The norm reaches a builder as a ``norm_layer`` callable (``norm_layer(channels) -> nn.Module``,
the torchvision pattern), resolved once from its name by
:func:`labcore.nets.registry.norm_layer_of` (``build_model`` does it); builders never see the name.

Probe convention for conv layers (the paper's Fig. 7 "response"): a :class:`ConvUnit` is
``conv -> norm`` and its **norm module is the probe module**. The probe therefore sees the
layer's output after BN and before the ReLU or the residual addition; without a norm the
norm is an ``nn.Identity`` and the probe sees the raw conv output. Linear layers are probed on
their own output.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from labcore.nets.base import ProbePoint
from labcore.nets.registry import NormLayer, norm_layer_of


@dataclass(frozen=True)
class Ops:
    """Layer constructors for 1 or 2 spatial dimensions."""

    dim: int

    def conv(self, c_in: int, c_out: int, k: int, stride: int = 1, padding: int | None = None,
             bias: bool = False) -> nn.Module:
        cls = nn.Conv2d if self.dim == 2 else nn.Conv1d
        return cls(c_in, c_out, k, stride=stride, padding=k // 2 if padding is None else padding, bias=bias)

    def norm_layer(self, kind: str) -> NormLayer:
        """A builder's default norm, by name, for these dimensions."""
        return norm_layer_of(kind, self.dim)

    def maxpool(self, k: int, stride: int | None = None) -> nn.Module:
        return nn.MaxPool2d(k, stride) if self.dim == 2 else nn.MaxPool1d(k, stride)

    def avgpool(self, size: int) -> nn.Module:
        return nn.AdaptiveAvgPool2d(size) if self.dim == 2 else nn.AdaptiveAvgPool1d(size)


def ops_for(in_shape: tuple[int, ...]) -> Ops:
    """``(C, H, W)`` -> 2-D ops, ``(C, L)`` -> 1-D ops."""
    if len(in_shape) not in (2, 3):
        raise ValueError(f"input shape {in_shape} is neither (C, L) nor (C, H, W)")
    return Ops(len(in_shape) - 1)


class ConvUnit(nn.Module):
    """``conv -> norm``; the norm module is the probe module (see the module docstring)."""

    def __init__(self, ops: Ops, c_in: int, c_out: int, k: int, stride: int, norm_layer: NormLayer,
                 padding: int | None = None):
        super().__init__()
        norm = norm_layer(c_out)
        # A bias is redundant before a norm layer; keep it only when there is none.
        self.conv = ops.conv(c_in, c_out, k, stride, padding, bias=isinstance(norm, nn.Identity))
        self.norm = norm

    def forward(self, x):
        return self.norm(self.conv(x))

    def probe(self, name: str, activation: str = "relu") -> ProbePoint:
        return ProbePoint(name, self.conv.weight, self.norm, activation)


def linear_probe(name: str, layer: nn.Linear, module: nn.Module | None = None, activation: str = "relu",
                 hidden: bool = True) -> ProbePoint:
    """A probe point on a Linear layer; ``module`` is the one whose output is the activation."""
    return ProbePoint(name, layer.weight, module or layer, activation, hidden)


def pooled_size(size: int, k: int = 2) -> int:
    """Spatial size after a k-stride max pool (floor), as PyTorch computes it."""
    return size // k
