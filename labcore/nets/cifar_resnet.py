"""CIFAR-style plain-N and ResNet-N (He et al. 2016, section 4.2), and the generic ResNet body.

``N = 6n + 2``: a 3x3 stem conv with 16 filters, three stages of ``n`` basic blocks with
{16, 32, 64} filters (stride 2 at the start of stages 2 and 3), global average pooling and a
linear classifier. A basic block is two 3x3 ``conv -> norm`` units; the residual version adds
its input back before the second ReLU, written literally: ``relu(x_short + branch(x))``.

Shortcuts where the shape changes:
  * option ``"A"``: identity on a strided view, zero-padded in channels (no parameters, so a
    ResNet has exactly its plain twin's parameter count: 0.27M / 0.85M / 1.7M for N = 20/56/110);
  * option ``"B"``: a 1x1 strided projection conv followed by the block's norm.

Probe points, input side first: ``conv1``, then per block ``sS.bB.c1``, ``sS.bB.c2`` (and
``sS.bB.proj`` for an option-B projection), then ``fc``. Each conv's probe module is its norm, so
the probe records the response after BN, before the ReLU or the addition (the paper's Fig. 7).
The second conv of a *residual* block is labelled ``identity`` because no ReLU acts on it
directly (its dead-unit statistic would mean nothing); everywhere else it is ``relu``.

The same classes build the ImageNet-style ResNet-18/34 (see :mod:`.imagenet_resnet`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from labcore.nets.base import ProbePoint
from labcore.nets.layers import ConvUnit, Ops, linear_probe, ops_for
from labcore.nets.registry import NormLayer

SHORTCUTS = ("A", "B")
from labcore.spec.choices import CIFAR_DEPTHS  # noqa: E402  (the paper's Table 6 depths; any 6n+2 builds)


class BasicBlock(nn.Module):
    """Two 3x3 conv units; ``residual`` adds the (shortcut of the) input before the last ReLU."""

    def __init__(self, ops: Ops, c_in: int, c_out: int, stride: int, *, residual: bool, shortcut: str,
                 norm_layer: NormLayer):
        super().__init__()
        self.residual, self.stride, self.dim = residual, stride, ops.dim
        self.c1 = ConvUnit(ops, c_in, c_out, 3, stride, norm_layer)
        self.c2 = ConvUnit(ops, c_out, c_out, 3, 1, norm_layer)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()  # not in place: the probe keeps the norm output
        reshape = stride != 1 or c_in != c_out
        self.proj = ConvUnit(ops, c_in, c_out, 1, stride, norm_layer, padding=0) if (
            residual and reshape and shortcut == "B") else None
        self.pad = (c_out - c_in) if residual and reshape and shortcut == "A" else 0

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.proj is not None:
            return self.proj(x)
        if self.stride != 1:
            x = x[..., ::self.stride, ::self.stride] if self.dim == 2 else x[..., ::self.stride]
        if self.pad:
            # Option A: zero channels appended (B, C, *S) -> (B, C + pad, *S).
            lo = self.pad // 2
            x = F.pad(x, (0, 0) * self.dim + (lo, self.pad - lo))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c2(self.relu1(self.c1(x)))
        if self.residual:
            h = self.shortcut(x) + h
        return self.relu2(h)

    def last_norm(self) -> nn.Module:
        return self.c2.norm


class ResNet(nn.Module):
    """Stem unit, stages of basic blocks, global average pool, linear head.

    ``norm_layer(channels) -> nn.Module`` makes every conv unit's norm (default: BatchNorm).
    """

    def __init__(self, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...],
                 blocks: tuple[int, ...], *, residual: bool, shortcut: str = "A",
                 norm_layer: NormLayer | None = None):
        super().__init__()
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut {shortcut!r}: one of {', '.join(SHORTCUTS)}")
        ops = ops_for(in_shape)
        norm_layer = norm_layer or ops.norm_layer("batchnorm")
        self.stem = ConvUnit(ops, in_shape[0], widths[0], 3, 1, norm_layer)
        self.stem_relu = nn.ReLU()
        points = [self.stem.probe("conv1")]
        stages, c = [], widths[0]
        for s, (w, n) in enumerate(zip(widths, blocks)):
            stage = []
            for b in range(n):
                blk = BasicBlock(ops, c, w, 2 if (b == 0 and s > 0) else 1,
                                 residual=residual, shortcut=shortcut, norm_layer=norm_layer)
                tag = f"s{s + 1}.b{b + 1}"
                points.append(blk.c1.probe(f"{tag}.c1"))
                if blk.proj is not None:
                    points.append(blk.proj.probe(f"{tag}.proj", "identity"))
                points.append(blk.c2.probe(f"{tag}.c2", "identity" if residual else "relu"))
                stage.append(blk)
                c = w
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)
        self.pool = ops.avgpool(1)
        self.fc = nn.Linear(c, n_classes)
        points.append(linear_probe("fc", self.fc, activation="identity", hidden=False))
        self.probe_points: list[ProbePoint] = points

    def residual_blocks(self) -> list[BasicBlock]:
        return [b for st in self.stages for b in st if b.residual]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem_relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))  # (B, C, *S) -> (B, C)


def cifar_resnet(depth: int, in_shape, n_classes: int, *, residual: bool, shortcut: str = "A",
                 norm_layer: NormLayer | None = None) -> ResNet:
    """plain-``depth`` (``residual=False``) or ResNet-``depth``; ``depth`` must be 6n+2."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth {depth} is not 6n+2 (20, 32, 44, 56, 110, ...)")
    n = (depth - 2) // 6
    return ResNet(tuple(in_shape), n_classes, (16, 32, 64), (n, n, n),
                  residual=residual, shortcut=shortcut, norm_layer=norm_layer)
