"""VGG-11/16-style nets (Simonyan & Zisserman 2015, configs A and D), with or without BN.

The conv stack is the paper's (3x3 convs, 64..512 filters, max-pools between groups). For small
inputs a max-pool is skipped once the feature map is down to 1 (an 8x8 digit would otherwise
vanish after three pools), and the classifier is the CIFAR-sized ``512 -> 512 -> 512 -> classes``
after a global average pool, instead of the 4096-wide ImageNet head.

Probe points: ``conv1`` ... ``convK`` (probe module: the norm, i.e. the response before the ReLU),
``fc1``, ``fc2`` (probed on their pre-ReLU output) and the head ``fc``.
"""
from __future__ import annotations

import torch
from torch import nn

from labcore.nets.layers import ConvUnit, linear_probe, ops_for, pooled_size
from labcore.nets.registry import NormLayer

VGG_CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}
HIDDEN = 512  # classifier width for small inputs


class VGG(nn.Module):
    """``norm_layer(channels) -> nn.Module`` after each conv (default: none, the paper's VGG)."""

    def __init__(self, depth: int, in_shape, n_classes: int, *, norm_layer: NormLayer | None = None):
        super().__init__()
        if depth not in VGG_CONFIGS:
            raise ValueError(f"VGG depth {depth}: one of {sorted(VGG_CONFIGS)}")
        ops = ops_for(tuple(in_shape))
        norm_layer = norm_layer or ops.norm_layer("none")
        size = min(in_shape[1:])
        layers, points, c = [], [], in_shape[0]
        for v in VGG_CONFIGS[depth]:
            if v == "M":
                if size >= 2:  # skip pools that would shrink the map below 1
                    layers.append(ops.maxpool(2))
                    size = pooled_size(size)
                continue
            unit = ConvUnit(ops, c, v, 3, 1, norm_layer)
            points.append(unit.probe(f"conv{len(points) + 1}"))
            layers += [unit, nn.ReLU()]
            c = v
        self.features = nn.Sequential(*layers)
        self.pool = ops.avgpool(1)
        self.fc1, self.fc2 = nn.Linear(c, HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.fc = nn.Linear(HIDDEN, n_classes)
        self.classifier = nn.Sequential(self.fc1, nn.ReLU(), self.fc2, nn.ReLU(), self.fc)
        points += [linear_probe("fc1", self.fc1), linear_probe("fc2", self.fc2),
                   linear_probe("fc", self.fc, activation="identity", hidden=False)]
        self.probe_points = points

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))  # (B, C, *S) -> (B, C)


def vgg(depth: int, in_shape, n_classes: int, *, norm_layer: NormLayer | None = None) -> VGG:
    return VGG(depth, in_shape, n_classes, norm_layer=norm_layer)
