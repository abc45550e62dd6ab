"""The control shared by every trainer: chunked steps, stop from another thread, divergence.

A subclass sets ``total_steps``, ``flush_every``, ``layers`` and ``probe``, calls
``_init_loop()``, and implements ``_train_step()`` (which appends each step's detached loss to
``_step_losses``) and optionally ``_flush_extras(chunk)`` (evaluations kept on the device).
Divergence is noticed at the flush, from the stacked losses (and clipped-gradient norms) and the
recorded weight-gradient norms: the run then ends as ``diverged`` at the first bad step, and
whatever was recorded after it is dropped.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import torch

from labcore.core.metrics import MetricsChunk
from labcore.core.status import TERMINAL, TRAINER_STATUSES, Status

STATUSES = TRAINER_STATUSES


class TrainLoop:
    total_steps: int
    flush_every: int
    layers: list[str]

    def _init_loop(self) -> None:
        self.step = 0
        self.status = Status.READY
        self.first_bad_step: int | None = None
        self._executed = 0  # steps actually run (differs from .step only after divergence)
        self.train_seconds = 0.0
        self._stop = threading.Event()
        # Every step's loss (and, with clipping, global gradient norm) stays on the device
        # until the flush, which stacks them once and checks them for NaN/Inf.
        self._step_losses: list[torch.Tensor] = []
        self._step_norms: list[torch.Tensor] = []
        self._first_step_in_flush = 1

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Ask the loop to stop after the current step (safe from any thread)."""
        self._stop.set()

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def steps_per_second(self) -> float:
        done = self._executed if self.status == Status.DIVERGED else self.step
        return done / self.train_seconds if self.train_seconds > 0 else 0.0

    # ------------------------------------------------------------------ subclass hooks
    def _train_step(self) -> None:
        raise NotImplementedError

    def _flush_extras(self, chunk: MetricsChunk) -> None:
        """Add evaluations (kept on the device since the last flush) to ``chunk``."""

    # ------------------------------------------------------------------ flush
    def _flush(self) -> MetricsChunk:
        chunk = self.probe.flush()  # the one host copy of the probe's buffers
        n = len(self._step_losses)
        step_loss = torch.stack(self._step_losses).float().cpu().numpy() if n else np.zeros(0, np.float32)
        finite = np.isfinite(step_loss)
        if self._step_norms:
            finite &= np.isfinite(torch.stack(self._step_norms).float().cpu().numpy())
        all_steps = np.arange(self._first_step_in_flush, self._first_step_in_flush + n, dtype=np.int64)
        chunk.all_steps, chunk.step_loss = all_steps, np.where(finite, step_loss, np.nan)
        self._flush_extras(chunk)
        bad = [int(s) for s in all_steps[~finite]]
        # A recorded step whose weight gradients are not finite is bad too.
        bad += [int(s) for s, row in zip(chunk.steps, chunk.metric("grad_norm")) if np.isnan(row).any()]
        self._step_losses, self._step_norms = [], []
        self._first_step_in_flush = self.step + 1
        if bad:
            self.first_bad_step = min(bad)
            self.status = Status.DIVERGED
            self._executed = self.step
            self.step = self.first_bad_step  # steps after the first bad one do not count
            chunk = chunk.truncate(self.first_bad_step)
        return chunk

    # ------------------------------------------------------------------ loop
    def steps(self, n: int | None = None) -> MetricsChunk:
        """Train up to ``n`` more steps (default: to the end) and return their metrics."""
        if self.done:
            return MetricsChunk.empty(self.layers)
        target = min(self.total_steps, self.step + (self.total_steps if n is None else max(0, n)))
        chunks = []
        self.status = Status.RUNNING
        start = time.perf_counter()
        try:
            while self.step < target and not self._stop.is_set():
                self._train_step()
                if len(self._step_losses) >= self.flush_every or self.probe.full:
                    chunks.append(self._flush())
                    if self.status == Status.DIVERGED:
                        break
            if self.status != Status.DIVERGED:
                chunks.append(self._flush())
        except Exception:
            self.status = Status.FAILED
            raise
        finally:
            self.train_seconds += time.perf_counter() - start
        if self.status == Status.RUNNING:
            if self._stop.is_set():
                self.status = Status.STOPPED
            elif self.step >= self.total_steps:
                self.status = Status.FINISHED
            else:
                self.status = Status.READY  # paused between chunks
        return MetricsChunk.concat(chunks, self.layers)

    def run(self, on_chunk=None, chunk_steps: int | None = None) -> MetricsChunk:
        """Train to the end (or stop/divergence), calling ``on_chunk(chunk)`` after each chunk."""
        chunk_steps = chunk_steps or self.flush_every
        chunks = []
        while not self.done:
            c = self.steps(chunk_steps)
            chunks.append(c)
            if on_chunk is not None:
                on_chunk(c)
            if self.status == Status.READY and self._stop.is_set():
                self.status = Status.STOPPED
        return MetricsChunk.concat(chunks, self.layers)
