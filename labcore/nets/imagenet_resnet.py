"""ResNet-18/34 (He et al. 2016, Table 1), adapted to small inputs.

Widths {64, 128, 256, 512}, basic blocks [2, 2, 2, 2] / [3, 4, 6, 3]. For 32x32 (or smaller)
inputs the 7x7 stride-2 stem and the 3x3 max-pool are replaced by a 3x3 stride-1 stem conv, the
usual CIFAR adaptation; otherwise the network is the paper's, with option-B projection
shortcuts by default (as in torchvision). Probe points follow :mod:`.cifar_resnet`.
"""
from __future__ import annotations

from labcore.nets.cifar_resnet import ResNet
from labcore.nets.registry import NormLayer

IMAGENET_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def imagenet_resnet(depth: int, in_shape, n_classes: int, *, residual: bool = True, shortcut: str = "B",
                    norm_layer: NormLayer | None = None) -> ResNet:
    if depth not in IMAGENET_BLOCKS:
        raise ValueError(f"ImageNet-style ResNet depth {depth}: one of {sorted(IMAGENET_BLOCKS)}")
    return ResNet(tuple(in_shape), n_classes, (64, 128, 256, 512), IMAGENET_BLOCKS[depth],
                  residual=residual, shortcut=shortcut, norm_layer=norm_layer)
