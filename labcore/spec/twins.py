"""Twin runs: variant B of a spec differs from A in exactly one choice (the "Compare with" list).

``VARIANTS[name](spec) -> spec`` keeps the seed, the data and every other field, so A and B see
the same data, the same batches and (layer shapes permitting) the same initial weights.
Widgets take their options from ``list(VARIANTS)``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from labcore.spec.mlp import InitSpec, RunSpec, SpecError


def _layers(**changes) -> Callable[[RunSpec], RunSpec]:
    return lambda s: replace(s, net=s.net.with_all(**changes))


def _init(scheme: str) -> Callable[[RunSpec], RunSpec]:
    return lambda s: replace(s, net=replace(s.net, init=InitSpec(scheme, 1.0, s.net.init.sigma)))


def _train(**changes) -> Callable[[RunSpec], RunSpec]:
    return lambda s: replace(s, train=replace(s.train, **changes))


VARIANTS: dict[str, Callable[[RunSpec], RunSpec]] = {
    "none": lambda s: s,
    "residual": _layers(skip="residual"),
    "batchnorm": _layers(norm="batchnorm"),
    "layernorm": _layers(norm="layernorm"),
    "he_init": _init("he_normal"),
    "xavier_init": _init("xavier_normal"),
    "relu": _layers(activation="relu"),
    "tanh": _layers(activation="tanh"),
    "gelu": _layers(activation="gelu"),
    "clip": _train(clip_norm=1.0),
    "adam": _train(optimizer="adam"),
    "sgd": _train(optimizer="sgd"),
    "lr_down": lambda s: replace(s, train=replace(s.train, lr=s.train.lr / 10)),
    "lr_up": lambda s: replace(s, train=replace(s.train, lr=min(10.0, s.train.lr * 10))),
}


def twin(spec: RunSpec, variant: str) -> RunSpec:
    """Spec B for ``variant`` (a key of VARIANTS); raises KeyError for an unknown one.

    B keeps A's live-surgery events where they still apply; where B's net already has what an
    event would change (a residual twin of a run whose event adds residual skips), B has none.
    """
    fn = VARIANTS[variant]
    try:
        return fn(spec)
    except SpecError:
        if not spec.events:
            raise
        return fn(replace(spec, events=()))


__all__ = ["VARIANTS", "twin"]
