"""What the recurrent and transformer trainers share: the probe's device buffers and their flush,
and the evaluations on fixed test sequences, kept on the device until the flush (design.md §5).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.train.loop import TrainLoop

TEST_SEQUENCES = 512


class ProbeBuffers:
    """A (capacity, metrics, points) device buffer of recorded steps, plus their loss and accuracy."""

    def __init__(self, names: list[str], capacity: int, device: torch.device):
        self.names, self.capacity, self.device = names, capacity, device
        self.layer_buf = torch.full((capacity, len(LAYER_METRICS), len(names)), math.nan, device=device)
        self.loss_buf = torch.full((capacity,), math.nan, device=device)
        self.acc_buf = torch.full((capacity,), math.nan, device=device)
        self.rows: list[int] = []

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.capacity

    def _end_row(self, step: int, loss: torch.Tensor, acc: torch.Tensor) -> None:
        self.loss_buf[len(self.rows)].copy_(loss)
        self.acc_buf[len(self.rows)].copy_(acc)
        self.rows.append(step)

    def flush(self) -> MetricsChunk:
        n = len(self.rows)
        if n == 0:
            return MetricsChunk.empty(self.names)
        layer = self.layer_buf[:n].cpu().numpy().copy()
        loss, acc = self.loss_buf[:n].cpu().numpy().copy(), self.acc_buf[:n].cpu().numpy().copy()
        steps = np.asarray(self.rows, dtype=np.int64)
        self.rows = []
        self.layer_buf.fill_(math.nan)
        return MetricsChunk(self.names, steps, loss, acc, layer)


class SequenceLoop(TrainLoop):
    """A TrainLoop that evaluates on ``self.x_test``/``self.y_test`` with ``self._loss_acc``."""

    def _init_eval(self, flush_every: int, eval_every: int) -> None:
        self._eval_buf = torch.full((-(-flush_every // eval_every) + 2, 2), math.nan, device=self.device)
        self._eval_steps: list[int] = []
        self.test_acc = math.nan  # at the latest evaluation

    @torch.no_grad()
    def _evaluate(self) -> None:
        loss, acc = self._loss_acc(self.model(self.x_test), self.y_test)
        row = self._eval_buf[len(self._eval_steps)]
        row[0].copy_(loss)
        row[1].copy_(acc)
        self._eval_steps.append(self.step)

    def _flush_extras(self, chunk: MetricsChunk) -> None:
        ev = self._eval_buf[:len(self._eval_steps)].cpu().numpy()  # (E, 2): test loss, accuracy
        chunk.eval_steps = np.asarray(self._eval_steps, dtype=np.int64)
        chunk.test_loss = np.where(np.isfinite(ev[:, 0]), ev[:, 0], np.nan)
        chunk.test_acc = np.where(np.isfinite(ev[:, 1]), ev[:, 1], np.nan)
        self._eval_steps = []
        if len(chunk.test_acc) and np.isfinite(chunk.test_acc[-1]):
            self.test_acc = float(chunk.test_acc[-1])


def finite_or_none(v) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


__all__ = ["ProbeBuffers", "SequenceLoop", "TEST_SEQUENCES", "finite_or_none"]
