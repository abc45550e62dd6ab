"""The transformer trainer: per-sublayer gradients through depth, without host syncs.

Probe points are each block's attention and MLP sublayers, input side first, then the head
(:attr:`~labcore.spec.transformer.TransformerSpec.probe_names`). Per point and recorded step, the
rows of :data:`~labcore.core.metrics.LAYER_METRICS` hold:

* ``grad_norm``: ‖∇W‖ of the sublayer's weight matrices together (attention: qkv and output
  projection; MLP: both linears; head: its weight) — the per-layer norm the depth charts show;
* ``weight_norm``, ``update_ratio``: ‖W‖ and ‖ΔW‖/‖W‖ of the same matrices;
* ``out_grad_norm``: ‖∂L/∂x‖ of the residual stream the sublayer hands on (the backprop signal);
* ``act_std``: the residual stream's RMS after the sublayer (its scale; Post-LN keeps it at 1);
* ``act_mean``: the RMS of the LayerNorm's input there (Post-LN: x + f(x); Pre-LN: the stream);
* ``saturated``, ``dead``: NaN.

Everything is reduced by stacked device ops into a preallocated buffer; the flush copies it out.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.data.sequences import TokenTask
from labcore.nets.registry import OPTIMIZER_FNS
from labcore.nets.transformer import build_transformer
from labcore.spec.transformer import TransformerSpec
from labcore.train.device import cpu_threads_for, device_label, resolve_device
from labcore.train.seqloop import TEST_SEQUENCES, ProbeBuffers, SequenceLoop, finite_or_none

_GRAD, _WNORM, _UPDATE, _OUTGRAD, _MEAN, _STD, _SAT, _DEAD = range(len(LAYER_METRICS))


class DepthProbe(ProbeBuffers):
    """Per-sublayer statistics in a (capacity, metrics, points) device buffer."""

    def __init__(self, names: list[str], groups: list[list[torch.Tensor]], capacity: int, device: torch.device):
        super().__init__(names, capacity, device)
        self.flat = [w for g in groups for w in g]
        self.owner = torch.tensor([i for i, g in enumerate(groups) for _ in g], device=device)  # point of each weight
        self._prev = [torch.empty_like(w) for w in self.flat]

    def _per_point(self, norms: list[torch.Tensor]) -> torch.Tensor:
        sq = torch.stack(norms).square()
        return torch.zeros(len(self.names), device=sq.device).index_add_(0, self.owner, sq).sqrt_()

    @torch.no_grad()
    def after_backward(self, step: int, trace: list, loss: torch.Tensor, acc: torch.Tensor) -> None:
        buf = self.layer_buf[len(self.rows)]
        grads = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self.flat]
        buf[_GRAD].copy_(self._per_point(torch._foreach_norm(grads)))
        torch._foreach_copy_(self._prev, self.flat)
        buf[_WNORM].copy_(self._per_point(torch._foreach_norm(self.flat)))
        streams = [x for x, _ in trace]
        gs = [x.grad if x.grad is not None else torch.zeros_like(x) for x in streams]
        buf[_OUTGRAD].copy_(torch.stack(torch._foreach_norm(gs)))
        rms = lambda ts: torch.stack([t.detach().float().square().mean() for t in ts]).sqrt()  # noqa: E731
        buf[_STD].copy_(rms(streams))
        buf[_MEAN].copy_(rms([ln_in for _, ln_in in trace]))
        self._end_row(step, loss, acc)

    @torch.no_grad()
    def after_update(self) -> None:
        buf = self.layer_buf[len(self.rows) - 1]
        delta = torch._foreach_sub(self.flat, self._prev)
        buf[_UPDATE].copy_(self._per_point(torch._foreach_norm(delta)) / buf[_WNORM])


class TransformerTrainer(SequenceLoop):
    """One run of a TransformerSpec. Not thread-safe except for :meth:`stop`."""

    def __init__(self, spec: TransformerSpec):
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.task = TokenTask(spec.task, spec.seq_len, spec.vocab, self.device, spec.seed)
        self.x_test, self.y_test = self.task.fixed(TEST_SEQUENCES, seed=spec.seed + 10_007)
        self.cpu_threads = (cpu_threads_for(spec.batch_size * spec.seq_len * spec.d_model * spec.d_model)
                            if self.device.type == "cpu" else None)  # applied by the runner
        self.device_label = device_label(self.device, self.cpu_threads)
        self.model = build_transformer(spec).to(self.device)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = spec.probe_names
        self.opt = OPTIMIZER_FNS["adam"](self.model.parameters(), spec.lr_at(1), 0.0, 0.0, self.device)
        self.probe = DepthProbe(self.layers, self.model.sublayer_weights(),
                                -(-spec.flush_every // spec.record_every) + 1, self.device)
        self._init_eval(spec.flush_every, spec.eval_every)
        self.total_steps, self.flush_every = spec.steps, spec.flush_every
        self._init_loop()

    def _loss_acc(self, logits: torch.Tensor, y: torch.Tensor):
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        return loss, (logits.detach().argmax(-1) == y).float().mean()

    def _train_step(self) -> None:
        s = self.spec
        self.step += 1
        record = self.step % s.record_every == 0 or self.step == 1
        for g in self.opt.param_groups:
            g["lr"] = s.lr_at(self.step)  # a Python float: no device read
        x, y = self.task.batch(s.batch_size)
        trace = [] if record else None
        logits = self.model(x, trace)
        loss, acc = self._loss_acc(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self._step_losses.append(loss.detach())
        if record:
            self.probe.after_backward(self.step, trace, loss.detach(), acc)
        if s.clip_norm > 0:
            self._step_norms.append(nn.utils.clip_grad_norm_(self.model.parameters(), s.clip_norm, foreach=True))
        self.opt.step()
        if record:
            self.probe.after_update()
        if self.step % s.eval_every == 0 or self.step == s.steps:
            self._evaluate()

    def summary(self) -> dict:
        return {"status": self.status, "steps": self.step, "first_bad_step": self.first_bad_step,
                "steps_per_second": self.steps_per_second, "device": self.device_label, "params": self.params,
                "layers": self.layers, "ln": self.spec.ln, "lr": self.spec.lr_at(max(1, self.step))}

    def result_extras(self) -> dict:
        num = finite_or_none
        return {"family": "transformer", "ln": self.spec.ln, "accuracy": num(self.test_acc),
                "final_test_acc": num(self.test_acc)}


def last_first_ratio(m: MetricsChunk, row: int = 0) -> float:
    """‖∇W‖ of the last block's sublayers over the first block's (attention and MLP together), at ``row``."""
    g = m.metric("grad_norm")[row]  # (2L + 1,): 1.attn, 1.mlp, ..., L.attn, L.mlp, head
    first, last = math.hypot(g[0], g[1]), math.hypot(g[-3], g[-2])
    return last / first if first > 0 else math.nan


__all__ = ["DepthProbe", "TransformerTrainer", "last_first_ratio"]
