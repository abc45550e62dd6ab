"""Synthetic long-range sequence tasks, generated on the training device (offline, nothing stored).

Each task gives batches ``(x, y)`` with ``x`` of shape (B, T, in_dim) and the answer due after the
last step. The information the answer needs sits at the *start* of the sequence, so a net must
carry it through all T steps: the classic tests of gradients through time (Bengio et al. 1994;
Hochreiter & Schmidhuber 1997). Batches come from a seeded ``torch.Generator`` on the device,
so a step reads nothing on the host and two runs with one seed see the same sequences.

* ``adding``: x_t = (u_t, m_t), u_t ~ U[0, 1], m_t marks ``k`` positions (the first within the first
  tenth of the sequence, the others in its first half); y = the sum of the marked u_t (regression;
  "correct" within :data:`~labcore.spec.recurrent.ADDING_TOLERANCE`).
* ``recall``: x_1 is a one-hot symbol of a ``k``-letter alphabet, x_2..x_T random distractor symbols;
  y = the first symbol (k classes).
* ``parity``: x_t = ±1 random bits; y = the parity of the first ``k`` bits (2 classes).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch



@dataclass(frozen=True)
class TaskShape:
    in_dim: int  # features per time step
    out_dim: int  # classes, or 1 for regression
    regression: bool


def task_shape(task: str, level: int) -> TaskShape:
    if task == "adding":
        return TaskShape(2, 1, True)
    if task == "recall":
        return TaskShape(level, level, False)
    if task == "parity":
        return TaskShape(1, 2, False)
    raise KeyError(task)


class SequenceTask:
    """Endless fresh batches of one task, drawn on ``device`` from a seeded generator."""

    def __init__(self, task: str, seq_len: int, level: int, device: torch.device, seed: int):
        if task not in ("adding", "recall", "parity"):  # labcore.spec.recurrent.TASKS (a layer above)
            raise KeyError(task)
        self.task, self.T, self.k, self.device = task, seq_len, level, torch.device(device)
        self.shape = task_shape(task, level)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)

    def _rand(self, *shape) -> torch.Tensor:
        return torch.rand(*shape, generator=self.gen, device=self.device)

    def _randint(self, hi: int, *shape) -> torch.Tensor:
        return torch.randint(0, hi, shape, generator=self.gen, device=self.device)

    def batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x (b, T, in_dim) float32 and y: (b,) int64 classes, or (b,) float32 sums for ``adding``."""
        T, k = self.T, self.k
        if self.task == "adding":
            u = self._rand(b, T)
            # Marked positions: the first among the first tenth, the others distinct ones in the
            # first half (random scores, top-k: no host-side loop, no rejection sampling).
            first = (self._rand(b) * max(1, T // 10)).long()  # (b,)
            half = max(k, T // 2)
            score = self._rand(b, half)
            score.scatter_(1, first[:, None], 2.0)  # the first marker always wins a slot
            pos = score.topk(k, dim=1).indices  # (b, k) distinct positions
            marks = torch.zeros(b, T, device=self.device).scatter_(1, pos, 1.0)
            y = (u * marks).sum(1)
            return torch.stack([u, marks], dim=2), y
        if self.task == "recall":
            sym = self._randint(k, b, T)  # (b, T): the first symbol and T-1 distractors
            # one-hot by scatter: F.one_hot reads the indices' range on the host (a sync)
            x = torch.zeros(b, T, k, device=self.device).scatter_(2, sym[:, :, None], 1.0)
            return x, sym[:, 0].clone()
        bits = self._randint(2, b, T)  # parity
        y = bits[:, :k].sum(1) % 2
        return (bits.float() * 2 - 1)[:, :, None], y

    def fixed(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed set of ``n`` sequences (the test set) from its own seed; this stream is untouched."""
        other = SequenceTask(self.task, self.T, self.k, self.device, seed)
        return other.batch(n)





class TokenTask:
    """Token sequence-to-sequence tasks for the transformer family, drawn on the device.

    ``sort``: y = the input tokens in increasing order; ``reverse``: y = the input reversed. Both
    need every position to attend to others (per-token classification over ``vocab`` values).
    """

    def __init__(self, task: str, seq_len: int, vocab: int, device: torch.device, seed: int):
        if task not in ("sort", "reverse"):
            raise KeyError(task)
        self.task, self.n, self.vocab, self.device = task, seq_len, vocab, torch.device(device)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)

    def batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x (b, n) int64 tokens, y (b, n) int64 targets."""
        x = torch.randint(0, self.vocab, (b, self.n), generator=self.gen, device=self.device)
        y = x.sort(dim=1).values if self.task == "sort" else x.flip(1)
        return x, y

    def fixed(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        return TokenTask(self.task, self.n, self.vocab, self.device, seed).batch(n)
__all__ = ["SequenceTask", "TaskShape", "TokenTask", "task_shape"]
