"""The size guard: refuse a spec before anything is allocated if its whole run would not fit.

:func:`estimate` bounds the memory of a whole MLP run from the spec alone: parameters, their
gradients, the optimizer's state and the probe's weight copies; activations kept for backward at
the training batch (with the probe's stacked copies and the gradients flowing back); evaluation,
which runs in chunks of :func:`eval_rows` test examples (so a 180,000-example test set never needs
180,000 rows of activations at once); the Lab's snapshots (decision-boundary grid, histogram batch);
the data set with the copies made while it is generated; and a fixed runtime slack. Each term is
an upper bound; ``tests/test_size_guard.py`` checks the sum against the peak RSS growth measured
in a fresh process, and ``check_size`` refuses a spec whose estimate exceeds the budget.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from labcore.data.datasets import DATASETS
from labcore.spec.choices import SKIPS
from labcore.spec.mlp import RunSpec, SpecError

MiB = 1 << 20
EVAL_FLOATS = 1 << 22  # floats of one layer's output per evaluation chunk (16 MiB)
# Allocator rounding and arenas, autograd bookkeeping, per-thread scratch: measured 10-30 MiB on an
# idle machine, up to ~95 MiB once under load (a new OpenMP thread's malloc arena, tests/rss_probe.py).
RUNTIME_SLACK = 128 * MiB
SNAPSHOT_GRID, SNAPSHOT_BATCH = 48 * 48, 256  # labcore.train.snapshot's boundary grid and histogram batch
OPT_STATE = {"adam": 2, "adamw": 2, "rmsprop": 2, "momentum": 1, "nesterov": 1, "sgd": 0}  # floats per param


def eval_rows(max_width: int) -> int:
    """Test examples per evaluation chunk: one layer's output stays under EVAL_FLOATS floats."""
    return max(1, EVAL_FLOATS // max(1, max_width))


@dataclass(frozen=True)
class SizeBudget:
    """Limits for one run. Defaults suit a 2-core laptop serving a class; override with
    LAB_MAX_PARAMS / LAB_MAX_ACT_MB / LAB_MAX_MEM_MB."""

    max_params: int = 20_000_000  # trainable parameters
    max_activation_bytes: int = 1 << 30  # activations kept for backward, per step
    max_memory_bytes: int = 2 << 30  # the whole run (see estimate)

    @classmethod
    def from_env(cls, default: "SizeBudget | None" = None) -> "SizeBudget":
        d = default or cls()

        def env(name, scale, fallback):
            v = os.environ.get(name)
            return int(float(v) * scale) if v else fallback

        return cls(env("LAB_MAX_PARAMS", 1, d.max_params), env("LAB_MAX_ACT_MB", MiB, d.max_activation_bytes),
                   env("LAB_MAX_MEM_MB", MiB, d.max_memory_bytes))


@dataclass(frozen=True)
class SizeEstimate:
    params: int
    activation_bytes: int  # saved for backward at the training batch
    macs_per_example: int  # multiply-adds of one forward pass
    memory_bytes: int = 0  # the whole run: see :func:`estimate`


class SizeError(SpecError):
    """The spec is valid but too large for the budget."""


def _data_examples(spec: RunSpec) -> tuple[int, int]:
    """(train, test) examples of the data spec, without generating it."""
    d = spec.train.data
    if d.name == "digits":
        total = 1797
    elif d.name == "mnist1d":
        return 4000, 1000
    else:
        total = d.n_samples
    n_test = max(1, int(round(total * d.test_fraction)))
    return total - n_test, n_test


def estimate(spec: RunSpec) -> SizeEstimate:
    """Count parameters, activation and whole-run memory from the spec alone (no allocation)."""
    info = DATASETS[spec.train.data.name]
    d = in_dim = info.in_dim(spec.train.data)
    params = macs = act_floats = 0
    widest = d
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
        widest = max(widest, w, out)
    k = info.n_classes(spec.train.data)
    params += d * k + k
    macs += d * k
    act_floats += 2 * k  # logits and their gradient
    n_train, n_test = _data_examples(spec)
    batch = min(spec.train.batch_size, n_train)
    train_act = act_floats * 4 * batch
    # Parameters + gradients + optimizer state + the probe's previous-weights copy and scratch.
    weights = params * 4 * (4 + OPT_STATE.get(spec.train.optimizer, 2))
    # Backward: the saved activations, the probe's stacked copies of outputs and of their
    # gradients, and the gradient flowing back (at most the saved set again).
    train_mem = 4 * act_floats * 4 * max(batch, SNAPSHOT_BATCH)
    # Evaluation and the boundary grid run without autograd: a few layer outputs live at once.
    nograd_mem = 4 * widest * 4 * max(min(n_test, eval_rows(widest)), SNAPSHOT_GRID)
    # Data: float32 inputs + int64 labels, plus the float64 and permuted copies made while generating.
    data_mem = (n_train + n_test) * (in_dim * 4 + 8) * 4
    memory = weights + train_mem + nograd_mem + data_mem + RUNTIME_SLACK
    return SizeEstimate(params, train_act, macs, memory)


def check_size(spec: RunSpec, budget: SizeBudget | None = None) -> SizeEstimate:
    """Raise :class:`SizeError` naming the estimate and the budget if the spec is too big."""
    budget = budget or SizeBudget.from_env()
    est = estimate(spec)
    if est.params > budget.max_params:
        raise SizeError("net", f"{est.params:,} parameters",
                        f"at most {budget.max_params:,} parameters (budget); reduce the depth or width")
    if est.activation_bytes > budget.max_activation_bytes:
        raise SizeError("train.batch_size", f"{est.activation_bytes / MiB:,.0f} MiB of activations",
                        f"at most {budget.max_activation_bytes / MiB:,.0f} MiB (budget); "
                        "reduce the batch size, width or depth")
    if est.memory_bytes > budget.max_memory_bytes:
        raise SizeError("net", f"{est.memory_bytes / MiB:,.0f} MiB for the whole run",
                        f"at most {budget.max_memory_bytes / MiB:,.0f} MiB (budget, LAB_MAX_MEM_MB); "
                        "reduce the width, depth, batch size or data set")
    return est
