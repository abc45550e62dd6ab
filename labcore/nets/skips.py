"""Skip connections as modules: ``skip(x, h)`` combines a block's input ``x`` with its output ``h``.

One module per key of :data:`labcore.spec.choices.SKIPS`; the width rule each follows
(``out_width``, ``projects``) is read from there, so the builder, the size guard and the stack
diagram agree by construction. A block's ``forward`` calls its skip and never looks at a name.
"""
from __future__ import annotations

import torch
from torch import nn

from labcore.spec.choices import SKIPS


class NoSkip(nn.Module):
    """A plain layer: ``x -> h``."""

    def __init__(self, in_dim: int, width: int):
        super().__init__()

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return h


class Residual(nn.Module):
    """``x -> x + h``; a bias-free linear projection of ``x`` where the widths differ."""

    def __init__(self, in_dim: int, width: int):
        super().__init__()
        self.proj = nn.Linear(in_dim, width, bias=False) if SKIPS["residual"].projects(in_dim, width) else None

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return (x if self.proj is None else self.proj(x)) + h


class Dense(nn.Module):
    """``x -> cat(x, h)``, DenseNet-style."""

    def __init__(self, in_dim: int, width: int):
        super().__init__()

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, h], dim=1)  # (B, in_dim + width)


SKIP_MODULES: dict[str, type[nn.Module]] = {"none": NoSkip, "residual": Residual, "dense": Dense}
if set(SKIP_MODULES) != set(SKIPS):
    raise RuntimeError(f"skip modules {sorted(SKIP_MODULES)} differ from the names {sorted(SKIPS)}")
