"""The MLP trainer: one sync-free training step, test evaluation, and the run's summary.

``Trainer(spec).steps(n)`` trains up to ``n`` steps and returns a :class:`MetricsChunk`. Inside
a step nothing reads a tensor on the host: losses, probe statistics and evaluations stay on the
device until a flush copies them out once. Chunking, stopping and divergence handling are the
shared :class:`~labcore.train.loop.TrainLoop`.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from labcore.data.tensors import BatchStream, DeviceData, load_data
from labcore.train.device import cpu_threads_for, device_label, resolve_device
from labcore.train.loop import STATUSES, TrainLoop
from labcore.train.rng import RunGenerators
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.nets import build_mlp
from labcore.nets.base import bind_generator
from labcore.train.probe import Probe
from labcore.train.recalibrate import batchnorms, recalibrate_batchnorm
from labcore.nets.registry import OPTIMIZER_FNS
from labcore.spec.size import SizeBudget, check_size, eval_rows
from labcore.spec.mlp import RunSpec
from labcore.spec.events import Change, RunState
from labcore.train import surgery

class Trainer(TrainLoop):
    """One run of a RunSpec. Not thread-safe except for :meth:`stop`.

    The constructor has no effect outside the trainer: its random numbers come from its own
    generators (:class:`~labcore.train.rng.RunGenerators`), and the CPU thread count it would like
    (``cpu_threads``, None off the CPU) is applied by whoever runs it
    (:func:`labcore.train.device.use_cpu_threads`: the job manager's worker, the CLI).
    """

    def __init__(self, spec: RunSpec, *, budget: SizeBudget | None = None, data: DeviceData | None = None):
        est = check_size(spec, budget)  # refuse before allocating anything
        self.spec = spec
        t = spec.train
        self.device = resolve_device(t.device)
        self.cpu_threads = (cpu_threads_for(est.macs_per_example * t.batch_size // (spec.net.depth + 1))
                            if self.device.type == "cpu" else None)
        self.device_label = device_label(self.device, self.cpu_threads)
        self.rng = RunGenerators.seeded(t.seed, self.device)
        self.data = data or load_data(t.data, t.seed, self.device)
        self.model = build_mlp(spec.net, self.data.in_dim, self.data.n_classes, generator=self.rng.init).to(self.device)
        bind_generator(self.model, self.rng.dropout)  # dropout masks
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = [p.name for p in self.model.probe_points]
        self.opt = OPTIMIZER_FNS[t.optimizer](self.model.parameters(), t.lr, t.momentum, t.weight_decay, self.device)
        self.loss_fn = nn.CrossEntropyLoss()
        self.batches = BatchStream(len(self.data.y_train), t.batch_size, t.seed, self.device, self.rng.data)
        cap = -(-t.flush_every // t.record_every) + 1
        self.probe = Probe(self.model.probe_points, cap, self.device, model=self.model)
        self._l1_weights = [p.weight for p in self.model.probe_points] if t.l1 > 0 else []
        n_eval = -(-t.flush_every // t.eval_every) + 2
        self._eval_buf = torch.full((n_eval, 2), math.nan, device=self.device)
        self._eval_steps: list[int] = []
        self._bns = batchnorms(self.model)  # evaluated with recalibrated statistics (train/recalibrate.py)
        widest = max([self.data.in_dim] + [m.out_features for m in self.model.modules() if isinstance(m, nn.Linear)])
        self._eval_rows = eval_rows(widest)  # bounded chunks: the size guard counts one chunk, not the test set
        self.total_steps, self.flush_every = t.steps, t.flush_every
        # Live surgery: the spec as it is now, the events applied so far and those still planned.
        self.state = RunState(replace(spec, events=()))
        self.events: list[dict] = []
        self._planned = list(spec.events)
        self._last_idx = None  # the last batch's indices (an inserted norm is fitted on it)
        self._init_loop()

    # ------------------------------------------------------------------ live surgery
    def apply(self, change: Change | dict) -> dict:
        """Apply a change now, at this step boundary; returns its event record (step, label,
        changes [{what, from, to}], notes, pause_ms...). A change that cannot apply raises
        :class:`~labcore.spec.events.SurgeryError` and leaves the run untouched."""
        if isinstance(change, dict):
            change = Change.from_dict(change)
        return surgery.apply(self, change)

    def check(self, change: Change | dict) -> list[dict]:
        """The diffs ``change`` would make now, or a SurgeryError; changes nothing."""
        if isinstance(change, dict):
            change = Change.from_dict(change)
        return surgery.check(self, change)[1]

    # ------------------------------------------------------------------ loop
    def _train_step(self) -> None:
        while self._planned and self._planned[0].step == self.step:  # a host int: no sync
            self.apply(self._planned.pop(0).change)
        t = self.state.spec.train
        self.step += 1
        record = self.step % t.record_every == 0 or self.step == 1
        idx = self._last_idx = self.batches.next()
        x, y = self.data.x_train[idx], self.data.y_train[idx]
        if record:
            self.probe.arm()
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        objective = loss
        if self._l1_weights:
            objective = loss + t.l1 * torch.stack([w.abs().sum() for w in self._l1_weights]).sum()
        self.opt.zero_grad(set_to_none=True)
        if record:
            self.probe.backward(objective)  # objective.backward(), also capturing the backprop signals
        else:
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
        if self._bns:  # the running averages lag the weights: use the current weights' statistics
            recalibrate_batchnorm(self.model, self.data.x_train, max_examples=min(4096, self._eval_rows),
                                  bns=self._bns)
        xs, ys, n = self.data.x_test, self.data.y_test, len(self.data.y_test)
        sums = torch.zeros(2, device=self.device)  # (loss sum, correct count)
        for i in range(0, n, self._eval_rows):  # python ints: no sync
            logits, y = self.model(xs[i:i + self._eval_rows]), ys[i:i + self._eval_rows]
            sums += torch.stack([nn.functional.cross_entropy(logits, y, reduction="sum"),
                                 (logits.argmax(1) == y).sum().to(sums.dtype)])
        self._eval_buf[len(self._eval_steps)].copy_(sums / n)
        self._eval_steps.append(self.step)
        self.model.train()

    def _flush_extras(self, chunk: MetricsChunk) -> None:
        ev = self._eval_buf[:len(self._eval_steps)].cpu().numpy()  # (E, 2): test loss, accuracy
        chunk.eval_steps = np.asarray(self._eval_steps, dtype=np.int64)
        chunk.test_loss = np.where(np.isfinite(ev[:, 0]), ev[:, 0], np.nan)
        chunk.test_acc = np.where(np.isfinite(ev[:, 1]), ev[:, 1], np.nan)
        self._eval_steps = []

    def summary(self) -> dict:
        return {"status": self.status, "steps": self.step, "first_bad_step": self.first_bad_step,
                "steps_per_second": self.steps_per_second, "device": self.device_label,
                "params": self.params, "layers": self.layers, "events": self._event_records()}

    def _event_records(self) -> list[dict]:
        """The applied events, each with the steps/s measured after it (until the next one)."""
        out = []
        for i, e in enumerate(self.events):
            nxt = next((n for n in self.events[i + 1:] if n["step"] > e["step"]), None)
            end_step, end_s = (nxt["step"], nxt["train_seconds"]) if nxt else (self.step, self.train_seconds)
            rec = {k: v for k, v in e.items() if k != "train_seconds"}
            if end_s > e["train_seconds"] and end_step > e["step"]:
                rec["sps_after"] = round((end_step - e["step"]) / (end_s - e["train_seconds"]), 2)
            out.append(rec)
        return out


__all__ = ["Trainer", "STATUSES", "LAYER_METRICS"]
