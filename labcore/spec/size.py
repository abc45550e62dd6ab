"""The size guard: refuse a spec before anything is allocated if it would not fit."""
from __future__ import annotations

import os
from dataclasses import dataclass

from labcore.data.datasets import DATASETS
from labcore.spec.choices import SKIPS
from labcore.spec.mlp import RunSpec, SpecError


@dataclass(frozen=True)
class SizeBudget:
    """Limits for one run. Defaults suit a 2-core laptop; override with LAB_MAX_PARAMS / LAB_MAX_ACT_MB."""

    max_params: int = 20_000_000  # trainable parameters
    max_activation_bytes: int = 1 << 30  # activations kept for backward, per step

    @classmethod
    def from_env(cls) -> "SizeBudget":
        d = cls()
        p = os.environ.get("LAB_MAX_PARAMS")
        a = os.environ.get("LAB_MAX_ACT_MB")
        return cls(int(float(p)) if p else d.max_params,
                   int(float(a) * (1 << 20)) if a else d.max_activation_bytes)


@dataclass(frozen=True)
class SizeEstimate:
    params: int
    activation_bytes: int
    macs_per_example: int  # multiply-adds of one forward pass


class SizeError(SpecError):
    """The spec is valid but too large for the budget."""


def estimate(spec: RunSpec) -> SizeEstimate:
    """Count parameters and activation memory from the spec alone (no allocation)."""
    info = DATASETS[spec.train.data.name]
    d, params, macs, act_floats = info.in_dim(spec.train.data), 0, 0, 0
    for layer in spec.net.layers:
        w = layer.width
        params += d * w + w + (2 * w if layer.norm != "none" else 0)
        macs += d * w
        skip = SKIPS[layer.skip]
        if skip.projects(d, w):
            params += d * w
            macs += d * w
        # Saved for backward: linear out, norm out, activation out, dropout mask, block out.
        act_floats += w * (2 + (layer.norm != "none") + (layer.dropout > 0))
        out = skip.out_width(d, w)
        act_floats += out if out != w else 0  # a widened (concatenated) output is a new tensor
        d = out
    k = info.n_classes(spec.train.data)
    params += d * k + k
    macs += d * k
    return SizeEstimate(params, act_floats * 4 * spec.train.batch_size, macs)


def check_size(spec: RunSpec, budget: SizeBudget | None = None) -> SizeEstimate:
    """Raise :class:`SizeError` naming the estimate and the budget if the spec is too big."""
    budget = budget or SizeBudget.from_env()
    est = estimate(spec)
    if est.params > budget.max_params:
        raise SizeError("net", f"{est.params:,} parameters",
                        f"at most {budget.max_params:,} parameters (budget); reduce the depth or width")
    if est.activation_bytes > budget.max_activation_bytes:
        raise SizeError("train.batch_size", f"{est.activation_bytes / 2**20:,.0f} MiB of activations",
                        f"at most {budget.max_activation_bytes / 2**20:,.0f} MiB (budget); "
                        "reduce the batch size, width or depth")
    return est
