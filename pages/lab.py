"""The Lab (home page): stack layers, press Train, watch the gradients flow.

Thin by design: widgets -> ui.state builds the RunSpec -> labcore.train.jobs trains it in the
background -> the run panel (ui/lab_live.py, a fragment) polls the job and draws it.
"""
from __future__ import annotations


import pandas as pd
import streamlit as st

import ui.strings_lab  # noqa: F401  (registers the page's strings)
from labcore.figures import plots
from labcore.spec.codec import from_url, to_url
from labcore.data.tensors import load_arrays
from labcore.data.datasets import DATASETS
from labcore.presets import list_presets
from labcore.spec.choices import ACTIVATIONS, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.mlp import MAX_WIDTH, SpecError
from labcore.spec.twins import VARIANTS
from ui import lab_live, state, widgets
from ui.i18n import t

state.ensure_router()  # a first request straight to this page still gets the sidebar

lang = state.lang()
ss = st.session_state


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


@st.cache_data(show_spinner=False)
def _presets() -> dict:
    return {p.name: (p.description, to_url(p.spec)) for p in list_presets()}


PRESETS = _presets()
CUSTOM = "—"

# ----------------------------------------------------------------------------- initial state
_written = ss.setdefault("lab_written", [])  # link codes this page wrote itself (never reloaded)
_qp_spec = st.query_params.get("spec")
if ss.get("lab_open_spec") or (_qp_spec and _qp_spec != ss.get("lab_url") and _qp_spec not in _written):
    # A link (or another page) asks for a configuration: load it once, report a bad one.
    code = ss.pop("lab_open_spec", None) or st.query_params.get("spec")
    ss["lab_url"] = code
    try:
        spec = from_url(code)
        state.apply_spec(spec)
        ss["lab_preset"] = next((n for n, (_, u) in PRESETS.items() if u == to_url(spec)), CUSTOM)
        if (ss.get(state.SEED), ss.get(state.DEVICE)) != (spec.train.seed, spec.train.device):
            state.request_sidebar(seed=spec.train.seed, device=spec.train.device)
            st.rerun()
    except SpecError as e:
        ss["lab_url_error"] = str(e)
if "lab_depth" not in ss:
    first = next(iter(PRESETS))
    state.apply_spec(from_url(PRESETS[first][1]))
    ss["lab_preset"] = first
tw = st.query_params.get("twin")
ss.setdefault("lab_twin", tw if tw in VARIANTS else "none")
for k, v in (("lab_jobs", []), ("lab_overrides", {}), ("lab_editor_rev", 0), ("lab_hist_layer", None),
             ("lab_depth_metric", lab_live.DEFAULT_DEPTH_METRIC)):
    ss.setdefault(k, v)


# ----------------------------------------------------------------------------- callbacks
def _on_preset() -> None:
    name = ss["lab_preset"]
    if name in PRESETS:
        state.apply_spec(from_url(PRESETS[name][1]))


def _clear_override(col: str):
    def cb() -> None:  # a quick control sets the whole stack: its column's overrides go
        ss["lab_overrides"] = {i: {k: v for k, v in o.items() if k != col}
                               for i, o in ss["lab_overrides"].items() if any(k != col for k in o)}
        ss["lab_editor_rev"] += 1
    return cb


def _on_depth() -> None:
    d = ss.get("lab_depth")
    if isinstance(d, int):
        ss["lab_overrides"] = {i: o for i, o in ss["lab_overrides"].items() if i < d}
    ss["lab_editor_rev"] += 1


def _on_table() -> None:
    edits = ss.get(f"lab_layers_{ss['lab_editor_rev']}", {}).get("edited_rows", {})
    base = {c: ss[f"lab_{c}"] for c in state.LAYER_COLS}
    over = {i: dict(o) for i, o in ss["lab_overrides"].items()}
    for row, changes in edits.items():
        o = over.setdefault(int(row), {})
        for col, val in changes.items():
            if col not in base:
                continue
            val = int(val) if col == "width" and val is not None else val
            if val is None or val == base[col]:
                o.pop(col, None)
            else:
                o[col] = val
    ss["lab_overrides"] = {i: o for i, o in over.items() if o}
    ss["lab_editor_rev"] += 1


# ----------------------------------------------------------------------------- page
st.title(L("lab.title"))
st.caption(L("lab.subtitle"))
if ss.get("lab_url_error"):
    st.error(L("err.url", error=ss["lab_url_error"]), icon="⚠️")
    if st.button(L("err.url_dismiss"), key="lab_url_dismiss"):
        ss.pop("lab_url_error", None)
        st.rerun()

slots: dict = {}


def slot(name: str):
    slots[name] = st.empty()


c_preset, c_desc = st.columns([1, 3], vertical_alignment="bottom")
c_preset.selectbox(L("lab.preset"), [CUSTOM] + list(PRESETS), key="lab_preset", persist_state="session", on_change=_on_preset,
                   format_func=lambda n: L("lab.preset_custom") if n == CUSTOM else n)
if ss["lab_preset"] in PRESETS:
    key = f"preset.{ss['lab_preset']}"  # translated description, else the preset file's own
    c_desc.info(L(key) if L(key) != key else PRESETS[ss["lab_preset"]][0], icon=":material/info:")

build, side = st.columns([3, 2], gap="large")
with build:
    st.subheader(L("lab.stack"))
    c = st.columns(4)
    with c[0]:
        st.number_input(L("ctl.depth"), step=1, key="lab_depth", persist_state="session", on_change=_on_depth, help=L("help.depth"))
        slot("depth")
    with c[1]:
        st.number_input(L("ctl.width"), step=1, key="lab_width", persist_state="session", on_change=_clear_override("width"),
                        help=L("help.width", max=MAX_WIDTH))
        slot("width")
    with c[2]:
        st.selectbox(L("ctl.activation"), list(ACTIVATIONS), key="lab_activation", persist_state="session",
                     on_change=_clear_override("activation"))
        slot("activation")
    with c[3]:
        st.selectbox(L("ctl.norm"), list(NORMS), key="lab_norm", persist_state="session", on_change=_clear_override("norm"),
                     format_func=lambda k: L(f"norm.{k}"))
        slot("norm")
    c = st.columns(4)
    with c[0]:
        st.selectbox(L("ctl.skip"), list(SKIPS), key="lab_skip", persist_state="session", on_change=_clear_override("skip"),
                     format_func=lambda k: L(f"skip.{k}"))
        slot("skip")
    with c[1]:
        st.number_input(L("ctl.dropout"), step=0.05, key="lab_dropout", persist_state="session", format="%.2f")
        slot("dropout")
    with c[2]:
        st.selectbox(L("ctl.init"), list(INITS), key="lab_init", persist_state="session", format_func=lambda k: L(f"init.{k}"))
        slot("init")
    with c[3]:
        st.number_input(L("ctl.gain"), step=0.1, key="lab_gain", persist_state="session", format="%.3g")
        slot("gain")

    with st.expander(L("lab.layers", n=len(ss["lab_overrides"])), expanded=False):
        depth_ok = isinstance(ss["lab_depth"], int) and 1 <= ss["lab_depth"] <= 1000
        if depth_ok:
            rows = []
            for i in range(ss["lab_depth"]):
                o = ss["lab_overrides"].get(i, {})
                rows.append({"layer": f"h{i + 1}", **{col: o.get(col, ss[f"lab_{col}"]) for col in state.LAYER_COLS}})
            st.data_editor(
                pd.DataFrame(rows), key=f"lab_layers_{ss['lab_editor_rev']}", on_change=_on_table,
                hide_index=True, num_rows="fixed", disabled=["layer"], height=min(420, 38 + 35 * len(rows)),
                column_config={
                    "layer": st.column_config.TextColumn(L("ctl.layer")),
                    "width": st.column_config.NumberColumn(L("ctl.width"), min_value=1, max_value=MAX_WIDTH, step=1),
                    "activation": st.column_config.SelectboxColumn(L("ctl.activation"), options=list(ACTIVATIONS)),
                    "norm": st.column_config.SelectboxColumn(L("ctl.norm"), options=list(NORMS)),
                    "skip": st.column_config.SelectboxColumn(L("ctl.skip"), options=list(SKIPS)),
                })
            st.caption(L("lab.layers_help"))
            if ss["lab_overrides"] and st.button(L("lab.layers_clear"), key="lab_layers_clear"):
                ss["lab_overrides"] = {}
                ss["lab_editor_rev"] += 1
                st.rerun()
        slot("layers")

    st.subheader(L("lab.training"))
    c = st.columns(4)
    with c[0]:
        st.selectbox(L("ctl.optimizer"), list(OPTIMIZERS), key="lab_optimizer", persist_state="session")
        slot("optimizer")
    with c[1]:
        st.text_input(L("ctl.lr"), key="lab_lr", persist_state="session", help=L("help.lr"))
        slot("lr")
    with c[2]:
        st.number_input(L("ctl.batch"), step=1, key="lab_batch", persist_state="session")
        slot("batch")
    with c[3]:
        st.number_input(L("ctl.steps"), step=50, key="lab_steps", persist_state="session")
        slot("steps")
    with st.expander(L("lab.advanced")):
        c = st.columns(4)
        for i, (key, label, step) in enumerate((("momentum", "ctl.momentum", 0.05), ("wd", "ctl.wd", 1e-4),
                                                ("l1", "ctl.l1", 1e-5), ("clip", "ctl.clip", 0.5),
                                                ("sigma", "ctl.sigma", 0.01), ("record", "ctl.record", 1),
                                                ("flush", "ctl.flush", 10), ("eval", "ctl.eval", 10))):
            with c[i % 4]:
                st.number_input(L(label), step=step, key=f"lab_{key}", persist_state="session", format="%g" if isinstance(step, float) else "%d")
                slot(key)

with side:
    st.subheader(L("lab.data"))
    c = st.columns(2)
    with c[0]:
        st.selectbox(L("ctl.dataset"), list(DATASETS), key="lab_dataset", persist_state="session", format_func=lambda k: L(f"data.{k}"))
        slot("dataset")
    kind = DATASETS[ss["lab_dataset"]].kind
    with c[1]:
        if kind == "2d":
            st.number_input(L("ctl.noise"), step=0.05, key="lab_noise", persist_state="session", format="%.2f")
            slot("noise")
    if kind == "2d":
        c = st.columns(2)
        with c[0]:
            st.number_input(L("ctl.samples"), step=100, key="lab_samples", persist_state="session")
            slot("samples")
        with c[1]:
            if ss["lab_dataset"] in ("spirals", "gaussians"):
                st.number_input(L("ctl.classes"), step=1, key="lab_classes", persist_state="session")
                slot("classes")
    preview_box = st.container()
    st.subheader(L("lab.diagram"))
    diagram_box = st.container()

# ----------------------------------------------------------------------------- spec + errors
spec, errors = state.controls_to_spec(state.control_values())
loose = []  # errors of controls that are not on this page (seed, device in the sidebar)
for name, err in errors.items():
    if name in slots:
        widgets.show_error(slots[name], err, name, lang)
    else:
        loose.append((name, err))
ss["lab_spec"] = spec
labels = widgets.plot_labels(lang)
if spec is not None:
    code = to_url(spec)
    if st.query_params.get("spec") != code:
        st.query_params["spec"] = code
    if code not in _written:
        _written[:] = _written[-49:] + [code]
    ss["lab_url"] = code
    with diagram_box:
        widgets.cached_chart("diagram", (code, lang), lambda: plots.stack_diagram(spec.net.layers, labels=labels,
                                                                                raw=True), key="lab_diagram")
    with preview_box:
        try:
            with st.spinner(L("lab.loading_data")):
                xtr, ytr, _, _ = load_arrays(spec.train.data, spec.train.seed)
            widgets.cached_chart("preview", (to_url(spec), lang, "p"), lambda: plots.data_preview(
                kind, xtr, ytr, labels=labels, raw=True), key="lab_preview")
        except Exception as e:  # a data set that cannot be generated here: say so, keep going
            st.error(L("err.data", error=f"{type(e).__name__}: {e}"), icon="⚠️")
else:
    diagram_box.caption(L("lab.fix_first"))

# ----------------------------------------------------------------------------- run panel
st.divider()
if spec is None:
    st.error(L("err.fix_first"), icon="⚠️")
    for name, err in loose:
        widgets.show_error(st, err, name, lang)
ss[lab_live.RUN_NAME] = ss["lab_preset"] if ss.get("lab_preset") in PRESETS else L("run.custom")
lab_live.panel()  # action bar + live view: a fragment of its own (ui/lab_live.py)
