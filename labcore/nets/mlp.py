"""The MLP builder: NetSpec -> a lean nn.Module with one probe point per layer.

A hidden block is ``linear -> norm -> act -> drop`` followed by its ``skip`` module
(:mod:`labcore.nets.skips`), which combines the block's input and output.

The contract (the probe, the live surgery and the benches rely on it):

- ``model.blocks[i]`` is a :class:`Block` with the attributes ``linear`` (nn.Linear), ``norm``,
  ``act``, ``drop`` and ``skip``. A part that is absent is ``None`` (no norm, no dropout, no skip):
  there is no Identity in the step path, so a plain layer costs exactly two module calls,
  Linear + activation, like an ``nn.Sequential``. ``act`` is always a module (``nn.Identity`` for
  the "identity" activation): it is the layer's probe point.
- Surgery edits a running model in place by assigning those attributes
  (``model.blocks[i].norm = nn.LayerNorm(w)``, ``.skip = Residual(w, w)``, ``.act = nn.Tanh()``,
  ``.norm = None``) or by replacing ``model.blocks[i]`` with another Block; the next forward pass
  uses the change. A Block keeps its parts in one plain tuple (``parts``), refreshed on every such
  assignment, so :meth:`MLP.forward` reads them without ``nn.Module.__getattr__``.
- ``model.probe_points``: ``h1 .. hN`` (each block's ``linear.weight`` and ``act``) then ``out``
  (the head). Module forward hooks on ``point.module`` keep working (snapshot, oracle tests).
- ``model.tap``: ``None``, or ``tap(i, h)`` called with probe point ``i``'s output during the
  forward pass. The probe sets it for a recorded step only (cheaper than forward hooks, which put
  every hooked module on PyTorch's slow call path); it must not change ``h``.
"""
from __future__ import annotations

import torch
from torch import nn

from labcore.nets.base import Dropout, ProbePoint, build_seeded
from labcore.nets.registry import ACTIVATION_MODULES, NORM_MODULES
from labcore.nets.skips import SKIP_MODULES
from labcore.spec.choices import SKIPS
from labcore.spec.mlp import LayerSpec, NetSpec

PARTS = ("linear", "norm", "act", "drop", "skip")


class Block(nn.Module):
    """One hidden layer; its parts are plain attributes, ``None`` where absent."""

    def __init__(self, in_dim: int, layer: LayerSpec):
        super().__init__()
        self.linear = nn.Linear(in_dim, layer.width)
        self.norm = NORM_MODULES[layer.norm](layer.width) if layer.norm != "none" else None
        self.act = ACTIVATION_MODULES[layer.activation]()
        self.drop = Dropout(layer.dropout) if layer.dropout > 0 else None
        self.skip = SKIP_MODULES[layer.skip](in_dim, layer.width) if layer.skip != "none" else None
        self.out_dim = SKIPS[layer.skip].out_width(in_dim, layer.width)

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        if name in PARTS:  # keep the tuple the forward pass reads in step with the modules
            object.__setattr__(self, "parts", tuple(self._modules.get(p) for p in PARTS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        linear, norm, act, drop, skip = self.parts
        h = linear(x)
        if norm is not None:
            h = norm(h)
        h = act(h)
        if drop is not None:
            h = drop(h)
        return h if skip is None else skip(x, h)


class MLP(nn.Module):
    def __init__(self, spec: NetSpec, in_dim: int, n_classes: int):
        super().__init__()
        blocks, d = [], in_dim
        for layer in spec.layers:
            blocks.append(Block(d, layer))
            d = blocks[-1].out_dim
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(d, n_classes)
        self.tap = None
        self.refresh([l.activation for l in spec.layers])

    def refresh(self, activations: list[str]) -> None:
        """Rebuild :attr:`probe_points` from the blocks as they are now (after live surgery
        replaced a block's ``.act``, ``.norm``, ``.drop`` or ``.skip``); one activation key per block."""
        self.probe_points = [ProbePoint(f"h{i + 1}", b.linear.weight, b.act, a)
                             for i, (b, a) in enumerate(zip(self.blocks, activations))]
        self.probe_points.append(ProbePoint("out", self.head.weight, self.head, "identity", hidden=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The blocks' parts are called here, not through Block.__call__: a plain layer is two
        # module calls (Linear, activation), the same as in an nn.Sequential.
        tap = self.tap
        i = 0
        for b in self.blocks:
            linear, norm, act, drop, skip = b.parts
            h = linear(x)
            if norm is not None:
                h = norm(h)
            h = act(h)
            if tap is not None:
                tap(i, h)
            if drop is not None:
                h = drop(h)
            x = h if skip is None else skip(x, h)
            i += 1
        out = self.head(x)
        if tap is not None:
            tap(i, out)
        return out


def build_mlp(spec: NetSpec, in_dim: int, n_classes: int, seed: int = 0, *,
              generator: torch.Generator | None = None) -> MLP:
    """Build and initialise deterministically from ``generator`` (default: one seeded with ``seed``):
    same spec and seed, same weights; torch's global RNG is not touched."""
    return build_seeded(lambda: MLP(spec, in_dim, n_classes), spec.init.scheme, spec.init.gain, spec.init.sigma,
                        seed=seed, generator=generator)
