"""Through depth: a small transformer encoder, Post-LN or Pre-LN, with or without warm-up, trained live.

Widgets -> TransformerSpec (validated) -> the shared job manager (twins) -> the run panel
(:mod:`ui.seq_live`) -> the Lab's depth charts: per-sublayer ‖∇W‖ against depth, the layer × step
heatmap, loss/accuracy, residual-stream scale. Settings live in the URL (``?tf=<code>&tf_twin=pre_ln``).
"""
from __future__ import annotations

import streamlit as st

import ui.strings_lab  # noqa: F401
import ui.strings_seq  # noqa: F401
from labcore.figures import plots
from labcore.figures.diagnose import diagnose
from labcore.presets import list_presets
from labcore.spec.transformer import LN_PLACES, TOKEN_TASKS, VARIANTS, TransformerSpec
from ui import resources, state, widgets
from ui.i18n import t
from ui.seq_form import SeqForm, heat_and_loss
from ui.seq_live import Panel

state.ensure_router()
ss, lang = st.session_state, state.lang()
P = "tf"
FIELDS = ("ln", "layers", "d_model", "heads", "task", "seq_len", "vocab", "lr", "warmup_steps", "steps")
PRESETS = {p.name: p for p in list_presets("transformer")}


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


form = SeqForm(P, "transformer", FIELDS, TransformerSpec(), PRESETS, VARIANTS, L)
form.start()

st.title(L("tf.title"))
st.caption(L("tf.subtitle"))
form.preset_picker()
c = st.columns(5)
c[0].selectbox(L("tf.ln"), list(LN_PLACES), key=f"{P}_ln", format_func=lambda k: L(f"tf.ln.{k}"))
c[1].number_input(L("tf.layers"), 2, 24, key=f"{P}_layers")
c[2].number_input(L("tf.d_model"), 32, 256, step=32, key=f"{P}_d_model")
c[3].number_input(L("tf.heads"), 1, 16, key=f"{P}_heads")
c[4].selectbox(L("seq.task"), list(TOKEN_TASKS), key=f"{P}_task", format_func=lambda k: L(f"tf.task.{k}"))
c = st.columns(5)
c[0].number_input(L("tf.seq_len"), 4, 128, key=f"{P}_seq_len")
c[1].number_input(L("tf.vocab"), 2, 512, key=f"{P}_vocab")
c[2].number_input(L("seq.lr"), 1e-6, 1.0, format="%g", key=f"{P}_lr")
c[3].number_input(L("tf.warmup"), 0, 1_000_000, step=10, key=f"{P}_warmup_steps")
c[4].number_input(L("seq.steps"), 1, 1_000_000, step=100, key=f"{P}_steps")
spec = form.build(lambda k, v: float(v) if k == "lr" else v if k in ("ln", "task") else int(v),
                  seed=state.seed(), device=state.device())
panel = Panel(P, VARIANTS, lambda k: t(f"tf.twin.{k}", lang))
form.sync_twin()


def _charts(views, tags, streaming: bool) -> None:
    two = len(views) > 1
    labels = {**widgets.plot_labels(lang), "depth": L("tf.axis.depth"), "act_std": L("tf.axis.stream")}
    for v, tag in zip(views, tags):
        widgets.diagnosis_box(diagnose(v.metrics, v.status, v.summary.get("first_bad_step"), v.error), lang,
                              prefix=f"{tag}:" if two else "")
    runs = [(tag if two else v.name, v.metrics) for v, tag in zip(views, tags)]
    ver, rev = tuple((v.id, v.version) for v in views) + (lang,), "-".join(v.id for v in views)
    left, right = st.columns(2)
    with left:
        widgets.cached_chart(f"{P}_depth", ver, lambda: plots.grad_vs_depth(runs, labels=labels, title=L("tf.chart.depth"),
                             raw=True), key=f"{P}_chart_depth", live=streaming, rev=rev, priority=True)
    with right:
        loss = heat_and_loss(P, views, tags, runs, labels, ver, rev, streaming,
                             lambda tag: f"{tag} · {L('chart.heatmap_short')}" if tag else L("chart.heatmap"))
    left, right = st.columns(2)
    with left:
        loss()
    with right:
        widgets.cached_chart(f"{P}_acts", ver, lambda: plots.activation_stats(runs, labels=labels, raw=True),
                             key=f"{P}_chart_acts", live=streaming, rev=rev)
        st.caption(L("tf.acts_note"))


panel.live(_charts)
st.caption(L("seq.link"))
