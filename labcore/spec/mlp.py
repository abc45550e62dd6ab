"""Frozen, validated specs for a run: the network, its init, the data and the training.

Every field is checked in ``__post_init__``; a bad value raises :class:`SpecError`, which names
the field, the value and what is allowed. Specs round-trip through plain dicts, JSON, TOML and a
compact URL-safe string (see :mod:`labcore.spec.codec`). The size guard lives in :mod:`labcore.spec.size`.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from labcore.core.errors import SpecError, _choice, _float, _int, check_tree  # noqa: F401  (SpecError re-exported)
from labcore.data.datasets import DATASETS, DataSpec  # noqa: F401  (DataSpec re-exported)
from labcore.spec.choices import ACTIVATIONS, DEVICES, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.events import Event, RunState, SurgeryError, advance

MAX_DEPTH = 1000  # hidden layers; the charts stay interactive up to here
MAX_WIDTH = 16384  # units per layer; the size guard catches large combinations earlier


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
        if self.optimizer == "nesterov" and self.momentum == 0:
            raise SpecError("train.momentum", self.momentum, "above 0 with Nesterov (or choose momentum 0 "
                            "with plain SGD)")


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to reproduce a run."""

    net: NetSpec = field(default_factory=NetSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    events: tuple[Event, ...] = ()  # live changes at step boundaries (labcore.spec.events), by step

    def __post_init__(self):
        if not isinstance(self.net, NetSpec):
            raise SpecError("net", self.net, "a network spec")
        if not isinstance(self.train, TrainSpec):
            raise SpecError("train", self.train, "a training spec")
        # Checks across fields (each was a run failure before it was a validation error).
        if self.train.batch_size < 2 and any(l.norm == "batchnorm" for l in self.net.layers):
            raise SpecError("train.batch_size", self.train.batch_size,
                            "at least 2 with BatchNorm (it normalises over the batch); or choose another norm")
        events = self.events
        if isinstance(events, list):
            events = tuple(events)
        if not isinstance(events, tuple) or not all(isinstance(e, Event) for e in events):
            raise SpecError("events", self.events, "a list of events (step + set)")
        events = tuple(sorted(events, key=lambda e: e.step))  # stable: same-step events keep their order
        object.__setattr__(self, "events", events)
        # Play the events on the spec now, so a bad one is refused when the spec is read, not mid-run.
        state = RunState(replace(self, events=())) if events else None
        for i, e in enumerate(events):
            if e.step >= self.train.steps:
                raise SpecError(f"events[{i}].step", e.step, f"a step before the run's end ({self.train.steps})")
            try:
                state, _ = advance(state, e.change)
            except SurgeryError as err:
                raise SpecError(f"events[{i}].{err.field}", err.value, err.allowed) from None


def spec_fields(cls) -> list[str]:
    return [f.name for f in fields(cls)]


# ----------------------------------------------------------------------------- dict form
def _plain(obj, *, drop_defaults: bool) -> dict:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, (LayerSpec, InitSpec, DataSpec)):
            sub = _plain(v, drop_defaults=drop_defaults)
            if sub or not drop_defaults:
                out[f.name] = sub
            continue
        if drop_defaults and f.default is not MISSING and v == f.default:
            continue
        out[f.name] = v
    return out


def to_dict(spec: RunSpec, *, drop_defaults: bool = False) -> dict:
    """Nested plain dict (JSON/TOML-ready), without a ``kind`` (the default family).

    A stack of identical layers is written ``depth`` + one ``layer`` table; otherwise ``layers``
    lists them all. ``drop_defaults`` leaves out fields equal to their defaults.
    """
    layers = spec.net.layers
    net: dict[str, Any] = {}
    if all(l == layers[0] for l in layers):
        net["depth"] = len(layers)
        net["layer"] = _plain(layers[0], drop_defaults=drop_defaults)
    else:
        net["layers"] = [_plain(l, drop_defaults=drop_defaults) for l in layers]
    init = _plain(spec.net.init, drop_defaults=drop_defaults)
    if init or not drop_defaults:
        net["init"] = init
    train = _plain(spec.train, drop_defaults=drop_defaults)
    out = {"net": net, "train": train}
    if spec.events:  # a spec without events keeps its old form
        out["events"] = [e.to_dict() for e in spec.events]
    return out


def _build(cls, d: Any, where: str):
    if not isinstance(d, dict):
        raise SpecError(where, d, "a table of fields")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}" if where else unknown[0], d[unknown[0]],
                        "a known field: " + ", ".join(sorted(known)))
    try:
        return cls(**d)
    except SpecError as e:
        name = e.field.split(".")[-1]
        raise SpecError(f"{where}.{name}" if where else name, e.value, e.allowed) from None
    except TypeError as e:  # e.g. a nested value of the wrong kind
        raise SpecError(where, d, f"valid fields ({e})") from None


def from_dict(d: Any) -> RunSpec:
    """Build and validate a RunSpec from the dict form; raises SpecError on anything wrong."""
    check_tree(d)
    if isinstance(d, dict) and d.get("kind", "mlp") == "mlp":
        d = {k: v for k, v in d.items() if k != "kind"}
    if not isinstance(d, dict):
        raise SpecError("spec", d, "a table with 'net' and 'train'")
    unknown = sorted(set(d) - {"net", "train", "events"})
    if unknown:
        raise SpecError(unknown[0], d[unknown[0]], "only 'net', 'train' and 'events' at the top level")
    raw_events = d.get("events", [])
    if not isinstance(raw_events, list):
        raise SpecError("events", raw_events, "a list of [[events]] tables")
    events = tuple(Event.from_dict(e, f"events[{i}]") for i, e in enumerate(raw_events))
    net = d.get("net", {})
    if not isinstance(net, dict):
        raise SpecError("net", net, "a table")
    unknown = sorted(set(net) - {"depth", "layer", "layers", "init"})
    if unknown:
        raise SpecError(f"net.{unknown[0]}", net[unknown[0]], "one of depth, layer, layers, init")
    if "layers" in net:
        if "depth" in net or "layer" in net:
            raise SpecError("net.layers", "...", "either 'layers' or 'depth' + 'layer', not both")
        raw = net["layers"]
        if not isinstance(raw, list) or not raw:
            raise SpecError("net.layers", raw, "a non-empty list of layer tables")
        layers = tuple(_build(LayerSpec, l, f"net.layers[{i}]") for i, l in enumerate(raw))
    else:
        depth = net.get("depth", 4)
        layer = _build(LayerSpec, net.get("layer", {}), "net.layer")
        try:
            return_net = NetSpec.uniform(depth, layer.width, layer.activation, norm=layer.norm,
                                         skip=layer.skip, dropout=layer.dropout)
        except SpecError as e:
            raise SpecError("net.depth" if e.field.endswith("depth") else e.field, e.value, e.allowed) from None
        layers = return_net.layers
    init = _build(InitSpec, net.get("init", {}), "net.init")
    netspec = NetSpec(layers, init)
    train = d.get("train", {})
    if not isinstance(train, dict):
        raise SpecError("train", train, "a table")
    train = dict(train)
    data = _build(DataSpec, train.pop("data", {}), "train.data")
    return RunSpec(netspec, _build(TrainSpec, {**train, "data": data}, "train"), events)
