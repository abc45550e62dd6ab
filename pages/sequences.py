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
from labcore.figures import plots
from labcore.figures.sequence import diagnose_time, gate_stats
from labcore.presets import list_presets
from labcore.spec.recurrent import CELLS, RECURRENT_INITS, TASKS, VARIANTS, RecurrentSpec
from ui import resources, state, widgets
from ui.i18n import t
from ui.seq_form import SeqForm, heat_and_loss
from ui.seq_live import Panel

state.ensure_router()
ss, lang = st.session_state, state.lang()
P = "rnn"  # session-key prefix and URL parameter


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


FIELDS = ("cell", "task", "seq_len", "difficulty", "hidden", "layers", "init", "forget_bias", "clip_norm", "lr", "steps")
PRESETS = {p.name: p for p in list_presets("rnn")}


form = SeqForm(P, "rnn", FIELDS, RecurrentSpec(), PRESETS, VARIANTS, L)
form.start()

st.title(L("seq.title"))
st.caption(L("seq.subtitle"))
form.preset_picker()
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

FLOATS, INTS = ("forget_bias", "clip_norm", "lr"), ("seq_len", "difficulty", "hidden", "layers", "steps")
spec = form.build(lambda k, v: float(v) if k in FLOATS else int(v) if k in INTS else v,
                  seed=state.seed(), device=state.device())


def _twin_label(k: str) -> str:
    return t(f"seq.twin.{k}", lang)


panel = Panel(P, VARIANTS, _twin_label)
form.sync_twin()


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
        loss = heat_and_loss(P, views, tags, runs, labels, ver, rev, streaming,
                             lambda tag: f"{tag} · {L('seq.chart.heat')}" if tag else L("seq.chart.heat"))
    left, right = st.columns(2)
    with left:
        loss()
    with right:
        st.markdown(f"**{L('seq.chart.gates')}**")
        widgets.cached_chart(f"{P}_gates", ver, lambda: gate_stats(runs, labels=labels, raw=True),
                             key=f"{P}_chart_gates", live=streaming, rev=rev)
        if any(getattr(v.spec, "cell", "") == "rnn" for v in views):
            st.caption(L("seq.gates_note"))


panel.live(_charts)
st.caption(L("seq.link"))
