"""The Lab's live-surgery panel and the event markers on its step charts.

:func:`panel` draws the controls (what to change, the new value, which layers, which twin) while
a run trains or is paused, and queues the change with :meth:`labcore.train.job.Job.apply`; the
worker applies it at the next chunk boundary. A change that cannot apply gets one clear line and
leaves the run untouched. :func:`event_log` lists the events of the session's runs (pause, steps/s
before and after, how close an inserted norm is to identity, notes such as an optimizer's reset
state); :func:`marked` draws them on a chart. Nothing here trains: it only calls ``Job.apply``.
"""
from __future__ import annotations

import re

import streamlit as st

import ui.strings_surgery  # noqa: F401  (registers the strings)
from labcore.figures.events import mark_events
from labcore.spec.choices import ACTIVATIONS, NORMS, OPTIMIZERS
from labcore.core.errors import SpecError
from labcore.spec.events import LIVE_SKIPS, label
from ui import state
from ui.i18n import t
from ui.keys import Keys

KINDS = ("skip", "norm", "activation", "lr", "momentum", "weight_decay", "clip_norm", "dropout",
         "optimizer", "freeze", "unfreeze")
LAYER_KINDS = ("skip", "norm", "activation", "dropout", "freeze", "unfreeze")
# The first option is the usual fix (what a teacher applies to a stalled run), the removal last.
_CHOICES = {"skip": sorted(LIVE_SKIPS, key=lambda k: k == "none"), "norm": sorted(NORMS, key=lambda k: k == "none"),
            "activation": list(ACTIVATIONS), "optimizer": list(OPTIMIZERS)}
_NUMBERS = {"lr": (1e-3, 1e-6, 10.0, "%.6g"), "momentum": (0.9, 0.0, 0.999, "%.3f"),
            "weight_decay": (0.0, 0.0, 1.0, "%.6g"), "clip_norm": (1.0, 0.0, 1e6, "%.4g"),
            "dropout": (0.1, 0.0, 0.95, "%.2f")}


def _L(key: str, **fmt) -> str:
    return t(key, state.lang(), **fmt)


def parse_layers(text: str) -> list[int] | None:
    """'1-3, 7' -> [1, 2, 3, 7]; '' -> None (every layer); raises ValueError on anything else."""
    text = (text or "").strip()
    if not text:
        return None
    out: list[int] = []
    for part in re.split(r"[,\s;]+", text):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(text)
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo or hi - lo > 10_000:
            raise ValueError(text)
        out.extend(range(lo, hi + 1))
    return out


def change_of(kind: str, value, layers: list[int] | None) -> dict:
    """The dict form of a change from the panel's widgets."""
    if kind in ("freeze", "unfreeze"):
        d = {"set": {"frozen": kind == "freeze"}}
    else:
        d = {"set": {kind: value}}
    if kind in LAYER_KINDS and layers:
        d["layers"] = layers
    return d


# ----------------------------------------------------------------------------- actions
def _targets(jobs) -> list:
    pick = st.session_state.get("surg_target", "A")
    tags = ["A", "B"][:len(jobs)]
    return [j for j, tag in zip(jobs, tags) if pick in (tag, "both")]


def _on_apply(jobs) -> None:
    ss = st.session_state
    kind = ss.get("surg_kind", KINDS[0])
    msgs = []
    try:
        layers = parse_layers(ss.get("surg_layers", "")) if kind in LAYER_KINDS else None
    except ValueError:
        ss["surg_msgs"] = [("error", _L("surg.bad_layers", text=ss.get("surg_layers", "")))]
        return
    change = change_of(kind, ss.get(f"surg_value_{kind}"), layers)
    two = len(jobs) > 1
    for j, tag in zip(jobs, ["A", "B"]):
        if j not in _targets(jobs):
            continue
        name = f"{tag} · {j.name}" if two else j.name
        try:
            diffs = j.apply(change)
            msgs.append(("ok", _L("surg.queued", name=name, label=label(diffs))))
        except SpecError as e:  # SurgeryError included: one clear line, nothing changed
            why = _L("surg.shared") if (e.field, e.value) == ("run", "shared") else str(e)
            msgs.append(("error", _L("surg.refused", name=name, error=why)))
    ss["surg_msgs"] = msgs


def panel(jobs) -> None:
    """The surgery controls, active while one of ``jobs`` trains or is paused."""
    active = [j for j in jobs if not j.done]
    with st.expander(_L("surg.title"), expanded=bool(active), icon=":material/healing:"):
        st.caption(_L("surg.help"))
        if not active:
            st.caption(_L("surg.inactive"))
            return
        lang = state.lang()
        c = st.columns([2, 2, 2, 1] if len(jobs) > 1 else [2, 2, 2], vertical_alignment="bottom")
        kind = c[0].selectbox(_L("surg.kind"), KINDS, key="surg_kind",
                              format_func=lambda k: t(f"surg.kind.{k}", lang))
        if kind in _CHOICES:
            c[1].selectbox(_L("surg.value"), _CHOICES[kind], key=f"surg_value_{kind}")
        elif kind in _NUMBERS:
            default, lo, hi, fmt = _NUMBERS[kind]
            c[1].number_input(_L("surg.value"), min_value=lo, max_value=hi, value=default, format=fmt,
                              key=f"surg_value_{kind}")
        if kind in LAYER_KINDS:
            c[2].text_input(_L("surg.layers"), key="surg_layers", placeholder="1-3, 7")
        if len(jobs) > 1:
            c[3].radio(_L("surg.target"), ["A", "B", "both"], key="surg_target", horizontal=True,
                       format_func=lambda k: t("surg.both", lang) if k == "both" else k)
        if kind == "optimizer":
            st.warning(_L("surg.warn.optimizer"), icon=":material/restart_alt:")
        if kind == "activation":
            st.warning(_L("surg.warn.activation"), icon="⚠️")
        st.button(_L("surg.apply"), key="surg_apply", on_click=_on_apply, args=(jobs,), type="primary",
                  icon=":material/healing:")
        for level, text in st.session_state.get("surg_msgs", []):
            (st.success if level == "ok" else st.error)(text)


# ----------------------------------------------------------------------------- planned events
def _drop_planned() -> None:
    st.session_state[Keys.PLANNED_EVENTS] = []


def planned_box(spec, error) -> None:
    """A line per planned change of the spec (and a button to drop them), or why they cannot apply."""
    planned = st.session_state.get(Keys.PLANNED_EVENTS) or []
    if not planned:
        return
    if error is not None:
        st.warning(_L("surg.planned_bad", error=str(error)), icon="⚠️")
    elif spec is not None:
        lines = [_L("surg.planned_line", step=e.step, label=", ".join(f"{k} → {v}" for k, v in e.change.set)
                    + (f" ({_L('surg.layers_short')} {', '.join(map(str, e.change.layers))})" if e.change.layers else ""))
                 for e in spec.events]
        st.caption(f"**{_L('surg.planned')}**  \n" + "  \n".join(lines))
    st.button(_L("surg.drop_planned"), key="surg_drop_planned", on_click=_drop_planned)


# ----------------------------------------------------------------------------- events on the page
def event_log(views, tags) -> None:
    """One caption line per event (and per refused change) of the session's runs."""
    two = len(views) > 1
    for v, tag in zip(views, tags):
        lines = []
        for e in v.events:
            line = _L("surg.event", step=e["step"], label=e["label"], pause=e.get("pause_ms", 0.0))
            if e.get("sps_after"):
                line += _L("surg.speed", before=e.get("sps_before", 0.0), after=e["sps_after"])
            if e.get("identity_error") is not None:
                line += _L("surg.identity", err=e["identity_error"])
            lines.append(line)
            lines += [_L(f"surg.note.{n}") for n in e.get("notes", [])]
        lines += [_L("surg.rejected", step=s["step"], error=s["error"]) for s in v.surgery if not s["ok"]]
        if lines:
            st.caption(f"**{_L('surg.log')}{' · ' + tag if two else ''}**  \n" + "  \n".join(lines))


def marked(spec: dict, views, tags) -> dict:
    """Add the runs' event markers to a step chart (``A: `` / ``B: `` before the labels of twins)."""
    two = len(views) > 1
    for v, tag in zip(views, tags):
        mark_events(spec, v.events, prefix=f"{tag}: " if two else "")
    return spec


__all__ = ["KINDS", "change_of", "event_log", "marked", "panel", "parse_layers", "planned_box"]
