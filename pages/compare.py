"""Compare: 2-6 stored runs side by side, all charts driven by one step slider.

Gradient norm against depth overlaid at the chosen step, loss/accuracy overlaid, layer x step
heatmaps side by side plus the difference of two, with runs of different depths aligned by
relative depth (or by layer number). Thin: the store loads, labcore.figures.compare draws.
"""
from __future__ import annotations

import streamlit as st

import ui.strings_compare  # noqa: F401
import ui.strings_runs  # noqa: F401  (status names)
from labcore.figures import compare as cp
from labcore.figures.events import mark_events
from labcore.store.db import StoreError
from ui import resources, state, widgets
from ui.safe import md
from ui.i18n import t

state.ensure_router()  # a first request straight to this page still gets the sidebar

MAX_RUNS = 6
lang = state.lang()
ss = st.session_state


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


@st.cache_resource(show_spinner=False, max_entries=24)
def _metrics(path: str, run_id: int, steps: int, status: str):
    """A run's metrics, reloaded only when it has new steps or a new status (never mutated)."""
    return resources.run_store().metrics(run_id)


st.title(L("cmp.title"))
st.caption(L("cmp.intro"))
store = resources.run_store()
if store is None:
    st.warning(L("cmp.no_store"))
    st.stop()
try:
    store.recover()
    runs = store.runs_frame()
except StoreError as e:
    st.error(md(e), icon="⚠️")
    st.stop()
if len(runs) < 2:
    st.info(L("cmp.too_few_runs"))
    st.stop()

info = {int(r.id): r for r in runs.itertuples()}
ids = list(info)


def label(i: int) -> str:
    r = info[i]
    return f"#{i} {r.name}" if r.name else f"#{i}"


if "cmp_runs" not in ss:  # from a shared link (?runs=3,5), else the two newest runs
    asked = [int(x) for x in str(st.query_params.get("runs", "")).split(",") if x.strip().isdigit()]
    ss["cmp_runs"] = [i for i in asked if i in info][:MAX_RUNS] or ids[:2]
ss["cmp_runs"] = [i for i in ss["cmp_runs"] if i in info]  # deleted meanwhile
picked = st.multiselect(L("cmp.pick"), ids, key="cmp_runs", max_selections=MAX_RUNS,
                        format_func=lambda i: f"{label(i)} · {L('runs.status.' + info[i].status)} · "
                                              f"{info[i].steps} {L('cmp.step').lower()}")
st.query_params["runs"] = ",".join(map(str, picked))
if len(picked) < 2:
    st.info(L("cmp.need_two"))
    st.stop()

try:
    chosen = [(label(i), _metrics(str(store.path), i, int(info[i].steps), info[i].status)) for i in picked]
except StoreError as e:
    st.error(md(e), icon="⚠️")
    st.stop()
plot_labels = {k: t(f"plotc.{k}", lang) for k in cp.LABELS}

c1, c2, c3 = st.columns([2, 2, 5], vertical_alignment="bottom")
metric = c1.radio(L("cmp.metric"), ["grad_norm", "out_grad_norm"], key="cmp_metric",
                  format_func=lambda m: L(f"cmp.metric.{m}"))
align = c2.radio(L("cmp.align"), list(cp.ALIGNS), key="cmp_align", format_func=lambda a: L(f"cmp.align.{a}"))
lo, hi = cp.step_bounds(chosen)
if ss.get("cmp_step") is None or not lo <= ss["cmp_step"] <= hi:
    ss["cmp_step"] = hi
if hi > lo:
    step = c3.slider(L("cmp.step"), min_value=lo, max_value=hi, key="cmp_step")
else:
    step = hi
    c3.caption(f"{L('cmp.step')}: {step}")

st.subheader(L("cmp.profiles"))
widgets.chart(cp.profiles_at_step(chosen, step, metric, align, labels=plot_labels, raw=True), key="cmp_profiles")
try:  # live-surgery events, drawn as labelled markers on the step axes
    events = {i: store.events(i) for i in picked}
except (StoreError, KeyError):
    events = {}
st.subheader(L("cmp.curves"))
curves = cp.curves(chosen, step, labels=plot_labels, raw=True)
for i in picked:
    mark_events(curves, events.get(i, []), prefix=f"{label(i)}: ")
widgets.chart(curves, key="cmp_curves")
st.subheader(L("cmp.heatmaps"))
heats = cp.heatmaps(chosen, step, metric, align, labels=plot_labels, raw=True)
for k, i in enumerate(picked):
    sx = "" if k == 0 else str(k + 1)
    mark_events(heats, events.get(i, []), axes=[(f"x{sx}", f"y{sx}")])
widgets.chart(heats, key="cmp_heatmaps")

st.subheader(L("cmp.difference"))
d1, d2 = st.columns(2)
if ss.get("cmp_diff_a") not in picked:
    ss["cmp_diff_a"] = picked[0]
if ss.get("cmp_diff_b") not in picked:
    ss["cmp_diff_b"] = picked[1]
a = d1.selectbox(L("cmp.diff_a"), picked, key="cmp_diff_a", format_func=label)
b = d2.selectbox(L("cmp.diff_b"), picked, key="cmp_diff_b", format_func=label)
by_id = dict(zip(picked, chosen))
st.caption(L("cmp.diff_help"))
widgets.chart(cp.difference(by_id[a], by_id[b], step, metric, align, labels=plot_labels, raw=True),
              key="cmp_difference")
