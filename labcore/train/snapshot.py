"""Pictures of a model's current state, taken by the job worker at chunk boundaries.

:func:`take` returns plain numpy data: the decision boundary over a grid for 2-D data sets
(TensorFlow-Playground style) and histograms of one layer's activations, of the gradient with
respect to them, and of its weight gradient, on a fixed probe batch (in training mode, so
BatchNorm and dropout act as they do in training).

It runs in the thread that owns the trainer (or under the job's model lock), never while a step
is in flight. It leaves the run exactly as it found it: no ``.grad`` is written (gradients come
from ``torch.autograd.grad``), BatchNorm running statistics are restored, and dropout draws its
masks from a generator of the snapshot's own, so the run's dropout stream does not move.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from labcore.data.datasets import DATASETS
from labcore.nets.base import Dropout

GRID = 48  # decision-boundary resolution (GRID x GRID points); 48² keeps a snapshot ~10 ms
PROBE_BATCH = 256  # examples used for the histograms
BINS = 40
MAX_POINTS = 600  # data points drawn over the boundary


@contextlib.contextmanager
def _untouched(model: nn.Module, device: torch.device):
    """Run a side-effect-free pass: BN running stats and train/eval mode restored, dropout masks
    drawn from a generator of this pass (seeded alike each time: comparable pictures)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in bns]
    drops = [m for m in model.modules() if isinstance(m, Dropout)]
    run_generators = [m.generator for m in drops]
    own = torch.Generator(device=device)
    own.manual_seed(0)
    for m in drops:
        m.generator = own
    was_training = model.training
    try:
        yield
    finally:
        for m, s in zip(bns, saved):
            m.load_state_dict(s)
        for m, g in zip(drops, run_generators):
            m.generator = g
        model.train(was_training)


@torch.no_grad()
def boundary(trainer, grid: int = GRID) -> dict | None:
    """Predicted class and confidence on a grid covering the 2-D data, plus some data points."""
    data = trainer.data
    if DATASETS[trainer.spec.train.data.name].kind != "2d" or data.in_dim != 2:
        return None
    model = trainer.model
    x = data.x_train
    lo, hi = x.amin(0), x.amax(0)  # (2,)
    pad = (hi - lo) * 0.08
    lo, hi = (lo - pad).cpu().numpy(), (hi + pad).cpu().numpy()
    xs = np.linspace(lo[0], hi[0], grid, dtype=np.float32)
    ys = np.linspace(lo[1], hi[1], grid, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)  # (grid, grid): row = y, column = x
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).to(trainer.device)  # (grid², 2)
    with _untouched(model, trainer.device):
        model.eval()
        prob = torch.softmax(model(pts).float(), 1)  # (grid², classes)
    conf, cls = prob.max(1)
    n = min(MAX_POINTS, len(x))
    pick = np.linspace(0, len(x) - 1, n).astype(np.int64)
    return {"xs": xs, "ys": ys,
            "cls": cls.view(grid, grid).cpu().numpy(), "conf": conf.view(grid, grid).cpu().numpy(),
            "px": x[pick].cpu().numpy(), "py": data.y_train[pick].cpu().numpy(),
            "n_classes": int(data.n_classes)}


def _hist(v: torch.Tensor, bins: int) -> dict:
    a = v.detach().float().reshape(-1).cpu().numpy()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"edges": np.zeros(0), "counts": np.zeros(0), "n": 0}
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(a, bins=bins, range=(lo, hi))
    return {"edges": edges, "counts": counts, "n": int(a.size),
            "mean": float(a.mean()), "std": float(a.std())}


def layer_histograms(trainer, layer: str | None, bins: int = BINS, batch: int = PROBE_BATCH) -> dict | None:
    """Histograms of one probe point's activations, their gradients and its weight gradient."""
    points = trainer.model.probe_points
    names = [p.name for p in points]
    if not names:
        return None
    point = points[names.index(layer)] if layer in names else points[0]
    model, data = trainer.model, trainer.data
    n = min(batch, len(data.y_train))
    x, y = data.x_train[:n], data.y_train[:n]  # a fixed probe batch: comparable across steps
    captured = {}

    def hook(module, inputs, output):
        captured["out"] = output

    handle = point.module.register_forward_hook(hook)
    try:
        with _untouched(model, trainer.device):  # BN running stats are put back afterwards
            loss = nn.functional.cross_entropy(model(x), y)
            out = captured["out"]
            wanted = [point.weight] + ([out] if out.requires_grad else [])
            grads = torch.autograd.grad(loss, wanted, allow_unused=True)
    finally:
        handle.remove()
    wgrad = grads[0] if grads[0] is not None else torch.zeros_like(point.weight)
    agrad = grads[1] if len(grads) > 1 and grads[1] is not None else torch.zeros_like(out)
    return {"layer": point.name, "activation": _hist(out, bins), "act_grad": _hist(agrad, bins),
            "weight_grad": _hist(wgrad, bins)}


def take(trainer, focus: str | None = None) -> dict:
    """Everything a page draws besides the metrics: ``boundary``, ``hist``, ``snapshot_step``."""
    out = {"snapshot_step": int(trainer.step)}
    out["boundary"] = boundary(trainer)
    out["hist"] = layer_histograms(trainer, focus)
    return out


__all__ = ["boundary", "layer_histograms", "take"]
