"""The MLP builder: NetSpec -> nn.Module with one probe point per layer.

A hidden block is ``Linear -> norm -> activation -> dropout`` followed by its skip module
(:mod:`labcore.nets.skips`), which combines the block's input and output.
"""
from __future__ import annotations

import torch
from torch import nn

from labcore.nets.base import ProbePoint, init_weights
from labcore.nets.registry import ACTIVATION_MODULES, NORM_MODULES
from labcore.nets.skips import SKIP_MODULES
from labcore.spec.choices import SKIPS
from labcore.spec.mlp import LayerSpec, NetSpec


class Block(nn.Module):
    def __init__(self, in_dim: int, layer: LayerSpec):
        super().__init__()
        self.linear = nn.Linear(in_dim, layer.width)
        self.norm = NORM_MODULES[layer.norm](layer.width)
        self.act = ACTIVATION_MODULES[layer.activation]()
        self.drop = nn.Dropout(layer.dropout) if layer.dropout > 0 else nn.Identity()
        self.skip = SKIP_MODULES[layer.skip](in_dim, layer.width)
        self.out_dim = SKIPS[layer.skip].out_width(in_dim, layer.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x, self.drop(self.act(self.norm(self.linear(x)))))


class MLP(nn.Module):
    def __init__(self, spec: NetSpec, in_dim: int, n_classes: int):
        super().__init__()
        blocks, d = [], in_dim
        for layer in spec.layers:
            blocks.append(Block(d, layer))
            d = blocks[-1].out_dim
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(d, n_classes)
        self.refresh([l.activation for l in spec.layers])

    def refresh(self, activations: list[str]) -> None:
        """Rebuild :attr:`probe_points` from the blocks as they are now (after live surgery
        replaced a block's ``.act``, ``.norm``, ``.drop`` or ``.skip``); one activation key per block."""
        self.probe_points = [ProbePoint(f"h{i + 1}", b.linear.weight, b.act, a)
                             for i, (b, a) in enumerate(zip(self.blocks, activations))]
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
