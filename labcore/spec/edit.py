"""Change a few fields of a RunSpec by flat names: the CLI's flags and the notebook API share it.

``override(spec, depth=30, lr=0.01, skip="residual")``. The names are those of
:data:`labcore.spec.fields.FIELDS`. Layer fields (width, activation, norm, skip, dropout) apply to
every layer; ``depth`` repeats the first layer (after the other layer changes). Unknown names
raise SpecError listing the known ones.
"""
from __future__ import annotations

from dataclasses import replace

from labcore.spec.fields import NAMES, section
from labcore.spec.mlp import MAX_DEPTH, NetSpec, RunSpec, SpecError, _int

KNOWN = NAMES


def override(spec: RunSpec, **changes) -> RunSpec:
    """A new RunSpec with ``changes`` applied (``None`` values are ignored).

    Every bad value raises a SpecError naming the setting, never a TypeError.
    """
    if not isinstance(spec, RunSpec):
        raise SpecError("spec", spec, "an MLP run spec (RunSpec)")
    try:
        return _override(spec, **changes)
    except TypeError as e:  # a value of a type no check anticipated: still the user's input
        raise SpecError("spec", changes, f"settings of the right types ({e})") from None


def _override(spec: RunSpec, **changes) -> RunSpec:
    changes = {k: v for k, v in changes.items() if v is not None}
    unknown = sorted(set(changes) - set(KNOWN))
    if unknown:
        raise SpecError(unknown[0], changes[unknown[0]], "a known setting: " + ", ".join(KNOWN))
    net = spec.net
    layer_changes = section(changes, "layer")
    if layer_changes:
        net = net.with_all(**layer_changes)
    if "depth" in changes:
        _int("net.depth", changes["depth"], 1, MAX_DEPTH)
        net = NetSpec((net.layers[0],) * changes["depth"], net.init)
    init_changes = section(changes, "init")
    if init_changes:
        net = replace(net, init=replace(net.init, **init_changes))
    train = spec.train
    data_changes = section(changes, "data")
    if data_changes:
        train = replace(train, data=replace(train.data, **data_changes))
    train_changes = section(changes, "train")
    if train_changes:
        # flush_every must stay >= record_every: follow a larger record_every.
        if "record_every" in train_changes and "flush_every" not in train_changes:
            _int("train.record_every", train_changes["record_every"], 1, 10_000)
            train_changes["flush_every"] = max(train.flush_every, train_changes["record_every"])
        train = replace(train, **train_changes)
    return RunSpec(net, train, spec.events)  # live-surgery events kept (refused if they no longer fit)
