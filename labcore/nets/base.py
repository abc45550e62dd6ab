"""What every builder shares: probe points, seeded construction, the named init step, and a
dropout whose masks come from the run's own generator.

Randomness never comes from torch's global RNG: :func:`build_seeded` draws every weight from a
``torch.Generator`` (the trainer's, or one seeded for the call), and :class:`Dropout` draws its
masks from the generator :func:`bind_generator` gives it. Two runs in one process (two jobs on
two workers, or twins interleaved on one) therefore never share a random stream.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from labcore.nets.registry import INIT_FNS

_DRAWN = (nn.Linear, nn.Conv1d, nn.Conv2d)  # the layers whose default init draws random numbers


@dataclass(frozen=True)
class ProbePoint:
    """One probed layer: a stable name, its weight, and the module whose output is its activation."""

    name: str  # stable, e.g. "h1" ... "h20", "out"
    weight: nn.Parameter  # the layer's weight matrix / kernel
    module: nn.Module  # its output is the layer's activation (post-nonlinearity)
    activation: str  # key of ACTIVATIONS ("identity" for the classifier head)
    hidden: bool = True  # False for the classifier head


def init_weights(model: nn.Module, scheme: str, gain: float = 1.0, sigma: float = 0.01,
                 generator: torch.Generator | None = None) -> None:
    """Re-draw every Linear/Conv weight with ``scheme`` (from ``generator``); biases start at zero.

    ``default`` keeps PyTorch's own init (bias included), scaled by ``gain``.
    """
    fn = INIT_FNS[scheme]
    for m in model.modules():
        if isinstance(m, _DRAWN):
            fn(m.weight, gain, sigma, generator)
            if m.bias is not None and scheme != "default":
                nn.init.zeros_(m.bias)


def _default_init(m: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's own ``reset_parameters`` of a Linear/Conv layer, drawn from ``generator``."""
    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
    if m.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def _materialize(model: nn.Module) -> None:
    """Give a model built on ``meta`` (uninitialised) CPU memory, keeping every Parameter object:
    references taken while building (probe points hold their layer's weight) stay valid."""
    seen: set[int] = set()
    for m in model.modules():
        for p in m._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                torch.utils.swap_tensors(p, nn.Parameter(torch.empty_like(p, device="cpu"), p.requires_grad))
        for name, b in m._buffers.items():
            if b is not None:
                m._buffers[name] = torch.empty_like(b, device="cpu")


def build_seeded(make: Callable[[], nn.Module], scheme: str, gain: float = 1.0, sigma: float = 0.01, *,
                 seed: int = 0, generator: torch.Generator | None = None) -> nn.Module:
    """``make()`` built on the CPU with every random number drawn from ``generator`` (a CPU one;
    default: a fresh one seeded with ``seed``), then initialised with ``scheme``.

    The module is made on the ``meta`` device (no global RNG is touched), then given CPU memory
    (the same Parameter objects) and PyTorch's own init, layer by layer in module order, exactly as building it normally after
    ``torch.manual_seed(seed)`` would: same seed, same weights as that. Modules other than
    Linear/Conv are reset by their own ``reset_parameters`` (norms: ones and zeros, no RNG).
    """
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        model = make()
    _materialize(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _DRAWN):
                _default_init(m, generator)
            elif hasattr(m, "reset_parameters"):
                m.reset_parameters()
    init_weights(model, scheme, gain, sigma, generator)
    return model


class Dropout(nn.Module):
    """``nn.Dropout``, with its masks drawn from a generator of the run (see :func:`bind_generator`).

    Without one bound it draws from torch's global RNG, like ``nn.Dropout``. The mask is drawn on
    the input's device, so a bound generator must live there; nothing is read on the host.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability {p}: from 0 to below 1")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep.mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def bind_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    """Make every :class:`Dropout` of ``model`` draw its masks from ``generator``."""
    for m in model.modules():
        if isinstance(m, Dropout):
            m.generator = generator
