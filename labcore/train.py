"""The step loop: chunked, stoppable from another thread, divergence-aware, sync-free per step.

``Trainer(spec).steps(n)`` trains up to ``n`` steps and returns a :class:`MetricsChunk`. Inside
a step nothing reads a tensor on the host: losses, accuracies, probe statistics and the
finite-loss flags go into device buffers, and each flush copies them out once. The flush is
also where divergence is noticed: the run then ends as ``diverged`` at the first bad step, and
what was recorded after it is dropped.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import torch
from torch import nn

from .data import BatchStream, DeviceData, load_data
from .device import cpu_threads_for, device_label, resolve_device
from .metrics import LAYER_METRICS, MetricsChunk
from .models import build_mlp
from .probe import Probe
from .registry import OPTIMIZERS
from .size import SizeBudget, check_size
from .spec import RunSpec

STATUSES = ("ready", "running", "finished", "diverged", "stopped", "failed")


class Trainer:
    """One run of a RunSpec. Not thread-safe except for :meth:`stop`."""

    def __init__(self, spec: RunSpec, *, budget: SizeBudget | None = None, data: DeviceData | None = None):
        est = check_size(spec, budget)  # refuse before allocating anything
        self.spec = spec
        t = spec.train
        self.device = resolve_device(t.device)
        if self.device.type == "cpu":
            torch.set_num_threads(cpu_threads_for(est.macs_per_example * t.batch_size // (spec.net.depth + 1)))
        self.device_label = device_label(self.device)
        self.data = data or load_data(t.data, t.seed, self.device)
        self.model = build_mlp(spec.net, self.data.in_dim, self.data.n_classes, seed=t.seed).to(self.device)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = [p.name for p in self.model.probe_points]
        self.opt = OPTIMIZERS[t.optimizer](self.model.parameters(), t.lr, t.momentum, t.weight_decay, self.device)
        self.loss_fn = nn.CrossEntropyLoss()
        self.batches = BatchStream(len(self.data.y_train), t.batch_size, t.seed, self.device)
        torch.manual_seed(t.seed)  # dropout masks
        cap = -(-t.flush_every // t.record_every) + 1
        self.probe = Probe(self.model.probe_points, cap, self.device)
        self._l1_weights = [p.weight for p in self.model.probe_points] if t.l1 > 0 else []
        # Every step's loss (and, with clipping, global gradient norm) stays on the device
        # until the flush, which stacks them once and checks them for NaN/Inf.
        self._step_losses: list[torch.Tensor] = []
        self._step_norms: list[torch.Tensor] = []
        self._first_step_in_flush = 1
        n_eval = -(-t.flush_every // t.eval_every) + 2
        self._eval_buf = torch.full((n_eval, 2), math.nan, device=self.device)
        self._eval_steps: list[int] = []
        self.step = 0
        self.status = "ready"
        self.first_bad_step: int | None = None
        self._executed = 0  # steps actually run (differs from .step only after divergence)
        self.train_seconds = 0.0
        self._stop = threading.Event()

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Ask the loop to stop after the current step (safe from any thread)."""
        self._stop.set()

    @property
    def done(self) -> bool:
        return self.status in ("finished", "diverged", "stopped", "failed")

    @property
    def steps_per_second(self) -> float:
        done = self._executed if self.status == "diverged" else self.step
        return done / self.train_seconds if self.train_seconds > 0 else 0.0

    # ------------------------------------------------------------------ loop
    def _train_step(self) -> None:
        t = self.spec.train
        self.step += 1
        record = self.step % t.record_every == 0 or self.step == 1
        idx = self.batches.next()
        x, y = self.data.x_train[idx], self.data.y_train[idx]
        if record:
            self.probe.arm()
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        objective = loss
        if self._l1_weights:
            objective = loss + t.l1 * torch.stack([w.abs().sum() for w in self._l1_weights]).sum()
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        self._step_losses.append(loss.detach())
        if record:
            self.probe.after_backward(self.step, loss, logits, y)
        if t.clip_norm > 0:
            self._step_norms.append(nn.utils.clip_grad_norm_(self.model.parameters(), t.clip_norm, foreach=True))
        self.opt.step()
        if record:
            self.probe.after_update()
        if self.step % t.eval_every == 0 or self.step == t.steps:
            self._evaluate()

    @torch.no_grad()
    def _evaluate(self) -> None:
        self.model.eval()
        logits = self.model(self.data.x_test)
        row = self._eval_buf[len(self._eval_steps)]
        row[0].copy_(self.loss_fn(logits, self.data.y_test))
        row[1].copy_((logits.argmax(1) == self.data.y_test).float().mean())
        self._eval_steps.append(self.step)
        self.model.train()

    def _flush(self) -> MetricsChunk:
        chunk = self.probe.flush()  # the one host copy of the probe's buffers
        n = len(self._step_losses)
        step_loss = torch.stack(self._step_losses).cpu().numpy() if n else np.zeros(0, np.float32)
        finite = np.isfinite(step_loss)
        if self._step_norms:
            finite &= np.isfinite(torch.stack(self._step_norms).cpu().numpy())
        all_steps = np.arange(self._first_step_in_flush, self._first_step_in_flush + n, dtype=np.int64)
        chunk.all_steps, chunk.step_loss = all_steps, step_loss
        ev = self._eval_buf[:len(self._eval_steps)].cpu().numpy()
        chunk.eval_steps = np.asarray(self._eval_steps, dtype=np.int64)
        chunk.test_loss = np.where(np.isfinite(ev[:, 0]), ev[:, 0], np.nan)
        chunk.test_acc = np.where(np.isfinite(ev[:, 1]), ev[:, 1], np.nan)
        bad = [int(s) for s in all_steps[~finite]]
        # A recorded step whose weight gradients are not finite is bad too.
        grad = chunk.metric("grad_norm")
        bad += [int(s) for s, row in zip(chunk.steps, grad) if np.isnan(row).any()]
        self._step_losses, self._step_norms, self._eval_steps = [], [], []
        self._first_step_in_flush = self.step + 1
        if bad:
            self.first_bad_step = min(bad)
            self.status = "diverged"
            self._executed = self.step
            self.step = self.first_bad_step  # steps after the first bad one do not count
            chunk = chunk.truncate(self.first_bad_step)
        return chunk

    def steps(self, n: int | None = None) -> MetricsChunk:
        """Train up to ``n`` more steps (default: to the end) and return their metrics."""
        if self.done:
            return MetricsChunk.empty(self.layers)
        t = self.spec.train
        target = min(t.steps, self.step + (t.steps if n is None else max(0, n)))
        chunks = []
        self.status = "running"
        start = time.perf_counter()
        try:
            while self.step < target and not self._stop.is_set():
                self._train_step()
                if len(self._step_losses) >= t.flush_every or self.probe.full:
                    chunks.append(self._flush())
                    if self.status == "diverged":
                        break
            if self.status != "diverged":
                chunks.append(self._flush())
        except Exception:
            self.status = "failed"
            raise
        finally:
            self.train_seconds += time.perf_counter() - start
        if self.status == "running":
            if self._stop.is_set():
                self.status = "stopped"
            elif self.step >= t.steps:
                self.status = "finished"
            else:
                self.status = "ready"  # paused between chunks
        return MetricsChunk.concat(chunks, self.layers)

    def run(self, on_chunk=None, chunk_steps: int | None = None) -> MetricsChunk:
        """Train to the end (or stop/divergence), calling ``on_chunk(chunk)`` after each chunk."""
        chunk_steps = chunk_steps or self.spec.train.flush_every
        chunks = []
        while not self.done:
            c = self.steps(chunk_steps)
            chunks.append(c)
            if on_chunk is not None:
                on_chunk(c)
            if self.status == "ready" and self._stop.is_set():
                self.status = "stopped"
        return MetricsChunk.concat(chunks, self.layers)

    def summary(self) -> dict:
        return {"status": self.status, "steps": self.step, "first_bad_step": self.first_bad_step,
                "steps_per_second": self.steps_per_second, "device": self.device_label,
                "params": self.params, "layers": self.layers}


__all__ = ["Trainer", "STATUSES", "LAYER_METRICS"]
