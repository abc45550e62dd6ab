"""Live surgery on a running MLP trainer, at a step boundary: :func:`apply`.

The pure check comes first (:func:`labcore.spec.events.advance`): a change that cannot apply
raises :class:`~labcore.spec.events.SurgeryError` before any module or tensor is touched. Then:

- optimiser settings are written into the optimiser's param groups (clipping is read each step);
- an optimiser swap builds a fresh optimiser: its state (moments, momentum buffers) is reset;
- freezing turns ``requires_grad`` off for the layer's Linear (and norm) parameters;
- structure (skip, norm, activation, dropout) replaces the block's parts; existing weights are
  kept, and the optimiser keeps its state for every parameter that survives. An inserted norm is
  set to be close to identity on the current batch (BatchNorm: exactly, up to rounding; LayerNorm:
  the least-squares fit of its per-unit scale and shift), and the record says how close;
- :func:`refresh` rebuilds the probe points and re-arms the probe, keeping the rows recorded
  since the last flush.

No host sync happens inside a step: the only host reads (how close a norm is to identity) happen
here, between steps. Every new tensor is drawn from a generator seeded by (seed, step, layer), so
replaying the same events at the same steps gives the same run, bit for bit on the CPU.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from labcore.nets.registry import ACTIVATION_MODULES, NORM_MODULES, OPTIMIZER_FNS
from labcore.nets.skips import SKIP_MODULES
from labcore.spec.events import Change, SurgeryError, advance, ended, label
from labcore.train.probe import Probe

NOTES = ("optimizer_reset", "activation_changed", "norm_removed")  # a record's notes (the UI translates them)


def _absent(m) -> bool:
    """A missing part: ``None`` (lean blocks) or ``nn.Identity`` (the plain builder)."""
    return m is None or isinstance(m, nn.Identity)


def _gen(trainer, layer: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((trainer.spec.train.seed * 1_000_003 + trainer.step * 1009 + layer) % (2**63))
    return g


# ----------------------------------------------------------------------------- norms close to identity
def _part(m, x: torch.Tensor) -> torch.Tensor:
    return x if m is None else m(x)


@torch.no_grad()
def _pre_norm_outputs(trainer, blocks: list[int]) -> dict[int, torch.Tensor]:
    """The Linear outputs of ``blocks`` (1-based) on the current batch, the model left as it was.

    The blocks are walked here (Linear -> norm -> activation -> skip, no dropout) rather than
    hooked, so this holds whatever shortcut ``MLP.forward`` takes; BatchNorm running statistics
    touched on the way are put back.
    """
    model = trainer.model
    idx = getattr(trainer, "_last_idx", None)
    x = trainer.data.x_train[idx] if idx is not None else trainer.data.x_train[:trainer.spec.train.batch_size]
    saved = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}
    outs, h = {}, x
    try:
        for n, b in enumerate(model.blocks[:max(blocks)], start=1):
            z = b.linear(h)  # (B, width)
            outs[n] = z
            a = _part(b.act, _part(b.norm, z))
            h = a if b.skip is None else b.skip(h, a)
    finally:
        model.load_state_dict(saved, strict=False)  # BatchNorm running statistics as they were
    return outs


@torch.no_grad()
def _identity_norm(kind: str, z: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """A norm module over z's units set to be close to identity on z (B, W); and ‖norm(z) − z‖/‖z‖."""
    width = z.shape[1]
    norm = NORM_MODULES[kind](width).to(device=z.device, dtype=z.dtype)
    if kind == "batchnorm":
        mean, var = z.mean(0), z.var(0, unbiased=False)
        norm.weight.copy_((var + norm.eps).sqrt())
        norm.bias.copy_(mean)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(z.var(0, unbiased=True) if z.shape[0] > 1 else var)
        out = F.batch_norm(z, None, None, norm.weight, norm.bias, training=True, eps=norm.eps)
    else:  # layernorm: per-unit least squares z_j ≈ γ_j n_j + β_j over the batch
        n = F.layer_norm(z, (width,), eps=norm.eps)  # (B, W), normalised per example
        nc, zc = n - n.mean(0), z - z.mean(0)
        vn = nc.square().mean(0)
        gamma = torch.where(vn > 1e-12, (nc * zc).mean(0) / vn.clamp_min(1e-12), torch.ones_like(vn))
        norm.weight.copy_(gamma)
        norm.bias.copy_(z.mean(0) - gamma * n.mean(0))
        out = F.layer_norm(z, (width,), norm.weight, norm.bias, norm.eps)
    err = torch.linalg.vector_norm(out - z) / torch.linalg.vector_norm(z).clamp_min(1e-30)
    return norm, err  # a device scalar: the caller reads every layer's at once


# ----------------------------------------------------------------------------- the parts
def _set_frozen(block, frozen: bool) -> None:
    for part in (block.linear, block.norm):
        if not _absent(part):
            for p in part.parameters():
                p.requires_grad_(not frozen)
                if frozen:
                    p.grad = None


def _dropout(trainer, p: float) -> nn.Module:
    """The dropout part for probability ``p`` (the one place to change if trainers draw masks
    from their own generator)."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


def _in_dim(block) -> int:
    return block.linear.in_features


def _residual(trainer, block, n: int) -> nn.Module:
    skip = SKIP_MODULES["residual"](_in_dim(block), block.linear.out_features)
    if skip.proj is not None:  # widths differ: a new projection, drawn reproducibly
        w = torch.empty_like(skip.proj.weight)
        nn.init.orthogonal_(w, generator=_gen(trainer, n))
        skip.proj.weight.data.copy_(w)
    p = block.linear.weight
    return skip.to(device=p.device, dtype=p.dtype)


def refresh(trainer) -> None:
    """Rebuild the model's probe points and re-arm the probe, keeping the unflushed rows."""
    trainer.model.refresh([l.activation for l in trainer.state.spec.net.layers])
    old = trainer.probe
    old.remove()
    new = Probe(trainer.model.probe_points, old.capacity, old.device)
    new.layer_buf, new.loss_buf, new.acc_buf, new.rows = old.layer_buf, old.loss_buf, old.acc_buf, old.rows
    trainer.probe = new
    trainer.layers = [p.name for p in trainer.model.probe_points]
    trainer.params = sum(p.numel() for p in trainer.model.parameters())


def _new_optimizer(trainer, keep_state: bool) -> None:
    t = trainer.state.spec.train
    old = trainer.opt
    opt = OPTIMIZER_FNS[t.optimizer](trainer.model.parameters(), t.lr, t.momentum, t.weight_decay, trainer.device)
    if keep_state:
        live = {id(p) for g in opt.param_groups for p in g["params"]}
        for p, s in old.state.items():
            if id(p) in live:
                opt.state[p] = s
    trainer.opt = opt


def _set_groups(trainer, key: str, value: float) -> None:
    t = trainer.state.spec.train
    for g in trainer.opt.param_groups:
        if key == "momentum":
            if "momentum" in g and t.optimizer in ("momentum", "nesterov"):
                g["momentum"] = value
        elif key in g:
            g[key] = value


# ----------------------------------------------------------------------------- apply
def check(trainer, change: Change):
    """The state after ``change`` and its diffs, or a SurgeryError; nothing is changed."""
    if trainer.done:
        raise ended(str(trainer.status))
    return advance(trainer.state, change)


def apply(trainer, change: Change) -> dict:
    """Apply ``change`` to ``trainer`` now (a step boundary); return the event's record."""
    state, diffs = check(trainer, change)
    t0 = time.perf_counter()
    sps_before = trainer.steps_per_second
    model, notes, closeness = trainer.model, [], {}
    optimizer_swapped = any(d["what"] == "optimizer" for d in diffs)
    structural = False
    # The norm targets are measured first, on the model as it is (before any other part changes).
    norm_d = next((d for d in diffs if d["what"] == "norm"), None)
    targets = (norm_d["layers"] or list(range(1, state.spec.net.depth + 1))) if norm_d else []
    outs = _pre_norm_outputs(trainer, targets) if norm_d and norm_d["to"] != "none" else {}
    for d in diffs:
        what, to = d["what"], d["to"]
        layers = d.get("layers") or list(range(1, state.spec.net.depth + 1))
        if what in ("lr", "momentum", "weight_decay"):
            _set_groups(trainer, what, to)
        elif what == "optimizer":
            notes.append("optimizer_reset")
        elif what == "frozen":
            for n in layers:
                _set_frozen(model.blocks[n - 1], to)
        elif what in ("dropout", "skip", "norm", "activation"):
            structural = True
            for n in layers:
                b = model.blocks[n - 1]
                was = trainer.state.spec.net.layers[n - 1]
                if what == "dropout":
                    b.drop = _dropout(trainer, to)
                elif what == "skip" and was.skip != to:
                    b.skip = _residual(trainer, b, n) if to == "residual" else SKIP_MODULES["none"](0, 0)
                elif what == "norm" and was.norm != to:
                    if to == "none":
                        b.norm = nn.Identity()
                    else:
                        b.norm, closeness[n] = _identity_norm(to, outs[n])
                        if n in state.frozen:
                            for p in b.norm.parameters():
                                p.requires_grad_(False)
                elif what == "activation" and was.activation != to:
                    b.act = ACTIVATION_MODULES[to]()
        # clip_norm: read from trainer.state at every step
    if any(d["what"] == "norm" and d["to"] == "none" for d in diffs):
        notes.append("norm_removed")
    if any(d["what"] == "activation" for d in diffs):
        notes.append("activation_changed")
    trainer.state = state
    if structural or optimizer_swapped:
        _new_optimizer(trainer, keep_state=not optimizer_swapped)
    if structural:
        refresh(trainer)
    worst = float(torch.stack(list(closeness.values())).max()) if closeness else None  # one host read
    pause_ms = (time.perf_counter() - t0) * 1e3
    rec = {"step": trainer.step, "label": label(diffs), "changes": diffs, **change.to_dict(),
           "notes": notes, "pause_ms": round(pause_ms, 3), "sps_before": round(sps_before, 2),
           "train_seconds": trainer.train_seconds}
    if closeness:  # worst ‖norm(z) − z‖/‖z‖ over the new norms
        rec["identity_error"] = worst if math.isfinite(worst) else None
    trainer.events.append(rec)
    return rec


__all__ = ["apply", "check", "refresh"]
