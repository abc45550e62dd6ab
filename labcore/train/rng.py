"""A run's random streams, owned by its trainer: never torch's global RNG.

Each use has its own ``torch.Generator``, seeded from the spec's seed, so a run draws the same
numbers whatever else the process does: two jobs training at once on two workers, twins
interleaved chunk by chunk on one, a snapshot or a page drawing in between. (The job manager
used to save and restore the global RNG around every chunk; with these it has nothing to do.)

* ``init`` (CPU): every weight; models are built on the CPU, then moved (same seed, same weights
  on every device);
* ``data`` (on the device): the order of the minibatches;
* ``dropout`` (on the device): dropout masks (:class:`labcore.nets.base.Dropout`);
* ``augment`` (on the device): crop offsets and flips of the full models' augmentation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

# Offsets from the spec's seed, one per stream (data and augment keep the values they always had).
_DATA, _DROPOUT, _AUGMENT = 1, 2, 7


@dataclass(frozen=True)
class RunGenerators:
    init: torch.Generator
    data: torch.Generator
    dropout: torch.Generator
    augment: torch.Generator

    @classmethod
    def seeded(cls, seed: int, device: torch.device) -> "RunGenerators":
        def on(dev, offset: int) -> torch.Generator:
            g = torch.Generator(device=dev)
            g.manual_seed(seed + offset)
            return g

        return cls(on("cpu", 0), on(device, _DATA), on(device, _DROPOUT), on(device, _AUGMENT))


__all__ = ["RunGenerators"]
