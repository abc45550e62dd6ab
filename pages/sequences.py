"""Through time: a recurrent net (tanh RNN, LSTM, GRU) on a long-range task, trained live.

Widgets -> RecurrentSpec (validated) -> the shared job manager (twins: one choice changed) ->
the run panel (:mod:`ui.seq_live`) polls the jobs -> :mod:`labcore.figures` draws the through-time
profile ‖∂L/∂h_t‖ (the depth chart, with time steps for layers), the time × step heatmap, the
gates and the loss. The settings live in the URL (``?rnn=<code>&rnn_twin=lstm``).
"""
from __future__ import annotations

import streamlit as st

import ui.strings_lab  # noqa: F401  (buttons, statuses and plot labels shared with the Lab)
import ui.strings_seq  # noqa: F401
from labcore.core.errors import SpecError
from labcore.figures import plots
from labcore.figures.sequence import diagnose_time, gate_stats
from labcore.presets import list_presets
from labcore.spec import codec
from labcore.spec.recurrent import CELLS, RECURRENT_INITS, TASKS, VARIANTS, RecurrentSpec
from ui import resources, state, widgets
from ui.i18n import t
from ui.seq_live import Panel

state.ensure_router()
ss, lang = st.session_state, state.lang()
P = "rnn"  # session-key prefix and URL parameter


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


FIELDS = ("cell", "task", "seq_len", "difficulty", "hidden", "layers", "init", "forget_bias", "clip_norm", "lr", "steps")
PRESETS = {p.name: p for p in list_presets("rnn")}


def _load(spec: RecurrentSpec) -> None:
    ss[f"{P}_base"] = spec  # fields without a widget (batch, cadence...) come from here
    for f in FIELDS:
        ss[f"{P}_{f}"] = getattr(spec, f)


if f"{P}_cell" not in ss:  # first visit: the link's settings, else the first preset's
    start = RecurrentSpec()
    if PRESETS:
        start = next(iter(PRESETS.values())).spec
        ss[f"{P}_run_name"] = next(iter(PRESETS))
        ss[f"{P}_twin"] = (next(iter(PRESETS.values())).claim or {}).get("twin", "none")
    code = st.query_params.get(P)
    if code:
        try:
            start = codec.from_url(code, families=["rnn"])
            ss[f"{P}_run_name"] = ""
        except SpecError as e:
            st.warning(L("seq.bad_input", error=e), icon="⚠️")
    if st.query_params.get(f"{P}_twin") in VARIANTS:
        ss[f"{P}_twin"] = st.query_params[f"{P}_twin"]
    _load(start)


def _on_preset() -> None:
    name = ss.get(f"{P}_preset")
    if name in PRESETS:
        _load(PRESETS[name].spec)
        ss[f"{P}_run_name"] = name
        ss[f"{P}_twin"] = (PRESETS[name].claim or {}).get("twin", ss.get(f"{P}_twin", "none"))


st.title(L("seq.title"))
st.caption(L("seq.subtitle"))
if PRESETS:
    names = ["", *PRESETS]
    st.selectbox(L("seq.preset"), names, key=f"{P}_preset", on_change=_on_preset,
                 format_func=lambda n: f"{n} — {PRESETS[n].description}" if n else L("seq.preset_none"))
c = st.columns(4)
c[0].selectbox(L("seq.cell"), list(CELLS), key=f"{P}_cell", format_func=lambda k: L(f"seq.cell.{k}"))
c[1].selectbox(L("seq.task"), list(TASKS), key=f"{P}_task", format_func=lambda k: L(f"seq.task.{k}"))
c[2].number_input(L("seq.seq_len"), 10, 500, step=10, key=f"{P}_seq_len")
c[3].number_input(L("seq.difficulty"), 0, 32, key=f"{P}_difficulty", help=L("seq.difficulty_help"))
c = st.columns(4)
c[0].number_input(L("seq.hidden"), 4, 1024, step=8, key=f"{P}_hidden")
c[1].number_input(L("seq.layers"), 1, 3, key=f"{P}_layers")
c[2].selectbox(L("seq.init"), list(RECURRENT_INITS), key=f"{P}_init", format_func=lambda k: L(f"seq.init.{k}"))
c[3].number_input(L("seq.forget_bias"), -20.0, 20.0, step=0.5, key=f"{P}_forget_bias")
c = st.columns(3)
c[0].number_input(L("seq.clip"), 0.0, 1e6, step=0.5, key=f"{P}_clip_norm")
c[1].number_input(L("seq.lr"), 1e-5, 10.0, format="%g", key=f"{P}_lr")
c[2].number_input(L("seq.steps"), 1, 1_000_000, step=100, key=f"{P}_steps")

spec = None
try:
    values = {f: ss[f"{P}_{f}"] for f in FIELDS}
    values = {k: (float(v) if k in ("forget_bias", "clip_norm", "lr") else int(v) if k in (
        "seq_len", "difficulty", "hidden", "layers", "steps") else v) for k, v in values.items()}
    spec = ss.get(f"{P}_base", RecurrentSpec()).with_changes(**values, seed=state.seed(),
                                                           device=state.device())
    st.query_params[P] = codec.to_url(spec)  # the link reopens these settings
except SpecError as e:
    st.error(L("seq.bad_input", error=e), icon="⚠️")
ss[f"{P}_spec"] = spec
if ss.get(f"{P}_preset") and spec is not None and spec != PRESETS[ss[f"{P}_preset"]].spec.with_changes(
        seed=spec.seed, device=spec.device):
    ss[f"{P}_run_name"] = ""  # edited: no longer the preset


def _twin_label(k: str) -> str:
    return t(f"seq.twin.{k}", lang)


panel = Panel(P, VARIANTS, _twin_label)
if ss.get(f"{P}_twin", "none") != "none":
    st.query_params[f"{P}_twin"] = ss[f"{P}_twin"]
else:
    st.query_params.pop(f"{P}_twin", None)


def _charts(views, tags, streaming: bool) -> None:
    two = len(views) > 1
    labels = {**widgets.plot_labels(lang), "depth": L("seq.axis.time"), "grad_norm": L("seq.axis.signal"),
              "out_grad_norm": L("seq.axis.signal"), "log10_grad": L("seq.axis.log10"),
              "layer": L("seq.axis.time_row"), "time": L("seq.axis.time"), "keep_gate": L("seq.axis.keep_gate")}
    for v, tag in zip(views, tags):
        d = diagnose_time(v.metrics, v.status, v.summary.get("first_bad_step"), v.error)
        widgets.diagnosis_box(d, lang, prefix=f"{tag}:" if two else "")
    runs = [(tag if two else v.name, v.metrics) for v, tag in zip(views, tags)]
    ver = tuple((v.id, v.version) for v in views) + (lang,)
    rev = "-".join(v.id for v in views)
    left, right = st.columns(2)
    with left:
        widgets.cached_chart(f"{P}_time", ver, lambda: plots.grad_vs_depth(
            runs, labels=labels, title=L("seq.chart.time"), raw=True), key=f"{P}_chart_time", live=streaming,
            rev=rev, priority=True)
    with right:
        zr = plots.heat_range([v.metrics for v in views]) if two else None
        cols = st.columns(len(views))
        for i, (v, tag) in enumerate(zip(views, tags)):
            with cols[i]:
                widgets.cached_chart(f"{P}_heat{i}", ver, lambda v=v, tag=tag: plots.grad_heatmap(
                    v.metrics, labels=labels, zrange=zr, raw=True,
                    title=f"{tag} · {L('seq.chart.heat')}" if two else L("seq.chart.heat")),
                    key=f"{P}_chart_heat{i}", live=streaming, rev=rev)
    left, right = st.columns(2)
    with left:
        widgets.cached_chart(f"{P}_loss", ver, lambda: plots.loss_curves(runs, labels=labels, raw=True),
                             key=f"{P}_chart_loss", live=streaming, rev=rev)
    with right:
        st.markdown(f"**{L('seq.chart.gates')}**")
        widgets.cached_chart(f"{P}_gates", ver, lambda: gate_stats(runs, labels=labels, raw=True),
                             key=f"{P}_chart_gates", live=streaming, rev=rev)
        if any(getattr(v.spec, "cell", "") == "rnn" for v in views):
            st.caption(L("seq.gates_note"))


panel.live(_charts)
st.caption(L("seq.link"))
