"""Frozen, validated specs for a run: the network, its init, the data and the training.

Every field is checked in ``__post_init__``; a bad value raises :class:`SpecError`, which names
the field, the value and what is allowed. Specs round-trip through plain dicts, JSON, TOML and a
compact URL-safe string (see :mod:`labcore.codec`). The size guard lives in :mod:`labcore.size`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .datasets import DATASETS
from .registry import ACTIVATIONS, DEVICES, INITS, NORMS, OPTIMIZERS, SKIPS

MAX_DEPTH = 1000  # hidden layers; the charts stay interactive up to here
MAX_WIDTH = 16384  # units per layer; the size guard catches large combinations earlier


class SpecError(ValueError):
    """A spec field has a value that is not allowed. ``field`` is its dotted path."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{field} = {shown} is not allowed: {allowed}")


# ----------------------------------------------------------------------------- checks
def _int(name: str, v: Any, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise SpecError(name, v, f"an integer from {lo} to {hi}")
    if not lo <= v <= hi:
        raise SpecError(name, v, f"an integer from {lo} to {hi}")


def _float(name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    rng = f"a number {'>' if lo_open else '≥'} {lo:g} and ≤ {hi:g}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(name, v, rng)
    if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
        raise SpecError(name, v, rng)


def _choice(name: str, v: Any, table) -> None:
    if not isinstance(v, str) or v not in table:
        raise SpecError(name, v, "one of " + ", ".join(table))


# ----------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class LayerSpec:
    """One hidden layer: Linear -> norm -> activation -> dropout, then the skip combine."""

    width: int = 64  # output units of the Linear
    activation: str = "relu"  # key of ACTIVATIONS
    norm: str = "none"  # key of NORMS, applied before the activation
    skip: str = "none"  # key of SKIPS: none | residual | dense
    dropout: float = 0.0  # drop probability after the activation

    def __post_init__(self):
        _int("width", self.width, 1, MAX_WIDTH)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("norm", self.norm, NORMS)
        _choice("skip", self.skip, SKIPS)
        _float("dropout", self.dropout, 0.0, 0.95)


@dataclass(frozen=True)
class InitSpec:
    """How weights are drawn. Biases start at zero except for ``default``."""

    scheme: str = "default"  # key of INITS
    gain: float = 1.0  # multiplies the scheme's standard deviation
    sigma: float = 0.01  # std of the ``normal`` scheme (before the gain)

    def __post_init__(self):
        _choice("init.scheme", self.scheme, INITS)
        _float("init.gain", self.gain, 0.0, 100.0, lo_open=True)
        _float("init.sigma", self.sigma, 0.0, 10.0, lo_open=True)


@dataclass(frozen=True)
class NetSpec:
    """An MLP: hidden layers in order (input side first), then a linear classifier head."""

    layers: tuple[LayerSpec, ...] = field(default_factory=lambda: (LayerSpec(),) * 4)
    init: InitSpec = field(default_factory=InitSpec)

    def __post_init__(self):
        if not isinstance(self.layers, tuple):
            object.__setattr__(self, "layers", tuple(self.layers) if isinstance(self.layers, list) else self.layers)
        if not isinstance(self.layers, tuple) or not all(isinstance(l, LayerSpec) for l in self.layers):
            raise SpecError("net.layers", self.layers, "a list of layer specs")
        if not 1 <= len(self.layers) <= MAX_DEPTH:
            raise SpecError("net.depth", len(self.layers), f"from 1 to {MAX_DEPTH} hidden layers")
        if not isinstance(self.init, InitSpec):
            raise SpecError("net.init", self.init, "an init spec")

    @classmethod
    def uniform(cls, depth: int, width: int, activation: str = "relu", *, norm: str = "none",
                skip: str = "none", dropout: float = 0.0, init: str = "default", gain: float = 1.0,
                sigma: float = 0.01) -> "NetSpec":
        """``NetSpec.uniform(20, 64, "sigmoid")``: depth identical layers."""
        _int("net.depth", depth, 1, MAX_DEPTH)
        layer = LayerSpec(width, activation, norm, skip, dropout)
        return cls((layer,) * depth, InitSpec(init, gain, sigma))

    @property
    def depth(self) -> int:
        return len(self.layers)

    def with_all(self, **changes) -> "NetSpec":
        """Apply the same field changes to every layer (e.g. ``skip="residual"``)."""
        return replace(self, layers=tuple(replace(l, **changes) for l in self.layers))


@dataclass(frozen=True)
class DataSpec:
    """Which data set, and how the synthetic ones are generated."""

    name: str = "spirals"  # key of DATASETS
    n_samples: int = 1000  # points for synthetic 2-D sets (train + test)
    noise: float = 0.1  # noise level of synthetic 2-D sets
    classes: int = 2  # classes of spirals / gaussians (the others have their own)
    test_fraction: float = 0.2  # share held out for testing

    def __post_init__(self):
        _choice("data.name", self.name, DATASETS)
        _int("data.n_samples", self.n_samples, 50, 200_000)
        _float("data.noise", self.noise, 0.0, 5.0)
        _int("data.classes", self.classes, 2, 10)
        _float("data.test_fraction", self.test_fraction, 0.05, 0.9)


@dataclass(frozen=True)
class TrainSpec:
    """The optimisation loop and its bookkeeping."""

    data: DataSpec = field(default_factory=DataSpec)
    optimizer: str = "adam"  # key of OPTIMIZERS
    lr: float = 1e-3  # learning rate
    momentum: float = 0.9  # for momentum / nesterov
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    l1: float = 0.0  # L1 penalty on the weights, added to the loss
    batch_size: int = 64  # examples per step
    steps: int = 500  # optimisation steps in the run
    clip_norm: float = 0.0  # clip the global gradient norm to this; 0 = off
    seed: int = 0  # seeds init, data and batches
    device: str = "auto"  # auto | cpu | cuda | mps
    record_every: int = 20  # probe every N steps (a probed step costs ~0.6 of a step on the CPU)
    flush_every: int = 100  # copy metrics to the host every N steps
    eval_every: int = 100  # test-set loss/accuracy every N steps

    def __post_init__(self):
        if not isinstance(self.data, DataSpec):
            raise SpecError("train.data", self.data, "a data spec")
        _choice("train.optimizer", self.optimizer, OPTIMIZERS)
        _float("train.lr", self.lr, 0.0, 10.0, lo_open=True)
        _float("train.momentum", self.momentum, 0.0, 0.999)
        _float("train.weight_decay", self.weight_decay, 0.0, 1.0)
        _float("train.l1", self.l1, 0.0, 1.0)
        _int("train.batch_size", self.batch_size, 1, 65536)
        _int("train.steps", self.steps, 1, 1_000_000)
        _float("train.clip_norm", self.clip_norm, 0.0, 1e6)
        _int("train.seed", self.seed, 0, 2**31 - 1)
        _choice("train.device", self.device, DEVICES)
        _int("train.record_every", self.record_every, 1, 10_000)
        _int("train.flush_every", self.flush_every, 1, 100_000)
        _int("train.eval_every", self.eval_every, 1, 1_000_000)
        if self.flush_every < self.record_every:
            raise SpecError("train.flush_every", self.flush_every,
                            f"at least record_every ({self.record_every})")


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to reproduce a run."""

    net: NetSpec = field(default_factory=NetSpec)
    train: TrainSpec = field(default_factory=TrainSpec)

    def __post_init__(self):
        if not isinstance(self.net, NetSpec):
            raise SpecError("net", self.net, "a network spec")
        if not isinstance(self.train, TrainSpec):
            raise SpecError("train", self.train, "a training spec")


def spec_fields(cls) -> list[str]:
    return [f.name for f in fields(cls)]
