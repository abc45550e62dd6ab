"""Live surgery, the pure part: what a change to a running MLP may say, and what it does to the spec.

A :class:`Change` sets one or more keys (``lr``, ``skip``, ``norm``...) on the optimiser or on
chosen hidden layers (1-based, ``None`` = every layer). An :class:`Event` is a change at a step
boundary: ``step = 200`` means after step 200 and before step 201. A run is its initial spec plus
its events; :func:`advance` applies a change to a :class:`RunState` (the spec *now* and the
frozen layers) and says what changed (``what``, ``from`` -> ``to``), or raises a
:class:`SurgeryError` naming the problem, with nothing changed. The trainer does the same to the
modules (:mod:`labcore.train.surgery`), after this check has passed. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from labcore.core.errors import SpecError, check_choice, check_float, check_int
from labcore.spec.choices import ACTIVATIONS, NORMS, OPTIMIZERS

LIVE_SKIPS = ("none", "residual")  # dense skips change later widths: not applicable to a live net


class SurgeryError(SpecError):
    """A change that cannot be applied; the run is untouched. ``message`` replaces the usual
    "field = value is not allowed: ..." line where a plain sentence reads better."""

    def __init__(self, field: str, value: Any, allowed: str, message: str | None = None):
        super().__init__(field, value, allowed)
        if message:
            self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


def ended(status: str) -> SurgeryError:
    """The error for a change to a run that has ended."""
    return SurgeryError("run", status, "a run that is training or paused",
                        f"This run has ended ({status}): live changes apply only while it trains or is paused.")


def _check_value(key: str, v: Any) -> Any:
    where = f"set.{key}"
    if key == "lr":
        check_float(where, v, 0.0, 10.0, lo_open=True)
    elif key == "momentum":
        check_float(where, v, 0.0, 0.999)
    elif key == "weight_decay":
        check_float(where, v, 0.0, 1.0)
    elif key == "clip_norm":
        check_float(where, v, 0.0, 1e6)
    elif key == "dropout":
        check_float(where, v, 0.0, 0.95)
    elif key == "optimizer":
        check_choice(where, v, OPTIMIZERS)
    elif key == "frozen":
        if not isinstance(v, bool):
            raise SpecError(where, v, "true or false")
    elif key == "skip":
        if v not in LIVE_SKIPS:
            raise SpecError(where, v, "none or residual (dense skips change the widths of later layers)")
    elif key == "norm":
        check_choice(where, v, NORMS)
    elif key == "activation":
        check_choice(where, v, ACTIVATIONS)
    return float(v) if key in FLOAT_KEYS else v


TRAIN_KEYS = ("lr", "momentum", "weight_decay", "clip_norm", "optimizer")  # fields of TrainSpec
LAYER_KEYS = ("dropout", "frozen", "skip", "norm", "activation")  # per hidden layer
KEYS = TRAIN_KEYS + LAYER_KEYS
FLOAT_KEYS = ("lr", "momentum", "weight_decay", "clip_norm", "dropout")
STRUCTURAL = ("skip", "norm", "activation")  # keys that change modules (and re-arm the probe)


@dataclass(frozen=True)
class Change:
    """What to set: ``Change.of(skip="residual", layers=[3, 4])``. Validated on construction."""

    set: tuple[tuple[str, Any], ...]  # (key, value) pairs in KEYS order
    layers: tuple[int, ...] | None = None  # 1-based hidden layers for layer keys; None = all

    def __post_init__(self):
        if not isinstance(self.set, tuple) or not self.set:
            raise SpecError("set", self.set, "at least one of " + ", ".join(KEYS))
        pairs = dict(self.set)
        unknown = sorted(k for k in pairs if k not in KEYS)
        if unknown:
            raise SpecError(f"set.{unknown[0]}", pairs[unknown[0]], "a key among " + ", ".join(KEYS))
        ordered = tuple((k, _check_value(k, pairs[k])) for k in KEYS if k in pairs)
        object.__setattr__(self, "set", ordered)
        if self.layers is not None:
            if isinstance(self.layers, (list, tuple)) and self.layers:
                layers = tuple(self.layers)
                for n in layers:
                    check_int("layers", n, 1, 1_000_000)
                object.__setattr__(self, "layers", tuple(sorted(set(layers))))
            else:
                raise SpecError("layers", self.layers, "a non-empty list of layer numbers (1 = input side)")

    @classmethod
    def of(cls, *, layers=None, **values) -> "Change":
        return cls(tuple(values.items()), tuple(layers) if layers is not None else None)

    @property
    def values(self) -> dict:
        return dict(self.set)

    @property
    def structural(self) -> bool:
        return any(k in STRUCTURAL for k, _ in self.set)

    def to_dict(self) -> dict:
        d: dict = {"set": dict(self.set)}
        if self.layers is not None:
            d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "change") -> "Change":
        if not isinstance(d, dict):
            raise SpecError(where, d, "a table with 'set' (and optionally 'layers')")
        unknown = sorted(set(d) - {"set", "layers", "step"})
        if unknown:
            raise SpecError(f"{where}.{unknown[0]}", d[unknown[0]], "one of step, set, layers")
        s = d.get("set")
        if not isinstance(s, dict):
            raise SpecError(f"{where}.set", s, "a table such as {skip = \"residual\"}")
        layers = d.get("layers")
        try:
            return cls(tuple(s.items()), tuple(layers) if isinstance(layers, list) else layers)
        except SpecError as e:
            raise SpecError(f"{where}.{e.field}", e.value, e.allowed) from None


@dataclass(frozen=True)
class Event:
    """A change planned at a step boundary (after ``step`` steps)."""

    step: int  # applied after this many steps (0 = before the first)
    change: Change

    def __post_init__(self):
        check_int("step", self.step, 0, 1_000_000)
        if not isinstance(self.change, Change):
            raise SpecError("change", self.change, "a Change")

    def to_dict(self) -> dict:
        return {"step": self.step, **self.change.to_dict()}

    @classmethod
    def from_dict(cls, d: Any, where: str = "events[0]") -> "Event":
        if not isinstance(d, dict) or "step" not in d:
            raise SpecError(where, d, "a table with step and set, e.g. step = 200, set = {skip = \"residual\"}")
        try:
            check_int("step", d["step"], 0, 1_000_000)
        except SpecError as e:
            raise SpecError(f"{where}.step", e.value, e.allowed) from None
        return cls(d["step"], Change.from_dict(d, where))


# ----------------------------------------------------------------------------- applying to a spec
@dataclass(frozen=True)
class RunState:
    """A run's spec now (after its changes so far) and which hidden layers are frozen (1-based)."""

    spec: Any  # a RunSpec, without events
    frozen: frozenset = field(default_factory=frozenset)


def _layer_value(state: RunState, i: int, key: str):
    return i in state.frozen if key == "frozen" else getattr(state.spec.net.layers[i - 1], key)


def _summary(values: list) -> Any:
    """One value if every chosen layer had it, else the list."""
    return values[0] if all(v == values[0] for v in values) else values


def advance(state: RunState, change: Change) -> tuple[RunState, list[dict]]:
    """The state after ``change`` and its diffs ``[{"what", "from", "to"}]``; raises SurgeryError."""
    spec, depth = state.spec, state.spec.net.depth
    vals = change.values
    train_vals = {k: v for k, v in vals.items() if k in TRAIN_KEYS}
    layer_vals = {k: v for k, v in vals.items() if k in LAYER_KEYS}
    if change.layers is not None and not layer_vals:
        raise SurgeryError("layers", list(change.layers), "only with a layer setting ("
                           + ", ".join(LAYER_KEYS) + "); optimiser settings apply to the whole net")
    layers = change.layers or tuple(range(1, depth + 1))
    bad = [n for n in layers if not 1 <= n <= depth]
    if bad:
        raise SurgeryError("layers", bad[0], f"a layer from 1 to {depth} (this net has {depth} hidden layers)")
    diffs: list[dict] = []
    for k, v in train_vals.items():
        old = getattr(spec.train, k)
        if old != v:
            diffs.append({"what": k, "from": old, "to": v})
    new_layers = list(spec.net.layers)
    frozen = set(state.frozen)
    for k, v in layer_vals.items():
        olds = [_layer_value(state, n, k) for n in layers]
        if k == "norm" and v != "none":
            has = [n for n, o in zip(layers, olds) if o != "none"]
            if has:
                raise SurgeryError("norm", v, f"a layer without a norm: layer {has[0]} already has "
                                   f"{olds[layers.index(has[0])]} (remove it first)")
        if k == "skip":
            dense = [n for n, o in zip(layers, olds) if o == "dense"]
            if dense:
                raise SurgeryError("skip", v, f"a layer without a dense skip (layer {dense[0]} concatenates "
                                   "its input; its width cannot change live)")
        changed = [n for n, o in zip(layers, olds) if o != v]
        if not changed:
            continue
        diffs.append({"what": k, "from": _summary([o for o in olds if o != v]), "to": v,
                      "layers": changed if len(changed) < depth else None})
        for n in changed:
            if k == "frozen":
                (frozen.add if v else frozen.discard)(n)
            else:
                new_layers[n - 1] = replace(new_layers[n - 1], **{k: v})
    if not diffs:
        raise SurgeryError("set", dict(change.set), "a value different from the current one (nothing would change)")
    new_spec = replace(spec, net=replace(spec.net, layers=tuple(new_layers)),
                       train=replace(spec.train, **train_vals))
    return RunState(new_spec, frozenset(frozen)), diffs


def label(diffs: list[dict]) -> str:
    """A marker's text, e.g. ``skip: none→residual``."""
    def short(v):
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, list):
            return "mixed"
        return str(v)

    return ", ".join(f"{d['what']}: {short(d['from'])}→{short(d['to'])}" for d in diffs)


__all__ = ["Change", "Event", "KEYS", "LAYER_KEYS", "LIVE_SKIPS", "RunState", "STRUCTURAL", "SurgeryError",
           "TRAIN_KEYS", "advance", "label"]
