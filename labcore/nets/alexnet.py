"""An AlexNet-style net (Krizhevsky et al. 2012) scaled for small inputs.

Five conv layers (64, 192, 384, 256, 256 filters; 5x5 then 3x3 kernels, stride 1 instead of
the 11x11 stride-4 ImageNet stem), max-pools after conv1, conv2 and conv5 while the map is at
least 2 wide, and three fully connected layers (1024, 1024, classes) with dropout 0.5, as in
the original, on a 2x2 adaptive-pooled map. AlexNet had no batch norm: ``norm_layer`` defaults
to none (the original's local response normalisation is left out, as in torchvision).

Probe points: ``conv1`` ... ``conv5`` (probe module: the norm, i.e. the response before the
ReLU), ``fc1``, ``fc2`` (pre-ReLU outputs) and the head ``fc``.
"""
from __future__ import annotations

import torch
from torch import nn

from labcore.nets.base import Dropout
from labcore.nets.layers import ConvUnit, linear_probe, ops_for, pooled_size
from labcore.nets.registry import NormLayer

CONVS = ((64, 5, True), (192, 5, True), (384, 3, False), (256, 3, False), (256, 3, True))  # (filters, k, pool)
HIDDEN = 1024
POOLED = 2  # the conv map is average-pooled to 2x2 (or 2) before the classifier


class AlexNet(nn.Module):
    def __init__(self, in_shape, n_classes: int, *, norm_layer: NormLayer | None = None, dropout: float = 0.5):
        super().__init__()
        ops = ops_for(tuple(in_shape))
        norm_layer = norm_layer or ops.norm_layer("none")
        size, c = min(in_shape[1:]), in_shape[0]
        layers, points = [], []
        for i, (w, k, pool) in enumerate(CONVS):
            unit = ConvUnit(ops, c, w, k, 1, norm_layer)
            points.append(unit.probe(f"conv{i + 1}"))
            layers += [unit, nn.ReLU()]
            if pool and size >= 2:
                layers.append(ops.maxpool(2))
                size = pooled_size(size)
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = ops.avgpool(POOLED)
        flat = c * POOLED ** ops.dim
        self.fc1, self.fc2, self.fc = nn.Linear(flat, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, n_classes)
        self.classifier = nn.Sequential(Dropout(dropout), self.fc1, nn.ReLU(),
                                        Dropout(dropout), self.fc2, nn.ReLU(), self.fc)
        points += [linear_probe("fc1", self.fc1), linear_probe("fc2", self.fc2),
                   linear_probe("fc", self.fc, activation="identity", hidden=False)]
        self.probe_points = points

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))  # (B, C, *S) -> (B, C*S)


def alexnet(in_shape, n_classes: int, *, norm_layer: NormLayer | None = None) -> AlexNet:
    return AlexNet(in_shape, n_classes, norm_layer=norm_layer)
