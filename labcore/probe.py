"""Per-layer statistics captured on the device into preallocated buffers, flushed in chunks.

For each probe point and each recorded step the probe keeps: the weight-gradient L2 norm, the
weight L2 norm, the update:weight ratio ‖ΔW‖/‖W‖, the L2 norm of the gradient with respect to
the layer's output (the backprop signal), and the activation mean, std, saturated fraction and
dead fraction. Nothing here reads a tensor on the host: rows are written by device ops and
:meth:`Probe.flush` copies them out once (design.md §5).

Layers that share an output shape and activation are stacked and reduced together, so a
recorded step costs a few dozen kernels whatever the depth, not a dozen per layer.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from .metrics import LAYER_METRICS, MetricsChunk
from .registry import ACTIVATIONS, SATURATION_MARGIN

_GRAD, _WNORM, _UPDATE, _OUTGRAD, _MEAN, _STD, _SAT, _DEAD = range(len(LAYER_METRICS))


class Probe:
    """Hooks a model's probe points; ``arm()`` before a recorded step's forward pass."""

    def __init__(self, points, capacity: int, device: torch.device):
        self.points = list(points)
        self.names = [p.name for p in self.points]
        self.capacity, self.device = capacity, device
        n = len(self.points)
        self.weights = [p.weight for p in self.points]
        self.layer_buf = torch.full((capacity, len(LAYER_METRICS), n), math.nan, device=device)
        self.loss_buf = torch.full((capacity,), math.nan, device=device)
        self.acc_buf = torch.full((capacity,), math.nan, device=device)
        self._prev = [torch.empty_like(w, memory_format=torch.preserve_format) for w in self.weights]
        self.rows: list[int] = []  # step number of each filled row (host-side ints)
        self.armed = False
        self._outs: list[torch.Tensor | None] = [None] * n
        self._grads: list[torch.Tensor | None] = [None] * n
        self._groups: dict | None = None
        self._group_shapes: tuple | None = None
        self._handles = [p.module.register_forward_hook(self._hook(i)) for i, p in enumerate(self.points)]
        # Per-layer constants for the activation statistics.
        self._kinds = []
        for p in self.points:
            a = ACTIVATIONS[p.activation] if p.hidden else ACTIVATIONS["identity"]
            self._kinds.append((a.family, a.bounds))

    # ------------------------------------------------------------------ hooks
    def _hook(self, i: int):
        def fwd(module, inputs, output):
            if not self.armed:
                return None
            self._outs[i] = output.detach()
            if output.requires_grad:
                def bwd(grad, i=i):
                    self._grads[i] = grad
                output.register_hook(bwd)
            return None

        return fwd

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def arm(self) -> None:
        self.armed = True

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.capacity

    # ------------------------------------------------------------------ recording
    def _grouping(self):
        """Indices of layers sharing (output shape, activation kind), rebuilt if shapes change."""
        shapes = tuple(tuple(o.shape) for o in self._outs)
        if shapes != self._group_shapes:
            groups = defaultdict(list)
            for i, (s, k) in enumerate(zip(shapes, self._kinds)):
                groups[(s, k)].append(i)
            self._groups = {key: (idx, torch.tensor(idx, device=self.device)) for key, idx in groups.items()}
            self._group_shapes = shapes
        return self._groups

    def _activation_stats(self, row: int) -> None:
        out_view = self.layer_buf[row]  # (metrics, layers)
        for (shape, (family, bounds)), (idx, idx_t) in self._grouping().items():
            a = torch.stack([self._outs[i] for i in idx])  # (G, B, *features)
            g, b = a.shape[0], a.shape[1]
            flat = a.view(g, -1)  # (G, B * features)
            std, mean = torch.std_mean(flat, dim=1)
            stats = [mean, std]
            if family == "saturating":
                lo, hi = bounds
                # |a - centre| >= half-range - margin  <=>  within the margin of a bound
                half = (hi - lo) / 2
                stats.append((flat - (lo + half)).abs_().ge_(half - SATURATION_MARGIN * (hi - lo))
                             .mean(dim=1, dtype=torch.float32))
            else:
                stats.append(torch.full_like(mean, math.nan))
            if family == "relu":
                # Dead: a unit whose output is <= 0 for every example of the batch.
                peak = a.view(g, b, -1).amax(dim=1)  # (G, features): best response over the batch
                stats.append(peak.le_(0).mean(dim=1, dtype=torch.float32))
            else:
                stats.append(torch.full_like(mean, math.nan))
            out_view[_MEAN:_DEAD + 1].index_copy_(1, idx_t, torch.stack(stats))

    @torch.no_grad()
    def after_backward(self, row_step: int, loss: torch.Tensor, logits: torch.Tensor,
                       y: torch.Tensor) -> None:
        """Record gradients and activations of this step; call before ``optimizer.step()``."""
        r = len(self.rows)
        buf = self.layer_buf[r]
        grads = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self.weights]
        buf[_GRAD].copy_(torch.stack(torch._foreach_norm(grads)))
        buf[_WNORM].copy_(torch.stack(torch._foreach_norm(self.weights)))
        outgrads = [g if g is not None else torch.zeros((), device=self.device) for g in self._grads]
        buf[_OUTGRAD].copy_(torch.stack(torch._foreach_norm(outgrads)))
        self._activation_stats(r)
        self.loss_buf[r].copy_(loss.detach())
        self.acc_buf[r].copy_((logits.detach().argmax(1) == y).float().mean())
        torch._foreach_copy_(self._prev, self.weights)
        self.armed = False
        self._outs = [None] * len(self.points)
        self._grads = [None] * len(self.points)
        self.rows.append(row_step)

    @torch.no_grad()
    def after_update(self) -> None:
        """Record ‖W_new − W_old‖ / ‖W_old‖ for the row just written."""
        r = len(self.rows) - 1
        buf = self.layer_buf[r]
        torch._foreach_sub_(self._prev, self.weights)  # prev := W_old - W_new, in place
        buf[_UPDATE].copy_(torch.stack(torch._foreach_norm(self._prev)) / buf[_WNORM])

    # ------------------------------------------------------------------ flush
    def flush(self) -> MetricsChunk:
        """Copy the filled rows to the host (one sync) and reset the buffers."""
        n = len(self.rows)
        if n == 0:
            return MetricsChunk.empty(self.names)
        layer = self.layer_buf[:n].cpu().numpy().copy()
        loss = self.loss_buf[:n].cpu().numpy().copy()
        acc = self.acc_buf[:n].cpu().numpy().copy()
        steps = np.asarray(self.rows, dtype=np.int64)
        self.rows = []
        self.layer_buf.fill_(math.nan)
        return MetricsChunk(self.names, steps, loss, acc, layer)
