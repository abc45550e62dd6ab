"""Shared UI helpers: fast chart output, translated plot labels, error and diagnosis boxes.

Pages call these instead of repeating streamlit boilerplate. Nothing here trains or computes
statistics; it only renders what labcore returns.
"""
from __future__ import annotations

import collections
import threading
import time

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from labcore.figures import plots
from labcore.figures.diagnose import Diagnosis
from labcore.core.errors import shown
from labcore.spec.mlp import SpecError
from ui.safe import md
from ui import livechart
from ui.i18n import t
from ui.keys import Keys


class _Prebuilt(go.Figure):
    """A finished plotly spec (dict) handed to ``st.plotly_chart`` without plotly's object model.

    ``st.plotly_chart`` turns a Figure into a dict with ``to_dict()`` and serialises that; building
    a validated Figure first costs 10-200 ms per chart, time the training thread would lose (GIL).
    """

    def __init__(self, spec: dict):  # deliberately not calling go.Figure.__init__
        self._spec = spec

    def to_dict(self):
        return self._spec


class _Chart:
    """A chart ready to send: the spec as a plain dict and, made once, its JSON."""

    __slots__ = ("spec", "_json")

    def __init__(self, spec: dict | go.Figure):
        self.spec = spec.to_dict() if isinstance(spec, go.Figure) else spec
        self._json = None

    def height(self) -> int | None:
        h = self.spec.get("layout", {}).get("height")
        return int(h) if isinstance(h, (int, float)) else None

    def json(self) -> str:
        if self._json is None:  # two sessions may race here: both compute the same string
            self._json = pio.to_json(self.spec, validate=False)  # numpy arrays, NaN -> null
        return self._json


def chart(spec: dict | go.Figure | _Chart, key: str, live: bool = False, rev="", priority: bool = False) -> None:
    """Draw a chart from a plots function's ``raw=True`` dict (or a Figure).

    The chart is updated in place in the browser (:mod:`ui.livechart`), so redrawing it with new
    data is cheap; ``live`` charts (streaming while a run trains) share a redraw budget there,
    ``priority`` first; ``rev`` names what it shows (the user's zoom survives while it stays the
    same). Without live charts it falls back to ``st.plotly_chart``; ``live`` charts then skip
    the mode bar, because Streamlit remounts a chart whose data changed.
    """
    c = spec if isinstance(spec, _Chart) else _Chart(spec)
    config = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2, "filename": key}}
    if livechart.live_chart(c.json(), key, config, rev=rev, height=c.height(), priority=priority,
                            live=live):
        return
    fig = _Prebuilt(c.spec)
    if live:
        config["displayModeBar"] = False
    st.plotly_chart(fig, key=key, config=config)


def device_text(label: str, lang: str) -> str:
    """labcore's device label ("CPU (2 threads)", "cuda:0 (NVIDIA ...)") in the interface language."""
    import re

    m = re.fullmatch(r"CPU \((\d+) threads?\)", label or "")
    if m:
        n = int(m.group(1))
        return t("dev.cpu_threads_one" if n == 1 else "dev.cpu_threads", lang, n=n)
    return label


def plot_labels(lang: str) -> dict:
    """plots.LABELS translated into ``lang``."""
    return {k: t(f"plot.{k}", lang) for k in plots.LABELS}


_SHARED: collections.OrderedDict = collections.OrderedDict()  # (name, cache_key) -> _Chart, all sessions
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 96  # a few versions of every chart of a few runs: old versions are never asked again


def cached_chart(name: str, cache_key, build, key: str, live: bool = False, rev="", priority: bool = False,
                 every: float = 0.0, shared: bool = False, hold=None) -> None:
    """Rebuild (and re-serialise) a chart only when ``cache_key`` changed since this session drew it.

    ``every`` (seconds): while ``live``, a chart of the same ``rev`` is rebuilt at most that often
    (its previous figure is sent again meanwhile, which the browser does not redraw). ``hold``
    (default ``rev``) names what must not change for the previous figure to stand in: pass the
    run's events and status so a surgery marker or the end of a run is drawn at once.

    ``shared``: ``cache_key`` names the chart's content for every session (job ids and versions,
    language...), so a chart one session built is reused by the others: thirty sessions watching
    one shared run build each figure once, not thirty times.
    """
    cache = st.session_state.setdefault(Keys.CHART_CACHE, {})
    hit = cache.get(name)
    now = time.monotonic()
    if hit is None or hit[0] != cache_key:
        hold = rev if hold is None else hold
        if hit is not None and live and every and hit[3] == hold and now - hit[2] < every:
            chart(hit[1], key, live, rev=rev, priority=priority)
            return
        c = None
        if shared:
            with _SHARED_LOCK:
                c = _SHARED.get((name, cache_key))
        if c is None:
            c = _Chart(build())
            if shared:
                with _SHARED_LOCK:
                    _SHARED[(name, cache_key)] = c
                    while len(_SHARED) > _SHARED_MAX:
                        _SHARED.popitem(last=False)
        hit = (cache_key, c, now, hold)
        cache[name] = hit
    chart(hit[1], key, live, rev=rev, priority=priority)


def error_text(e: SpecError, slot: str, lang: str) -> str:
    """A message saying what to change, in the interface language."""
    from labcore.spec.size import SizeError

    # Every part may quote what the user typed: escaped, so it never renders as markup.
    value = md(e.value if isinstance(e.value, str) else shown(e.value))
    field, allowed = md(e.field), md(e.allowed)
    if isinstance(e, SizeError):
        return t("err.size", lang, value=md(e.value), allowed=allowed)
    key = f"err.{slot}"
    text = t(key, lang, value=value, field=field, allowed=allowed)
    if text == key:  # no specific message for this control: the library's own words
        return t("err.generic", lang, field=field, value=value, allowed=allowed)
    return text


def show_error(container, e: SpecError | None, slot: str, lang: str) -> None:
    if e is not None:
        container.error(error_text(e, slot, lang), icon="⚠️")


def diagnosis_text(d: Diagnosis, lang: str) -> str:
    return t(d.key, lang, **d.numbers)


def diagnosis_box(d: Diagnosis, lang: str, prefix: str = "") -> None:
    """The diagnosis sentence, coloured by severity, with its notes underneath."""
    text = (f"**{prefix}** " if prefix else "") + diagnosis_text(d, lang)
    box = {"ok": st.success, "warning": st.warning, "error": st.error}.get(d.severity, st.info)
    box(text)
    for n in d.notes:
        st.caption("↳ " + diagnosis_text(n, lang))


__all__ = ["cached_chart", "chart", "device_text", "diagnosis_box", "diagnosis_text", "error_text", "plot_labels",
           "show_error"]
