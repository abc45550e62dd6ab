"""BatchNorm evaluation with recalibrated statistics: what the network really scores.

During training a BatchNorm layer keeps an exponential moving average of batch statistics
(momentum 0.1), and evaluation normalises with it. While the weights still move fast, that
average lags behind them: the batchnorm preset scored 0.84 test accuracy on these averages where
the same weights score 1.00 with the statistics of the current weights (issue 10).

:func:`recalibrate_batchnorm` recomputes them exactly: one forward pass over (up to
``max_examples``) training examples with every BatchNorm layer in training mode and
``momentum=1.0`` (the running statistics become that pass's statistics; ``momentum=None`` would
do the same but reads a counter on the host, a sync), the rest of the network in eval mode
(no dropout). Each layer then sees inputs normalised with the
population statistics of the layers before it, which is what evaluation does next. Everything
stays on the device (no host sync); the original momenta are put back.
"""
from __future__ import annotations

import torch
from torch import nn

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers that track running statistics."""
    return [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x: torch.Tensor, max_examples: int = 4096,
                          bns: list | None = None) -> None:
    """Replace every BatchNorm's running mean/var by the statistics of ``x[:max_examples]``.

    Leaves the model in eval mode. A model without BatchNorm is left untouched.
    """
    bns = batchnorms(model) if bns is None else bns
    if not bns:
        return
    model.eval()
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 1.0
        m.train()
    model(x[:max_examples])
    for m, mom in zip(bns, momenta):
        m.momentum = mom
        m.eval()


__all__ = ["batchnorms", "recalibrate_batchnorm"]
