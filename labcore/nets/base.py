"""What every builder shares: probe points and the named init step."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from labcore.nets.registry import INIT_FNS


@dataclass(frozen=True)
class ProbePoint:
    """One probed layer: a stable name, its weight, and the module whose output is its activation."""

    name: str  # stable, e.g. "h1" ... "h20", "out"
    weight: nn.Parameter  # the layer's weight matrix / kernel
    module: nn.Module  # its output is the layer's activation (post-nonlinearity)
    activation: str  # key of ACTIVATIONS ("identity" for the classifier head)
    hidden: bool = True  # False for the classifier head


def init_weights(model: nn.Module, scheme: str, gain: float = 1.0, sigma: float = 0.01) -> None:
    """Re-draw every Linear/Conv weight with ``scheme``; biases start at zero.

    ``default`` keeps PyTorch's own init (bias included), scaled by ``gain``.
    """
    fn = INIT_FNS[scheme]
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            fn(m.weight, gain, sigma)
            if m.bias is not None and scheme != "default":
                nn.init.zeros_(m.bias)
