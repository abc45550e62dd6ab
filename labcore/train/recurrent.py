"""The recurrent trainer: gradients through time, measured without host syncs.

The probe's "layers" are the time steps ``t1 … tT`` of the top recurrent layer, so a recorded
step's per-layer row is a through-time profile and the run store, Compare and the depth charts
show it unchanged. Per time step t, the rows of :data:`~labcore.core.metrics.LAYER_METRICS` hold:

* ``grad_norm`` and ``out_grad_norm``: ‖∂L/∂h_t‖, the loss's gradient with respect to the hidden
  state h_t (the whole batch's (B, H) tensor, L2), the through-time backprop signal;
* ``act_std``: the std of h_t over the batch and units;
* ``act_mean``: the mean of the gate that keeps the past (LSTM forget gate f_t, GRU update gate
  z_t); NaN for a tanh RNN, which has none;
* ``saturated``: the share of saturated gate values (LSTM i, f, o; GRU r, z: within 1% of 0 or 1),
  or for a tanh RNN the share of h_t units within 1% of ±1;
* ``weight_norm``, ``update_ratio``, ``dead``: NaN (no weight belongs to one time step).

Unrecorded steps run PyTorch's fused ``nn.RNN/LSTM/GRU``; a recorded step runs the same net
unrolled (:meth:`~labcore.nets.recurrent.RecurrentNet.unrolled`), keeps each h_t's gradient, and
reduces all T of them in a few stacked ops into a preallocated device buffer. The flush copies
the buffer out once (design.md §5).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from labcore.core.metrics import LAYER_METRICS, MetricsChunk, through_time_ratio
from labcore.data.sequences import SequenceTask
from labcore.nets.recurrent import build_recurrent
from labcore.nets.registry import OPTIMIZER_FNS
from labcore.spec.choices import SATURATION_MARGIN
from labcore.spec.recurrent import ADDING_TOLERANCE, RecurrentSpec
from labcore.train.device import cpu_threads_for, denormals_flushed, device_label, resolve_device
from labcore.train.seqloop import TEST_SEQUENCES, ProbeBuffers, SequenceLoop, finite_or_none

_GRAD, _WNORM, _UPDATE, _OUTGRAD, _MEAN, _STD, _SAT, _DEAD = range(len(LAYER_METRICS))


class TimeProbe(ProbeBuffers):
    """Through-time statistics of recorded steps, in a (capacity, metrics, T) device buffer."""

    @torch.no_grad()
    def record(self, step: int, hs: list[torch.Tensor], gates: dict, loss: torch.Tensor, acc: torch.Tensor,
               cell: str) -> None:
        """Write one row from the unrolled pass's h_t (with .grad) and gates; call after backward."""
        buf = self.layer_buf[len(self.rows)]  # (metrics, T)
        grads = torch.stack([h.grad if h.grad is not None else torch.zeros_like(h) for h in hs])  # (T, B, H)
        signal = torch.linalg.vector_norm(grads.flatten(1), dim=1)  # (T,)
        buf[_GRAD].copy_(signal)
        buf[_OUTGRAD].copy_(signal)
        h = torch.stack([x.detach() for x in hs]).flatten(1)  # (T, B*H)
        buf[_STD].copy_(h.std(dim=1))
        if cell == "rnn":
            buf[_SAT].copy_(h.abs().ge(1 - 2 * SATURATION_MARGIN).mean(dim=1, dtype=torch.float32))
        else:
            keep = torch.stack(gates["forget" if cell == "lstm" else "keep"]).flatten(1)  # (T, B*H)
            buf[_MEAN].copy_(keep.mean(dim=1))
            g = torch.stack(gates["all"]).view(len(hs), -1)  # (T, every gate value of the step)
            sat = (g - 0.5).abs_().ge_(0.5 - SATURATION_MARGIN)
            buf[_SAT].copy_(sat.mean(dim=1, dtype=torch.float32))
        self._end_row(step, loss, acc)


class RecurrentTrainer(SequenceLoop):
    """One run of a RecurrentSpec. Not thread-safe except for :meth:`stop`."""

    def __init__(self, spec: RecurrentSpec):
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.task = SequenceTask(spec.task, spec.seq_len, spec.level, self.device, spec.seed)
        shape = self.task.shape
        self.regression = shape.regression
        self.x_test, self.y_test = self.task.fixed(TEST_SEQUENCES, seed=spec.seed + 10_007)
        # One time step's matmul is small (B x H x H per gate): one thread unless it is large (the
        # default LSTM took 434 s for 600 steps on 2 busy threads here, 23 s on one). The runner
        # applies it (labcore.train.device.use_cpu_threads); the constructor changes no global state.
        self.cpu_threads = (cpu_threads_for(spec.batch_size * spec.hidden * spec.hidden)
                            if self.device.type == "cpu" else None)
        self.device_label = device_label(self.device, self.cpu_threads)
        self.model = build_recurrent(spec, shape.in_dim, shape.out_dim).to(self.device)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = spec.time_steps
        self.opt = OPTIMIZER_FNS[spec.optimizer](self.model.parameters(), spec.lr, spec.momentum, 0.0, self.device)
        self.probe = TimeProbe(self.layers, -(-spec.flush_every // spec.record_every) + 1, self.device)
        self._init_eval(spec.flush_every, spec.eval_every)
        self.through_time: list[tuple[np.ndarray, np.ndarray]] = []  # (steps, (R, T) ‖∂L/∂h_t‖) per flush
        self.total_steps, self.flush_every = spec.steps, spec.flush_every
        self._init_loop()

    def steps(self, n: int | None = None) -> MetricsChunk:
        """TrainLoop.steps with denormals flushed on the CPU for the chunk (an LSTM's vanishing
        through-time signals made its recorded, unrolled steps ~3x dearer), cleared after it."""
        with denormals_flushed(self.device):
            return super().steps(n)

    # ------------------------------------------------------------------ loss
    def _loss_acc(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.regression:
            pred = out.squeeze(1)
            return nn.functional.mse_loss(pred, y), ((pred.detach() - y).abs() < ADDING_TOLERANCE).float().mean()
        return nn.functional.cross_entropy(out, y), (out.detach().argmax(1) == y).float().mean()

    # ------------------------------------------------------------------ loop
    def _train_step(self) -> None:
        s = self.spec
        self.step += 1
        record = self.step % s.record_every == 0 or self.step == 1
        x, y = self.task.batch(s.batch_size)
        if record:
            out, hs, gates = self.model.unrolled(x)
            for h in hs:
                h.retain_grad()
        else:
            out = self.model(x)
        loss, acc = self._loss_acc(out, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self._step_losses.append(loss.detach())
        if record:
            self.probe.record(self.step, hs, gates, loss.detach(), acc, s.cell)
        if s.clip_norm > 0:
            self._step_norms.append(nn.utils.clip_grad_norm_(self.model.parameters(), s.clip_norm, foreach=True))
        self.opt.step()
        if self.step % s.eval_every == 0 or self.step == s.steps:
            self._evaluate()

    def _flush_extras(self, chunk: MetricsChunk) -> None:
        super()._flush_extras(chunk)
        if len(chunk.steps):
            self.through_time.append((chunk.steps.copy(), chunk.metric("grad_norm").copy()))

    # ------------------------------------------------------------------ reporting
    def summary(self) -> dict:
        return {"status": self.status, "steps": self.step, "first_bad_step": self.first_bad_step,
                "steps_per_second": self.steps_per_second, "device": self.device_label,
                "params": self.params, "layers": self.layers, "cell": self.spec.cell, "task": self.spec.task}

    def through_time_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(recorded steps, (R, T) ‖∂L/∂h_t‖) of the run so far (nothing after a divergence)."""
        if not self.through_time:
            return np.zeros(0, np.int64), np.zeros((0, len(self.layers)))
        steps = np.concatenate([s for s, _ in self.through_time])
        rows = np.concatenate([r for _, r in self.through_time])
        keep = steps <= self.step
        return steps[keep], rows[keep]

    def progress_text(self, chunk: MetricsChunk) -> str:
        loss = f"{chunk.step_loss[-1]:.3g}" if len(chunk.step_loss) and math.isfinite(chunk.step_loss[-1]) else "—"
        acc = f"{chunk.test_acc[-1]:.0%}" if len(chunk.test_acc) and math.isfinite(chunk.test_acc[-1]) else "—"
        return f"loss {loss}  test acc {acc}  {self.steps_per_second:.0f} steps/s"

    def result_extras(self) -> dict:
        """The ``--json`` keys of a recurrent run: grad_through_time (recorded steps × T), accuracy..."""
        steps, rows = self.through_time_rows()
        num = finite_or_none
        ratio = through_time_ratio(rows)
        return {"family": "rnn", "time_steps": list(self.layers), "grad_through_time_steps": steps.tolist(),
                "grad_through_time": [[num(v) for v in row] for row in rows.tolist()],
                "first_last_ratio": num(ratio), "through_time_ratio": num(ratio), "accuracy": num(self.test_acc),
                "final_test_acc": num(self.test_acc)}

    replaces_layer_table = True  # the CLI prints summary_line() instead of a 500-row per-"layer" table

    def summary_line(self) -> str:
        steps, rows = self.through_time_rows()
        s, r = self.spec, self.result_extras()
        fmt = lambda v, f: "—" if v is None else format(v, f)  # noqa: E731
        first = rows[0] if len(rows) else None
        lines = [f"{s.cell} on {s.task} (T = {s.seq_len}, difficulty {s.level}, hidden {s.hidden} × {s.layers})"]
        if first is not None:
            lines.append(f"‖∂L/∂h_t‖ at step {steps[0]}: t1 {first[0]:.3g}   t{s.seq_len // 2} "
                         f"{first[s.seq_len // 2 - 1]:.3g}   t{s.seq_len} {first[-1]:.3g}")
        lines.append(f"‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: {fmt(r['through_time_ratio'], '.3g')} (median over recorded steps)")
        bad = f" at step {self.first_bad_step}" if self.first_bad_step else ""
        lines.append(f"test accuracy: {fmt(r['accuracy'], '.1%')}   status: {self.status}{bad}   steps: {self.step}   "
                     f"{self.steps_per_second:.0f} steps/s   device: {self.device_label}   params: {self.params:,}")
        return "\n".join(lines)


__all__ = ["RecurrentTrainer", "TimeProbe"]
