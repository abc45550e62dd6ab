"""Sweeps: start a phase-diagram sweep, watch its heatmap fill in, open a cell in the Lab.

Thin: labcore.sweep plans and runs (ui.sweeps holds the one background sweep), the store lists
points, labcore.figures.phase draws. Session state holds only UI choices.
"""
from __future__ import annotations

import math

import streamlit as st

import ui.strings_sweeps  # noqa: F401
from labcore.core.errors import SpecError
from labcore.figures.phase import COLOURS, measured_boundary, phase_diagram
from labcore.figures.theory import depth_scale
from labcore.spec.codec import to_url
from labcore.store import sweeps as ss_store
from labcore.sweep import SweepPlan, lr_plan, parse_values, phase_plan
from ui import resources, slots, state
from ui.keys import Keys
from ui.i18n import t
from ui.sweeps import MAX_POINT_STEPS, MAX_POINTS, runner

state.ensure_router()
lang = state.lang()
ss = st.session_state
ss.setdefault("sw_pick", None)
if "sw_pick_next" in ss:  # a choice made after the picker was drawn (a new or deleted sweep)
    ss["sw_pick"] = ss.pop("sw_pick_next")


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


def _eta(s) -> str:
    if s is None or not math.isfinite(s):
        return L("sw.eta_unknown")
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


st.title(L("sw.title"))
st.caption(L("sw.intro"))
store = resources.run_store()
if store is None:
    st.error(L("sw.error", error="run store unavailable"))
    st.stop()
run = runner()

# ----------------------------------------------------------------------------- the form
with st.form("sw_form"):
    c1, c2, c3 = st.columns(3)
    kind = c1.radio(L("sw.kind"), ["phase", "lr"], format_func=lambda k: L(f"sw.kind.{k}"), key="sw_kind")
    activation = c1.selectbox(L("sw.activation"), ["tanh", "relu", "sigmoid", "leaky_relu"], key="sw_activation")
    depths = c2.text_input(L("sw.depths"), "2:12:2", key="sw_depths")
    gains = c2.text_input(L("sw.gains"), "0.5:2.5:0.5", key="sw_gains")
    lrs = c2.text_input(L("sw.lrs"), "0.001,0.01,0.1", key="sw_lrs")
    steps = c3.number_input(L("sw.steps"), 1, 5000, 100, key="sw_steps")
    seeds = c3.text_input(L("sw.seeds"), "0", key="sw_seeds")
    width = c3.number_input(L("sw.width"), 2, 512, 32, key="sw_width")
    submitted = st.form_submit_button(L("sw.start"), type="primary", disabled=run.running)

if submitted:
    try:
        sd = tuple(parse_values(seeds, L("sw.seeds")))
        if kind == "phase":
            plan = phase_plan(activation, parse_values(depths, L("sw.depths")), parse_values(gains, L("sw.gains")),
                              int(steps), width=int(width), seeds=sd)
        else:
            plan = lr_plan(activation, parse_values(depths, L("sw.depths")), parse_values(lrs, L("sw.lrs")),
                           int(steps), width=int(width), seeds=sd)
        plan.check()
        why = run.guard(plan)
        if why == "points":
            st.error(L("sw.too_many_points", points=plan.size, max=MAX_POINTS))
        elif why == "steps":
            st.error(L("sw.too_many_steps", points=plan.size, steps=plan.steps, max=MAX_POINT_STEPS))
        elif not run.start(plan, store):
            st.warning(L("sw.busy"))
        else:
            ss["sw_pick"] = run.sweep_id
    except SpecError as e:
        st.error(L("sw.bad", field=e.field, allowed=e.allowed, value=e.value))

# ----------------------------------------------------------------------------- which sweep
sweeps = ss_store.list_sweeps(store)
if not sweeps:
    st.info(L("sw.none"))
    st.stop()
ids = [s["id"] for s in sweeps]
if ss["sw_pick"] not in ids:
    ss["sw_pick"] = ids[0]
names = {s["id"]: f"#{s['id']} {s['name']} ({s['done']}/{s['total']}, {s['status']})" for s in sweeps}
pick = st.selectbox(L("sw.pick"), ids, format_func=names.get, key="sw_pick")
record = next(s for s in sweeps if s["id"] == pick)
plan = SweepPlan.from_dict(record["plan"])
meta = dict(plan.meta)
c1, c2 = st.columns([3, 1])
colour = c1.radio(L("sw.colour"), list(COLOURS), format_func=lambda c: L(f"sw.col.{c}"), horizontal=True,
                  key="sw_colour")
k = c2.number_input(L("sw.k"), 0.0, 20.0, 6.0, 0.5, key="sw_k")
labels = {c: L(f"sw.col.{c}") for c in COLOURS} | {a: L(f"sw.axis.{a}") for a in ("depth", "gain", "lr")}
labels |= {"theory": L("sw.theory"), "theory_grad": L("sw.theory_grad"), "title": L("sw.fig_title")}
live = run.running and run.sweep_id == pick


@st.fragment(run_every=1.0 if live else None)
@slots.gated
def heatmap() -> None:
    if live and run.running:
        p = run.progress
        if p is None:
            st.progress(0.0, text=L("sw.starting"))
        else:
            st.progress(min(1.0, p.done / max(1, p.total)),
                        text=L("sw.progress", done=p.done, total=p.total, failed=p.failed, eta=_eta(p.eta)))
        if st.button(L("sw.stop"), key="sw_stop"):
            run.stop()
    elif live:  # it just ended: one full rerun to stop polling
        st.rerun()
    if run.error and run.sweep_id == pick:
        st.error(L("sw.error", error=run.error))
    df = ss_store.sweep_points(store, pick)
    axes = dict(plan.axes)
    x, y = meta.get("x", "gain"), meta.get("y", "depth")
    if x not in axes or y not in axes:
        x, y = (list(axes) + [None, None])[1], list(axes)[0]
    fig = phase_diagram(df, x, y, colour, activation=meta.get("activation", ""), sigma_b2=meta.get("sigma_b2", 0.0),
                        k=k if meta.get("kind") == "phase" else None, total_shape=(axes[x], axes[y]), labels=labels)
    # Transparent markers over the finished cells: a click selects one, and the Lab opens it.
    done = df.dropna(subset=["run_id"]).drop_duplicates(subset=[x, y]) if len(df) else df
    if len(done):
        heat = fig.data[0]
        fig.add_scatter(x=done[x].tolist(), y=done[y].tolist(), mode="markers", customdata=done["run_id"].tolist(),
                        marker={"size": 26, "symbol": "square", "opacity": 0.01, "color": "white"},
                        showlegend=False, hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>run %{{customdata}}<extra></extra>",
                        name="cells")
        heat.hoverinfo = "skip"  # the markers answer hover and clicks
    fig.update_layout(clickmode="event+select", dragmode=False)
    ev = st.plotly_chart(fig, key=f"sw_heat_{pick}_{colour}", on_select="rerun", selection_mode="points",
                         config={"displaylogo": False})
    st.caption(L("sw.click"))
    sel = (ev or {}).get("selection", {}).get("points", []) if ev else []
    if sel:
        cd = sel[0].get("customdata")
        rid = int(cd[0] if isinstance(cd, list) else cd) if cd is not None else None
        if rid is not None and rid >= 0:
            code = to_url(store.spec(rid))
            ss[Keys.OPEN_SPEC] = code
            st.switch_page("pages/lab.py", query_params={"spec": code})
    if meta.get("kind") == "phase" and len(df):
        b = measured_boundary(df)
        rows = [{"σ_w": g, L("sw.axis.depth"): b[g],
                 f"{k:g}·ξ": round(k * depth_scale(meta["activation"], g * g, meta["sigma_b2"]), 1)} for g in b]
        st.caption(L("sw.boundary"))
        st.dataframe(rows, hide_index=True)
    st.download_button(L("sw.export"), df.to_csv(index=False).encode(), file_name=f"sweep-{pick}.csv",
                       mime="text/csv", key="sw_export")


heatmap()
c1, c2 = st.columns(2)
if not live and record["done"] < record["total"] and c1.button(L("sw.resume"), key="sw_resume", disabled=run.running):
    run.start(plan, store, sweep_id=pick)
    st.rerun()
if not live and c2.button(L("sw.delete"), key="sw_delete"):
    n = ss_store.delete_sweep(store, pick)
    ss["sw_pick_next"] = None
    st.toast(L("sw.deleted", id=pick, n=n))
    st.rerun()
