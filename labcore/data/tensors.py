"""Data sets as whole tensors on the training device, and index-gather batching.

No DataLoader: a batch is ``x[idx]`` with ``idx`` a slice of a device-side permutation, so a
step never touches the host (design.md §5; airbench does the same for CIFAR-10).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labcore.data.datasets import DATASETS


@dataclass
class DeviceData:
    """Train and test tensors on one device."""

    name: str
    x_train: torch.Tensor  # (N, in_dim) float32
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor  # (M, in_dim)
    y_test: torch.Tensor  # (M,)
    n_classes: int

    @property
    def in_dim(self) -> int:
        return int(self.x_train.shape[1])


_CACHE: dict[tuple, tuple] = {}  # (DataSpec, seed) -> numpy arrays; generation can take seconds


def load_arrays(spec, seed: int):
    """The numpy arrays of a data spec, memoised per process (they are small)."""
    key = (spec, seed if DATASETS[spec.name].kind == "2d" else 0)
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = DATASETS[spec.name].load(spec, seed)
    return _CACHE[key]


def load_data(spec, seed: int, device: torch.device) -> DeviceData:
    """Load a DataSpec onto ``device`` as whole tensors."""
    xtr, ytr, xte, yte = load_arrays(spec, seed)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(device)

    return DeviceData(spec.name, t(xtr), t(ytr), t(xte), t(yte), DATASETS[spec.name].n_classes(spec))


class BatchStream:
    """Endless shuffled minibatch indices, drawn on the device from a seeded generator.

    Each epoch is a fresh ``randperm``; batches are contiguous slices of it (python ints, so
    no sync). The last partial batch of an epoch is dropped to keep shapes static.
    """

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device,
                 generator: torch.Generator | None = None):
        self.n, self.device = n, device
        self.batch_size = min(batch_size, n)
        if generator is None:  # a stream of its own (a trainer passes the run's data generator)
            generator = torch.Generator(device=device)
            generator.manual_seed(seed + 1)
        self.gen = generator
        self._perm = None
        self._pos = n  # forces a new permutation on first use

    def next(self) -> torch.Tensor:
        if self._pos + self.batch_size > self.n:
            self._perm = torch.randperm(self.n, generator=self.gen, device=self.device)
            self._pos = 0
        idx = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx
