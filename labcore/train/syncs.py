"""Count host synchronisations: ``aten._local_scalar_dense`` calls (``.item()``, ``float(t)``,
``bool(t)``, data-dependent ``if``) seen by a TorchDispatchMode.

    with SyncCounter() as c:
        trainer._train_step()
    assert c.count == 0
"""
from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_SYNC_OPS = {torch.ops.aten._local_scalar_dense.default, torch.ops.aten.is_nonzero.default,
             torch.ops.aten.item.default}


class SyncCounter(TorchDispatchMode):
    """Counts ops that copy a tensor's value to the host, by op name."""

    def __init__(self):
        super().__init__()
        self.calls: Counter = Counter()

    @property
    def count(self) -> int:
        return sum(self.calls.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in _SYNC_OPS:
            self.calls[str(func)] += 1
        return func(*args, **(kwargs or {}))
