"""The MLP builder: NetSpec -> nn.Module with one probe point per layer.

A hidden block is ``Linear -> norm -> activation -> dropout`` followed by its skip combine,
written literally: ``x + f(x)`` (residual) or ``cat(x, f(x))`` (dense).
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import ACTIVATIONS, NORMS
from ..spec import LayerSpec, NetSpec
from .base import ProbePoint, init_weights


class Block(nn.Module):
    def __init__(self, in_dim: int, layer: LayerSpec):
        super().__init__()
        self.linear = nn.Linear(in_dim, layer.width)
        self.norm = NORMS[layer.norm](layer.width)
        self.act = ACTIVATIONS[layer.activation].make()
        self.drop = nn.Dropout(layer.dropout) if layer.dropout > 0 else nn.Identity()
        self.skip = layer.skip
        # Residual: identity when widths match, else a linear projection of x.
        self.proj = (nn.Linear(in_dim, layer.width, bias=False)
                     if layer.skip == "residual" and in_dim != layer.width else nn.Identity())
        self.out_dim = layer.width + (in_dim if layer.skip == "dense" else 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.act(self.norm(self.linear(x))))
        if self.skip == "residual":
            return self.proj(x) + h
        if self.skip == "dense":
            return torch.cat([x, h], dim=1)  # (B, in_dim + width)
        return h


class MLP(nn.Module):
    def __init__(self, spec: NetSpec, in_dim: int, n_classes: int):
        super().__init__()
        blocks, d = [], in_dim
        for layer in spec.layers:
            blocks.append(Block(d, layer))
            d = blocks[-1].out_dim
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(d, n_classes)
        self.probe_points = [ProbePoint(f"h{i + 1}", b.linear.weight, b.act, l.activation)
                             for i, (b, l) in enumerate(zip(blocks, spec.layers))]
        self.probe_points.append(ProbePoint("out", self.head.weight, self.head, "identity", hidden=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


def build_mlp(spec: NetSpec, in_dim: int, n_classes: int, seed: int = 0) -> MLP:
    """Build and initialise deterministically: same spec and seed, same weights."""
    g = torch.random.fork_rng(devices=[])
    with g:
        torch.manual_seed(seed)
        model = MLP(spec, in_dim, n_classes)
        init_weights(model, spec.init.scheme, spec.init.gain, spec.init.sigma)
    return model
