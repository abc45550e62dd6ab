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

from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.spec.choices import ACTIVATIONS, SATURATION_MARGIN

_GRAD, _WNORM, _UPDATE, _OUTGRAD, _MEAN, _STD, _SAT, _DEAD = range(len(LAYER_METRICS))


class Probe:
    """Hooks a model's probe points; ``arm()`` before a recorded step's forward pass."""

    def __init__(self, points, capacity: int, device: torch.device, model=None):
        self.points = list(points)
        # A model with a ``tap`` attribute (the MLP) reports its probe points' outputs itself on a
        # recorded step; any other model gets forward hooks.
        self._model = model if model is not None and hasattr(model, "tap") else None
        # The model's parameters as built (a live surgery that changes the structure makes a new Probe).
        self._params = list(model.parameters()) if self._model is not None else []
        self.names = [p.name for p in self.points]
        self.capacity, self.device = capacity, device
        n = len(self.points)
        self.weights = [p.weight for p in self.points]
        self.layer_buf = torch.full((capacity, len(LAYER_METRICS), n), math.nan, device=device)
        self.loss_buf = torch.full((capacity,), math.nan, device=device)
        self.acc_buf = torch.full((capacity,), math.nan, device=device)
        # Weights of one shape are stacked and reduced in one op (a 100-layer MLP has ~3 shapes),
        # and the stack taken before the update doubles as the copy of W_old for ‖ΔW‖.
        by_shape = defaultdict(list)
        for i, w in enumerate(self.weights):
            by_shape[(tuple(w.shape), w.dtype)].append(i)
        groups = list(by_shape.values())
        # Weight gradients are separate tensors (autograd's): their norms go by shape.
        self._ggroups = [(idx, torch.tensor(idx, device=device), torch.empty(len(idx), device=device))
                         for idx in groups]
        # A tapped model's weights are re-pointed into flat buffers (below). If padding every
        # weight to the largest one's size wastes little (an MLP's first layer and head are small),
        # all of them share one (n, S) buffer: ‖W‖, W_old and ‖ΔW‖ are then one op each.
        sizes = [w.numel() for w in self.weights]
        self._padded = (self._model is not None and n > 1 and len({w.dtype for w in self.weights}) == 1
                        and n * max(sizes) <= 1.3 * sum(sizes))
        if self._padded:
            groups = [list(range(n))]
        self._wgroups = [(idx, torch.tensor(idx, device=device)) for idx in groups]
        width = [max(sizes[i] for i in idx) for idx in groups]
        self._prev = [torch.zeros((len(idx), s), device=device, dtype=self.weights[idx[0]].dtype)
                      for (idx, _), s in zip(self._wgroups, width)]
        self._scratch = [torch.zeros_like(p) for p in self._prev]
        # Each weight's place in its group's rows (for weights that are not views of a flat buffer).
        self._prev_views = [[p[j, :self.weights[i].numel()].view_as(self.weights[i]) for j, i in enumerate(idx)]
                            for (idx, _), p in zip(self._wgroups, self._prev)]
        self._scratch_views = [[p[j, :self.weights[i].numel()].view_as(self.weights[i]) for j, i in enumerate(idx)]
                               for (idx, _), p in zip(self._wgroups, self._scratch)]
        # A group that is every point in order writes its norms straight into the row.
        self._whole = [idx == list(range(n)) for idx, _ in self._wgroups]
        # With a tapped model (the MLP) each group's weights are re-pointed into one (G, S) tensor,
        # so ‖W‖ is one reduction over it and W_old one copy, without stacking 100 weights.
        self._flat: list[torch.Tensor | None] = [None] * len(self._wgroups)
        if self._model is not None:
            self._flatten_weights()
        self._cur_flat: list = [None] * len(self._wgroups)
        self._rowviews: tuple | None = None  # (layer_buf it was made from, [row][metric] views)
        self.rows: list[int] = []  # step number of each filled row (host-side ints)
        self._outs: list[torch.Tensor | None] = [None] * n
        self._grads: list[torch.Tensor | None] = [None] * n
        self._groups: dict | None = None
        self._group_shapes: tuple | None = None
        self._stack_bufs: dict = {}  # (group key, "act"|"grad") -> preallocated (G, B, *features)
        # Hooks are attached only for a recorded step's forward pass: a module with a forward hook
        # takes PyTorch's slow call path, which costs ~5% of a small MLP's step if left on.
        self._hook_fns = [self._hook(i) for i in range(n)]
        self._handles: list = []
        # Per-layer constants for the activation statistics.
        self._kinds = []
        for p in self.points:
            a = ACTIVATIONS[p.activation] if p.hidden else ACTIVATIONS["identity"]
            self._kinds.append((a.family, a.bounds, a.zero_below))

    def _flatten_weights(self) -> None:
        with torch.no_grad():
            for k, ((idx, _), prev) in enumerate(zip(self._wgroups, self._prev)):
                ws = [self.weights[i] for i in idx]
                if any(w.requires_grad is False for w in ws):
                    continue
                flat = torch.zeros_like(prev)  # (G, S): row j holds weight j, zero-padded
                for row, w in zip(flat, ws):
                    view = row[:w.numel()].view_as(w)
                    view.copy_(w.detach())
                    w.data = view  # same Parameter (the optimizer's), now a view of ``flat``
                self._flat[k] = flat

    def _flat_weights(self, k: int) -> torch.Tensor | None:
        """Group ``k``'s flat weights, or None if something re-pointed a weight since (``.to()``)."""
        flat = self._flat[k]
        if flat is None:
            return None
        idx = self._wgroups[k][0]
        base, step = flat.data_ptr(), flat.stride(0) * flat.element_size()
        if any(self.weights[i].data_ptr() != base + j * step for j, i in enumerate(idx)):
            self._flat[k] = None
            return None
        return flat

    def _views(self, r: int) -> list:
        """Row ``r``'s per-metric views of :attr:`layer_buf` (made once: indexing costs a dispatch)."""
        if self._rowviews is None or self._rowviews[0] is not self.layer_buf:
            self._rowviews = (self.layer_buf, [list(row.unbind(0)) for row in self.layer_buf.unbind(0)])
        return self._rowviews[1][r]

    # ------------------------------------------------------------------ capture
    def _tap(self, i: int, output: torch.Tensor) -> None:
        """The model's tap: keep point ``i``'s output (its gradient comes from :meth:`backward`)."""
        self._outs[i] = output

    def backward(self, objective: torch.Tensor, params: list | None = None) -> None:
        """The recorded step's backward pass: ``objective.backward()``, and the tapped outputs'
        gradients from the same pass. ``autograd.grad`` captures them inside the engine, which costs
        a third of per-tensor ``retain_grad`` (a hook and a clone per layer) on the CPU; the weight
        gradients it returns are put in ``.grad`` as ``backward()`` would."""
        wanted = [i for i, o in enumerate(self._outs) if o is not None and o.requires_grad]
        if self._model is None or not wanted:
            objective.backward()
            return
        params = [p for p in (self._params if params is None else params) if p.requires_grad]
        grads = torch.autograd.grad(objective, params + [self._outs[i] for i in wanted], allow_unused=True)
        for p, g in zip(params, grads):
            p.grad = g
        for i, g in zip(wanted, grads[len(params):]):
            self._grads[i] = g

    def _hook(self, i: int):
        def fwd(module, inputs, output):
            self._outs[i] = output.detach()
            if output.requires_grad:
                def bwd(grad, i=i):
                    self._grads[i] = grad
                output.register_hook(bwd)
            return None

        return fwd

    def remove(self) -> None:
        if self._model is not None:
            object.__setattr__(self._model, "tap", None)  # a plain attribute: skip nn.Module.__setattr__
        for h in self._handles:
            h.remove()
        self._handles = []

    def arm(self) -> None:
        """Attach the hooks for the next forward pass (the recorded step's)."""
        self.remove()
        if self._model is not None:
            object.__setattr__(self._model, "tap", self._tap)
            return
        self._handles = [p.module.register_forward_hook(f) for p, f in zip(self.points, self._hook_fns)]

    def _stack(self, tensors: list, key) -> torch.Tensor:
        """``torch.stack`` into a buffer kept between recorded steps (no fresh allocation each time)."""
        t0 = tensors[0]
        buf = self._stack_bufs.get(key)
        if buf is None or buf.shape[1:] != t0.shape or buf.shape[0] != len(tensors) or buf.dtype != t0.dtype:
            buf = self._stack_bufs[key] = torch.empty((len(tensors), *t0.shape), dtype=t0.dtype, device=t0.device)
        return torch.stack(tensors, out=buf)

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

    def _stat_bufs(self, key, a: torch.Tensor):
        """Group ``key``'s preallocated outputs: its (4, G) statistics (mean, std, saturated, dead;
        NaN where a statistic does not apply), a scratch like the stacked activations, and the
        per-unit peak over the batch."""
        bufs = self._stack_bufs.get((key, "stats"))
        g = a.shape[0]
        if bufs is None or bufs[1].shape != a.shape or bufs[1].dtype != a.dtype:
            stats = torch.full((4, g), math.nan, dtype=a.dtype, device=a.device)
            bufs = self._stack_bufs[(key, "stats")] = (
                stats, torch.empty_like(a), torch.empty((g, a[0, 0].numel()), dtype=a.dtype, device=a.device),
                list(stats.unbind(0)))
        return bufs

    def _activation_stats(self, buf: torch.Tensor) -> None:
        """Activation mean/std/saturated/dead, one pass per statistic over each group's stacked
        activations, into preallocated buffers (a fresh tensor of a 100-layer stack costs more
        in page faults than the arithmetic)."""
        for key, (idx, idx_t) in self._grouping().items():
            family, bounds, zero_below = key[1]
            a = self._stack([self._outs[i] for i in idx], (key, "act"))  # (G, B, *features)
            g, b = a.shape[0], a.shape[1]
            stats, scratch, peak, (mean, std, sat, dead) = self._stat_bufs(key, a)
            flat, centred = a.view(g, -1), scratch.view(g, -1)  # (G, B * features)
            # Two-pass std, exact like torch.std_mean but ~10x faster on the CPU here; one-pass
            # sums of squares in float32 lose digits when |mean| >> std (deep sigmoid layers).
            torch.mean(flat, dim=1, out=mean)
            torch.sub(flat, mean.unsqueeze(1), out=centred)
            torch.linalg.vector_norm(centred, dim=1, out=std).div_(math.sqrt(max(1, flat.shape[1] - 1)))
            if family == "saturating":
                lo, hi = bounds
                # |a - centre| >= half-range - margin  <=>  within the margin of a bound
                half = (hi - lo) / 2
                torch.sub(flat, lo + half, out=centred).abs_().ge_(half - SATURATION_MARGIN * (hi - lo))
                torch.mean(centred, dim=1, out=sat)
            if zero_below:
                # Dead: a unit whose output is <= 0 for every example of the batch. Only where
                # the activation's gradient is exactly 0 below 0 (ReLU): a LeakyReLU, GELU or ELU
                # unit with negative outputs still passes gradient, so it is never counted dead.
                torch.amax(a.view(g, b, -1), dim=1, out=peak).le_(0)  # (G, features): best response
                torch.mean(peak, dim=1, out=dead)
            buf[_MEAN:_DEAD + 1].index_copy_(1, idx_t, stats)

    def _norms(self, tensors: list, key, out: torch.Tensor) -> None:
        """Row L2 norms of ``tensors`` into ``out``: one stack into a kept buffer and one reduction
        (on the CPU ``_foreach_norm`` is a loop of per-tensor kernels, twice as slow here)."""
        shapes = {t.shape for t in tensors}
        if len(tensors) == 1:
            torch.linalg.vector_norm(tensors[0].reshape(1, -1), dim=1, out=out)
        elif len(shapes) == 1:
            torch.linalg.vector_norm(self._stack(tensors, key).view(len(tensors), -1), dim=1, out=out)
        else:
            torch.stack(torch._foreach_norm(tensors), out=out)

    def _signal_norms(self, buf: torch.Tensor, v: list) -> None:
        """‖∂L/∂h‖ of every probe point, one reduction per group of same-shaped gradients."""
        for key, (idx, idx_t) in self._grouping().items():
            grads = [self._grads[i] for i in idx]
            if all(g is not None for g in grads):  # the head's output grad always exists
                out = self._stack_bufs.get((key, "signal"))
                if out is None:
                    out = self._stack_bufs[(key, "signal")] = torch.empty(len(idx), device=buf.device, dtype=buf.dtype)
                self._norms(grads, (key, "grad"), out)
                buf[_OUTGRAD].index_copy_(0, idx_t, out)

    @torch.no_grad()
    def after_backward(self, row_step: int, loss: torch.Tensor, logits: torch.Tensor,
                       y: torch.Tensor) -> None:
        """Record gradients and activations of this step; call before ``optimizer.step()``."""
        r = len(self.rows)
        buf, v = self.layer_buf[r], self._views(r)  # (metrics, layers), and its rows
        self._cur_flat = [self._flat_weights(k) for k in range(len(self._wgroups))]  # also for after_update
        for k, (idx, idx_t) in enumerate(self._wgroups):
            prev, flat = self._prev[k], self._cur_flat[k]
            if flat is not None:
                prev.copy_(flat)  # W_old, kept for after_update
            else:
                torch._foreach_copy_(self._prev_views[k], [self.weights[i] for i in idx])
            if self._whole[k]:
                torch.linalg.vector_norm(prev, dim=1, out=v[_WNORM])
            else:
                buf[_WNORM].index_copy_(0, idx_t, torch.linalg.vector_norm(prev, dim=1))
        grads = [w.grad for w in self.weights]
        if any(gr is None for gr in grads):
            grads = [gr if gr is not None else torch.zeros_like(w) for gr, w in zip(grads, self.weights)]
        if len(self._ggroups) == 1:
            self._norms(grads, "wgrad", v[_GRAD])
        else:
            for k, (idx, idx_t, out) in enumerate(self._ggroups):
                self._norms([grads[i] for i in idx], ("wgrad", k), out)
                buf[_GRAD].index_copy_(0, idx_t, out)
        self._activation_stats(buf)
        self._signal_norms(buf, v)
        self.loss_buf[r].copy_(loss.detach())
        self.acc_buf[r].copy_((logits.detach().argmax(1) == y).mean(dtype=torch.float32))
        self.remove()
        self._outs = [None] * len(self.points)
        self._grads = [None] * len(self.points)
        self.rows.append(row_step)

    @torch.no_grad()
    def after_update(self) -> None:
        """Record ‖W_new − W_old‖ / ‖W_old‖ for the row just written."""
        r = len(self.rows) - 1
        buf, v = self.layer_buf[r], self._views(r)
        for k, (idx, idx_t) in enumerate(self._wgroups):
            prev, flat = self._prev[k], self._cur_flat[k]
            if flat is not None:
                delta = prev.sub_(flat)  # W_old - W_new: the same norm
            else:
                torch._foreach_copy_(self._scratch_views[k], [self.weights[i] for i in idx])
                delta = self._scratch[k].sub_(prev)  # W_new - W_old
            if self._whole[k]:
                torch.linalg.vector_norm(delta, dim=1, out=v[_UPDATE])
            else:
                buf[_UPDATE].index_copy_(0, idx_t, torch.linalg.vector_norm(delta, dim=1))
        v[_UPDATE].div_(v[_WNORM])

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
