"""The Lab (home page): stack layers, press Train, watch the gradients flow.

Thin by design, and read top to bottom: widgets (drawn from the form table, ui/form.py) ->
the RunSpec they describe (ui.form.controls_to_spec, errors under their controls) -> the run
panel (ui/lab_live.py, a fragment that trains the spec with labcore.train.jobs and draws it).
Which configuration the controls start from (link, other page, preset) is ui/lab_session.py's.
"""
from __future__ import annotations

import streamlit as st

import ui.strings_lab  # noqa: F401  (registers the page's strings)
from labcore.data.datasets import DATASETS
from labcore.figures import setup_plots
from labcore.spec.choices import ACTIVATIONS, NORMS, SKIPS
from ui import form, lab_live, lab_session, state, surgery, widgets
from ui.i18n import t
from ui.keys import Keys
from ui.safe import md

state.ensure_router()  # a first request straight to this page still gets the sidebar

lang = state.lang()
ss = st.session_state


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


PRESETS = lab_session.presets()
lab_session.start()  # a link or another page may ask for a configuration; else the controls stay

# ----------------------------------------------------------------------------- widgets
st.title(L("lab.title"))
st.caption(L("lab.subtitle"))
if ss.get(Keys.URL_ERROR):
    st.error(L("err.url", error=md(ss[Keys.URL_ERROR])), icon="⚠️")  # it quotes the link: never markup
    if st.button(L("err.url_dismiss"), key=Keys.URL_DISMISS):
        ss.pop(Keys.URL_ERROR, None)
        st.rerun()

c_preset, c_desc = st.columns([1, 3], vertical_alignment="bottom")
c_preset.selectbox(L("lab.preset"), [lab_session.CUSTOM] + list(PRESETS), key=Keys.PRESET, persist_state="session",
                   on_change=lab_session.on_preset,
                   format_func=lambda n: L("lab.preset_custom") if n == lab_session.CUSTOM else n)
if ss[Keys.PRESET] in PRESETS:
    key = f"preset.{ss[Keys.PRESET]}"  # translated description, else the preset file's own
    c_desc.info(L(key) if L(key) != key else PRESETS[ss[Keys.PRESET]][0], icon=":material/info:")

slots: dict = {}  # control -> the placeholder under it for its error
build, side = st.columns([3, 2], gap="large")
with build:
    st.subheader(L("lab.stack"))
    slots |= form.draw_group("stack", lang)
    n_over = len(ss[Keys.OVERRIDES])
    # A stable key: the label changes with the count, and without a key the expander was a new
    # element after every edit (it collapsed).
    # Lazy: the table (a data grid, ~1.4 MB of the browser's JavaScript, pandas on the server) is
    # built only while the expander is open; opening it reruns the page (on_change="rerun").
    layers_exp = st.expander(L("lab.layers_one" if n_over <= 1 else "lab.layers", n=n_over), expanded=False,
                             key="lab_layers_expander", on_change="rerun")
    with layers_exp:
        layers_box = st.container()  # filled after the Train button
        slots["layers"] = st.empty()
    st.subheader(L("lab.training"))
    slots |= form.draw_group("training", lang)
    with st.expander(L("lab.advanced")):
        slots |= form.draw_group("advanced", lang)
with side:
    st.subheader(L("lab.data"))
    slots |= form.draw_group("data", lang)
    preview_box = st.container()
    st.subheader(L("lab.diagram"))
    diagram_box = st.container()

# ----------------------------------------------------------------------------- spec + errors
spec, errors = form.controls_to_spec(form.control_values())
planned_error = errors.pop("events", None)  # a loaded spec's [[events]] that no longer fit (not blocking)
loose = []  # errors of controls that are not on this page (seed, device in the sidebar)
for name, err in errors.items():
    if name in slots:
        widgets.show_error(slots[name], err, name, lang)
    else:
        loose.append((name, err))
ss[Keys.SPEC] = spec
code = lab_session.publish(spec) if spec is not None else None

# ----------------------------------------------------------------------------- run panel
st.divider()
if spec is None:
    st.error(L("err.fix_first"), icon="⚠️")
    for name, err in loose:
        widgets.show_error(st, err, name, lang)
ss[Keys.RUN_NAME] = lab_session.run_name(L("run.custom"))
lab_live.panel()  # action bar + live view: a fragment of its own (ui/lab_live.py)

# ----------------------------------------------------------------------------- pictures
# Drawn after the run panel, into the places kept for them above: the Train button reaches the
# browser first, and what is slow on a server's first page (torch for the data, pandas for the
# table, plotly for the pictures) comes after it (bench/page_open.py).
if layers_exp.open:
    with layers_box:
        form.layer_table(lang)
labels = widgets.plot_labels(lang)
if spec is not None:
    with diagram_box:
        names = {**{k: L(f"act.{k}") for k in ACTIVATIONS}, **{k: L(f"norm.{k}") for k in NORMS},
                 **{k: L(f"skip.{k}") for k in SKIPS}, "changed": L("diagram.changed")}
        widgets.cached_chart("diagram", (code, lang), lambda: setup_plots.stack_diagram(
            spec.net.layers, labels=labels, names=names, raw=True), key=Keys.DIAGRAM)
    with preview_box:
        kind = DATASETS[spec.train.data.name].kind
        try:
            with st.spinner(L("lab.loading_data")):
                from labcore.data.tensors import load_arrays  # torch: here, after the Train button

                xtr, ytr, _, _ = load_arrays(spec.train.data, spec.train.seed)
            widgets.cached_chart("preview", (code, lang, "p"), lambda: setup_plots.data_preview(
                kind, xtr, ytr, labels=labels, raw=True), key=Keys.PREVIEW)
        except Exception as e:  # a data set that cannot be generated here: say so, keep going
            st.error(L("err.data", error=md(f"{type(e).__name__}: {e}")), icon="⚠️")
else:
    diagram_box.caption(L("lab.fix_first"))
with diagram_box:
    surgery.planned_box(spec, planned_error)

