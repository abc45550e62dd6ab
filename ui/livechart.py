"""Charts that update in place in the browser: one plotly graph per key, redrawn with Plotly.react.

Why not ``st.plotly_chart``: Streamlit 1.67 hashes the figure into the chart's element id, so a
chart whose data changed is a *new* element and the browser builds the graph again from scratch
on every refresh. On the Lab page, redrawing a handful of charts several times a second that way
kept the browser's main thread busy (about one CPU core on a 2-core machine), which the training
thread then lost. This module registers a small ``st.components.v2`` component
(``livechart.js``) that keeps the graph mounted and feeds it the new figure.

plotly.js comes from the installed plotly package: it is copied once into the app's ``static/``
folder, which Streamlit serves when ``server.enableStaticServing`` is on (``.streamlit/config.toml``),
so the browser downloads it once and caches it. When that is not possible (static serving off, a
read-only checkout) :func:`plotly_src` returns None and charts fall back to ``st.plotly_chart``.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

import streamlit as st

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]  # the folder of app.py: Streamlit serves ROOT/static
VENDOR = ROOT / "static" / "vendor"
_JS = (Path(__file__).with_name("livechart.js")).read_text(encoding="utf-8")
_mount = st.components.v2.component("gfl_live_chart", js=_JS, isolate_styles=False)

_lock = threading.Lock()
_asset: dict = {}


def _copy_plotly() -> str | None:
    """Copy plotly.min.js into static/vendor (once per plotly version); its file name, or None."""
    import plotly

    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    name = f"plotly-{plotly.__version__}.min.js"
    dest = VENDOR / name
    try:
        if not dest.exists() or dest.stat().st_size != src.stat().st_size:
            VENDOR.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(f".tmp{os.getpid()}")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)  # atomic: a browser never reads half a file
        return name
    except OSError as e:
        log.warning("cannot serve plotly.js from %s (%s); charts fall back to st.plotly_chart", VENDOR, e)
        return None


def plotly_src() -> str | None:
    """The URL path the browser loads plotly.js from, or None when live charts are unavailable."""
    if os.environ.get("LAB_LIVE_CHARTS", "1") == "0" or not st.get_option("server.enableStaticServing"):
        return None
    with _lock:
        if "name" not in _asset:
            _asset["name"] = _copy_plotly()
    if _asset["name"] is None:
        return None
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "app/static/vendor", _asset["name"]) if p)


def live_chart(fig_json: str, key: str, config: dict, rev: str = "", height: int | None = None,
               priority: bool = False, live: bool = False) -> bool:
    """Draw (or update in place) the chart ``key`` from a plotly figure in JSON.

    ``rev`` names what the chart shows (e.g. the run): while it stays the same, the user's zoom
    survives updates; ``height`` (px, the figure's) reserves the space before plotly.js has
    loaded. ``live`` charts (streaming while a run trains) share a redraw budget in the browser,
    and a ``priority`` one among them is redrawn first; other charts are drawn at once. Returns
    False when live charts are unavailable (the caller falls back).
    """
    src = plotly_src()
    if src is None:
        return False
    _mount(key=key, data={"fig": fig_json, "height": height, "config": config, "src": src, "rev": str(rev),
                           "name": key, "priority": priority, "live": live})
    return True


__all__ = ["live_chart", "plotly_src"]
