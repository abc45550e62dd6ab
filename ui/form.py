"""The Lab's form, from one table: each control of :data:`CONTROLS` names its spec field
(:data:`labcore.spec.fields.FIELDS`: where it lives, how text becomes a value, its choices) and
adds the widget side (widget kind, label, layout group, step and format).

Everything else derives from that table: the widgets the page draws (:func:`draw_group`), the
per-layer table's columns (:data:`LAYER_COLS`, :func:`layer_table`), spec -> widget values
(:func:`spec_to_controls`), widget values -> spec with one error per control
(:func:`controls_to_spec`), and which control shows the error of a spec field (:data:`SLOT`).
The per-layer overrides are changed by small pure reducers (:func:`without_column`,
:func:`within_depth`, :func:`with_edits`) that the widget callbacks apply.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import streamlit as st

from labcore.data.datasets import DATASETS
from labcore.spec.events import Event
from labcore.spec.fields import BY_NAME, Field, section
from labcore.spec.mlp import MAX_DEPTH, DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError, TrainSpec
from ui.i18n import t
from ui.keys import Keys

Values = Mapping[str, Any]  # session key -> widget value


def _two_d(v: Values) -> bool:
    return DATASETS[v[Keys.control("dataset")]].kind == "2d"


def _has_classes(v: Values) -> bool:
    return _two_d(v) and v[Keys.control("dataset")] in ("spirals", "gaussians")


@dataclass(frozen=True)
class Control:
    """One control of the Lab: a spec field and how the page shows it."""

    slot: str  # its name on the page: session key "lab_<slot>", label "ctl.<slot>", message "err.<slot>"
    field: Field
    widget: str | None  # "number" | "text" | "select"; None: no widget on the Lab (kept from the spec)
    group: str = ""  # where the page draws it: "stack", "training", "advanced", "data"
    step: float | None = None  # number inputs
    fmt: str | None = None  # number inputs' printf format
    help: str | None = None  # translation key of the tooltip
    options: str | None = None  # translation prefix of a select's options ("norm" -> "norm.<key>")
    per_layer: bool = False  # a column of the per-layer table too
    when: Callable[[Values], bool] | None = None  # drawn only when this holds
    key: str = ""  # session key; default "lab_<slot>" (the sidebar's seed and device have their own)

    def __post_init__(self):
        if not self.key:
            object.__setattr__(self, "key", Keys.control(self.slot))

    @property
    def label(self) -> str:
        return f"ctl.{self.slot}"

    @property
    def sidebar(self) -> bool:
        return self.key in (Keys.SEED, Keys.DEVICE)

    def to_widget(self, value: Any) -> Any:
        """A spec value as this control's widget holds it."""
        if self.widget == "text":
            return f"{value:g}"
        return float(value) if self.field.kind == "float" else value


def _c(slot: str, field: str, widget: str | None, group: str = "", **kw) -> Control:
    return Control(slot, BY_NAME[field], widget, group, **kw)


CONTROLS: tuple[Control, ...] = (
    _c("depth", "depth", "number", "stack", step=1, help="help.depth"),
    _c("width", "width", "number", "stack", step=1, help="help.width", per_layer=True),
    _c("activation", "activation", "select", "stack", options="act", per_layer=True),
    _c("norm", "norm", "select", "stack", options="norm", per_layer=True),
    _c("skip", "skip", "select", "stack", options="skip", per_layer=True),
    _c("dropout", "dropout", "number", "stack", step=0.05, fmt="%.2f"),
    _c("init", "init", "select", "stack", options="init"),
    _c("gain", "gain", "number", "stack", step=0.1, fmt="%.3g"),
    _c("optimizer", "optimizer", "select", "training", options="opt"),
    _c("lr", "lr", "text", "training", help="help.lr"),
    _c("batch", "batch_size", "number", "training", step=1),
    _c("steps", "steps", "number", "training", step=50),
    _c("momentum", "momentum", "number", "advanced", step=0.05, fmt="%g"),
    _c("wd", "weight_decay", "number", "advanced", step=1e-4, fmt="%g"),
    _c("l1", "l1", "number", "advanced", step=1e-5, fmt="%g"),
    _c("clip", "clip_norm", "number", "advanced", step=0.5, fmt="%g"),
    _c("sigma", "sigma", "number", "advanced", step=0.01, fmt="%g"),
    _c("record", "record_every", "number", "advanced", step=1, fmt="%d"),
    _c("flush", "flush_every", "number", "advanced", step=10, fmt="%d"),
    _c("eval", "eval_every", "number", "advanced", step=10, fmt="%d"),
    _c("dataset", "dataset", "select", "data", options="data"),
    _c("noise", "noise", "number", "data", step=0.05, fmt="%.2f", when=_two_d),
    _c("samples", "n_samples", "number", "data", step=100, when=_two_d),
    _c("classes", "classes", "number", "data", step=1, when=_has_classes),
    _c("test_fraction", "test_fraction", None),  # no widget: kept from the loaded spec
    _c("seed", "seed", None, key=Keys.SEED),  # drawn by the sidebar (app.py)
    _c("device", "device", None, key=Keys.DEVICE),
)
BY_SLOT: dict[str, Control] = {c.slot: c for c in CONTROLS}
# How the page lays each group out: controls per row.
GROUP_COLUMNS = {"stack": 4, "training": 4, "advanced": 4, "data": 2}
# Relative column widths where one label is long (French "Taux d'apprentissage" broke mid-word).
GROUP_WEIGHTS = {"training": [1, 1.45, 1, 1]}
LAYER_COLS: tuple[str, ...] = tuple(c.field.attr for c in CONTROLS if c.per_layer)  # per-layer table columns
# Which control shows the error of each spec field (SpecError.field -> slot).
SLOT: dict[str, str] = {c.field.error_field: c.slot for c in CONTROLS} | {"net.layers": "depth", "net": "depth"}

assert {c.field.name for c in CONTROLS} == set(BY_NAME), "every spec field has a Lab control"


# ----------------------------------------------------------------------------- spec <-> values
def spec_to_controls(spec: RunSpec) -> dict:
    """Widget values (session keys) for a spec; layers that differ from the first become overrides."""
    layers = spec.net.layers
    base = layers[0]
    overrides = {}
    for i, l in enumerate(layers):
        diff = {c: getattr(l, c) for c in LAYER_COLS if getattr(l, c) != getattr(base, c)}
        if diff:
            overrides[i] = diff
    out = {c.key: c.to_widget(c.field.get(spec)) for c in CONTROLS if not c.sidebar}
    out[Keys.OVERRIDES] = overrides
    out[Keys.PLANNED_EVENTS] = [e.to_dict() for e in spec.events]  # [[events]] ride along (ui.surgery)
    return out


def apply_spec(spec: RunSpec) -> None:
    """Put a spec into the Lab's widgets (call before they are drawn, or from a callback)."""
    ss = st.session_state
    for k, v in spec_to_controls(spec).items():
        ss[k] = v
    ss[Keys.EDITOR_REV] = ss.get(Keys.EDITOR_REV, 0) + 1  # the layer table shows the new stack


def control_values() -> dict:
    """The controls' values in this session (session key -> value), overrides included."""
    ss = st.session_state
    return {k: ss.get(k) for k in [c.key for c in CONTROLS] + [Keys.OVERRIDES, Keys.PLANNED_EVENTS]}


def controls_to_spec(values: Values) -> tuple[RunSpec | None, dict[str, SpecError]]:
    """Build the RunSpec from widget values. Returns (spec or None, {slot: error})."""
    errors: dict[str, SpecError] = {}
    parsed: dict[str, Any] = {}
    for c in CONTROLS:  # text -> value, each control's own error
        raw = values.get(c.key)
        try:
            parsed[c.field.name] = c.field.parse(raw)
        except (TypeError, ValueError):
            errors.setdefault(c.slot, SpecError(c.field.error_field, raw, "a number"))

    def attempt(fn, slot_default: str) -> bool:
        """Run ``fn``; a refusal goes to the control that shows its field. True when it passed."""
        try:
            fn()
            return True
        except SpecError as e:
            errors.setdefault(SLOT.get(e.field, slot_default), e)
        except (TypeError, ValueError) as e:
            errors.setdefault(slot_default, SpecError(slot_default, str(e), "a number"))
        return False

    def build(part: str, cls, slot_default: str, *first):
        """Section ``part``'s spec, or None (refused, or one of its values is not even a number)."""
        if any(c.field.section == part and c.field.name not in parsed for c in CONTROLS):
            return None  # already reported by its control
        out = []
        attempt(lambda: out.append(cls(*first, **section(parsed, part))), slot_default)
        return out[0] if out else None

    depth = parsed.get("depth")
    if "depth" not in errors and (not isinstance(depth, int) or isinstance(depth, bool)
                                  or not 1 <= depth <= MAX_DEPTH):
        errors["depth"] = SpecError("net.depth", depth, f"an integer from 1 to {MAX_DEPTH}")
    if "depth" in errors:
        depth = None
    base = build("layer", LayerSpec, "width")
    layers = []
    if base is not None and depth is not None:
        overrides = values.get(Keys.OVERRIDES) or {}
        for i in range(depth):
            o = overrides.get(i) or {}
            if not o:
                layers.append(base)
                continue
            try:
                layers.append(replace(base, **o))
            except SpecError as e:
                errors.setdefault("layers", SpecError(f"layer {i + 1}: {e.field}", e.value, e.allowed))
            except (TypeError, ValueError) as e:
                errors.setdefault("layers", SpecError(f"layer {i + 1}", o, str(e)))
    init = build("init", InitSpec, "gain")
    data = build("data", DataSpec, "dataset")
    train = build("train", TrainSpec, "steps", data) if data is not None else None
    if errors or init is None or train is None or len(layers) != (depth or -1):
        return None, errors
    from labcore.spec.size import check_size
    from labcore.train.device import resolve_device

    spec = RunSpec(NetSpec(tuple(layers), init), train)  # every part is valid: so is the whole
    planned = values.get(Keys.PLANNED_EVENTS) or []
    if planned:  # a loaded spec's live changes; if they no longer fit, the run goes without them
        try:
            spec = replace(spec, events=tuple(Event.from_dict(d, f"events[{i}]") for i, d in enumerate(planned)))
        except SpecError as e:
            errors["events"] = e  # shown by ui.surgery.planned_box, not under a control
    if not attempt(lambda: check_size(spec), "depth"):
        return None, errors
    if not attempt(lambda: resolve_device(spec.train.device), "device"):  # e.g. cuda on a CPU box
        return None, errors
    return spec, errors


# ----------------------------------------------------------------------------- per-layer overrides
def without_column(overrides: dict, col: str) -> dict:
    """The overrides with column ``col`` gone (a quick control set it for the whole stack)."""
    return {i: {k: v for k, v in o.items() if k != col} for i, o in overrides.items() if any(k != col for k in o)}


def within_depth(overrides: dict, depth) -> dict:
    """The overrides of the layers that still exist at ``depth`` (all of them if depth is not a number)."""
    if not isinstance(depth, int):
        return dict(overrides)
    return {i: o for i, o in overrides.items() if i < depth}


def with_edits(overrides: dict, edits: dict, base: dict) -> dict:
    """The overrides after the table's ``edited_rows``: a cell equal to the quick control's value
    (``base``) or emptied is no override; rows left without any are dropped."""
    over = {i: dict(o) for i, o in overrides.items()}
    for row, changes in edits.items():
        o = over.setdefault(int(row), {})
        for col, val in changes.items():
            if col not in base:
                continue
            if val is not None:
                try:
                    val = BY_NAME[col].parse(val)
                except (TypeError, ValueError):
                    pass  # kept as typed: the spec names it
            if val is None or val == base[col]:
                o.pop(col, None)
            else:
                o[col] = val
    return {i: o for i, o in over.items() if o}


def _set_overrides(overrides: dict) -> None:
    ss = st.session_state
    ss[Keys.OVERRIDES] = overrides
    ss[Keys.EDITOR_REV] = ss.get(Keys.EDITOR_REV, 0) + 1  # the table is redrawn from them


def _on_column(col: str) -> Callable[[], None]:
    return lambda: _set_overrides(without_column(st.session_state[Keys.OVERRIDES], col))


def _on_depth() -> None:
    ss = st.session_state
    _set_overrides(within_depth(ss[Keys.OVERRIDES], ss.get(Keys.control("depth"))))


def _on_table() -> None:
    ss = st.session_state
    edits = ss.get(Keys.layers_table(ss[Keys.EDITOR_REV]), {}).get("edited_rows", {})
    base = {col: ss[BY_SLOT[col].key] for col in LAYER_COLS}
    _set_overrides(with_edits(ss[Keys.OVERRIDES], edits, base))


def _on_change(c: Control):
    if c.slot == "depth":
        return _on_depth
    return _on_column(c.field.attr) if c.per_layer else None


# ----------------------------------------------------------------------------- drawing
def draw(c: Control, lang: str) -> None:
    """The control's widget, bound to its session key."""
    label = t(c.label, lang)
    kw = {"key": c.key, "persist_state": "session", "on_change": _on_change(c),
          "help": t(c.help, lang, max=c.field.hi) if c.help else None}
    if c.widget == "number":
        st.number_input(label, step=c.step, format=c.fmt, **kw)
    elif c.widget == "text":
        st.text_input(label, **kw)
    else:
        prefix = c.options
        st.selectbox(label, list(c.field.choices), **kw,
                     format_func=(lambda k: t(f"{prefix}.{k}", lang)) if prefix else str)


def draw_group(group: str, lang: str) -> dict:
    """Draw a group's controls in rows, each with an empty slot under it for its error.

    Returns {slot: container}: a row's controls share the container under the row. A control whose ``when`` fails is not drawn (its error, if any,
    is shown with the run panel); a row with nothing to draw is left out.
    """
    ss = st.session_state
    controls = [c for c in CONTROLS if c.group == group]
    n = GROUP_COLUMNS[group]
    slots = {}
    for start in range(0, len(controls), n):
        row = [c for c in controls[start:start + n]]
        shown = [c.when is None or c.when(ss) for c in row]
        if not any(shown):
            continue
        cols = st.columns(GROUP_WEIGHTS.get(group, n))
        # A row's errors go under the whole row: in a quarter-width column a message wrapped
        # letter by letter ("d'apprentis / sage"). Each message names its field.
        errors = st.container()
        for col, c, show in zip(cols, row, shown):
            if show:
                with col:
                    draw(c, lang)
                slots[c.slot] = errors
    return slots


def layer_table(lang: str) -> None:
    """The per-layer table: one row per hidden layer, a cell differing from the quick controls is an override."""
    ss = st.session_state
    depth = ss[Keys.control("depth")]
    if not (isinstance(depth, int) and 1 <= depth <= MAX_DEPTH):
        return
    overrides = ss[Keys.OVERRIDES]
    rows = [{"layer": f"h{i + 1}", **{col: overrides.get(i, {}).get(col, ss[BY_SLOT[col].key]) for col in LAYER_COLS}}
            for i in range(depth)]

    def column(col: str):
        c = BY_SLOT[col]
        if c.field.kind == "choice":
            fmt = (lambda k, prefix=c.options: t(f"{prefix}.{k}", lang)) if c.options else None
            return st.column_config.SelectboxColumn(t(c.label, lang), options=list(c.field.choices), format_func=fmt)
        return st.column_config.NumberColumn(t(c.label, lang), min_value=c.field.lo, max_value=c.field.hi, step=1)

    import pandas as pd  # here, not at import: the Lab draws this table after its Train button

    st.data_editor(
        pd.DataFrame(rows), key=Keys.layers_table(ss[Keys.EDITOR_REV]), on_change=_on_table,
        hide_index=True, num_rows="fixed", disabled=["layer"], height=min(420, 38 + 35 * len(rows)),
        column_config={"layer": st.column_config.TextColumn(t("ctl.layer", lang)),
                       **{col: column(col) for col in LAYER_COLS}})
    st.caption(t("lab.layers_help", lang))
    if overrides and st.button(t("lab.layers_clear", lang), key=Keys.LAYERS_CLEAR):
        _set_overrides({})
        st.rerun()


__all__ = ["BY_SLOT", "CONTROLS", "Control", "LAYER_COLS", "SLOT", "apply_spec", "control_values",
           "controls_to_spec", "draw", "draw_group", "layer_table", "spec_to_controls", "with_edits",
           "within_depth", "without_column"]
