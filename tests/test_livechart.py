"""Live charts (ui/livechart.py + livechart.js): the plotly.js asset, the component and its fallback.

The unit tests need no browser: the asset copy, when ``plotly_src`` gives up, and what
``ui.widgets.chart`` sends (AppTest). One real-browser test trains on the Lab page and checks the
charts are redrawn in place (Plotly.react) rather than mounted again.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path

import numpy as np
import plotly
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.charts import COMPONENT, chart_count, chart_specs, live_data, live_elements
from ui import livechart

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ASSET = f"plotly-{plotly.__version__}.min.js"
URL = f"/app/static/vendor/{ASSET}"


@contextlib.contextmanager
def options(**opts):
    """Set Streamlit config options (``server_enableStaticServing=True``), restore them afterwards."""
    names = {k.replace("_", ".", 1): v for k, v in opts.items()}
    old = {k: config.get_option(k) for k in names}
    try:
        for k, v in names.items():
            config.set_option(k, v)
        yield
    finally:
        for k, v in old.items():
            config.set_option(k, v)


@pytest.fixture
def live(monkeypatch):
    """Live charts possible: static serving on (whatever folder pytest runs from), no opt-out."""
    monkeypatch.delenv("LAB_LIVE_CHARTS", raising=False)
    with options(server_enableStaticServing=True, server_baseUrlPath=""):
        yield


@pytest.fixture
def fresh_vendor(tmp_path, monkeypatch):
    """plotly_src copies into a temp static/vendor and forgets what it copied before."""
    vendor = tmp_path / "static" / "vendor"
    monkeypatch.setattr(livechart, "VENDOR", vendor)
    monkeypatch.setattr(livechart, "_asset", {})
    return vendor


# ----------------------------------------------------------------------------- the asset
def test_static_serving_is_on_in_the_project_config():
    """streamlit run reads .streamlit/config.toml; without static serving every chart falls back."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["enableStaticServing"] is True
    assert livechart.VENDOR == ROOT / "static" / "vendor" and (ROOT / "app.py").exists()  # served next to app.py


def test_plotly_js_is_copied_into_the_real_static_vendor(live, monkeypatch):
    monkeypatch.setattr(livechart, "_asset", {})
    assert livechart.plotly_src() == URL
    dest = ROOT / "static" / "vendor" / ASSET
    assert dest.is_file() and dest.stat().st_size == PLOTLY_JS.stat().st_size


def test_copy_lands_whole_and_a_stale_copy_is_replaced(live, fresh_vendor):
    assert livechart.plotly_src() == URL
    dest = fresh_vendor / ASSET
    assert dest.read_bytes() == PLOTLY_JS.read_bytes()
    assert [p.name for p in fresh_vendor.iterdir()] == [ASSET]  # no temp file left behind
    dest.write_bytes(b"truncated")  # e.g. an interrupted copy from an older version of the code
    livechart._asset.clear()
    assert livechart.plotly_src() == URL
    assert dest.stat().st_size == PLOTLY_JS.stat().st_size


def test_base_url_path_prefixes_the_asset_url(live, fresh_vendor):
    with options(server_baseUrlPath="/lab/"):
        assert livechart.plotly_src() == "/lab" + URL


def test_no_live_charts_when_opted_out_or_static_serving_is_off(live, fresh_vendor, monkeypatch):
    with options(server_enableStaticServing=False):
        assert livechart.plotly_src() is None
    monkeypatch.setenv("LAB_LIVE_CHARTS", "0")
    assert livechart.plotly_src() is None
    assert not fresh_vendor.exists()  # nothing copied for nothing
    monkeypatch.setenv("LAB_LIVE_CHARTS", "1")
    assert livechart.plotly_src() == URL


def test_unwritable_vendor_folder_falls_back_with_a_warning(live, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "static"
    blocker.write_text("a file where the folder should be")  # mkdir fails even as root
    monkeypatch.setattr(livechart, "VENDOR", blocker / "vendor")
    monkeypatch.setattr(livechart, "_asset", {})
    with caplog.at_level(logging.WARNING, logger="ui.livechart"):
        assert livechart.plotly_src() is None
    assert "fall back to st.plotly_chart" in caplog.text
    assert livechart.live_chart("{}", "k", {}) is False


# ----------------------------------------------------------------------------- what the app sends (AppTest)
SPEC = {"data": [{"type": "scatter", "x": [1, 2, 3], "y": [1.0, 4.0, 9.0], "name": "squares"}],
        "layout": {"height": 250, "title": {"text": "t"}}}


def _one_chart(spec, key, rev="", priority=False, live=False):
    from ui import widgets

    widgets.chart(spec, key=key, rev=rev, priority=priority, live=live)


def _growing_chart():
    import streamlit as st

    from ui import widgets

    n = st.session_state["n"] = st.session_state.get("n", 0) + 1
    widgets.chart({"data": [{"type": "scatter", "y": list(range(n))}], "layout": {}}, key="grow")


def draw(spec=SPEC, key="sq", **kw) -> AppTest:
    with_numpy = json.loads(json.dumps(spec))
    with_numpy["data"][0]["y"] = np.asarray(spec["data"][0]["y"])  # as labcore.figures.plots returns them
    at = AppTest.from_function(_one_chart, default_timeout=60, kwargs={"spec": with_numpy, "key": key, **kw})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_chart_is_the_live_component_carrying_the_figure(live):
    at = draw(rev="run-7", priority=True, live=True)
    assert not at.get("plotly_chart")
    (el,) = live_elements(at)
    assert el.proto.component_name == COMPONENT and el.proto.id.endswith("-sq")
    data = live_data(at)["sq"]
    assert json.loads(data["fig"]) == SPEC
    assert data["name"] == "sq" and data["height"] == 250 and data["src"] == URL
    assert data["rev"] == "run-7" and data["priority"] is True and data["live"] is True
    assert data["config"]["displaylogo"] is False and data["config"]["toImageButtonOptions"]["filename"] == "sq"
    assert chart_specs(at) == {"sq": SPEC} and chart_count(at) == 1


def test_opt_out_falls_back_to_st_plotly_chart(live, monkeypatch):
    monkeypatch.setenv("LAB_LIVE_CHARTS", "0")
    at = draw()
    assert not at.get("bidi_component")
    (el,) = at.get("plotly_chart")
    assert json.loads(el.proto.spec) == SPEC
    assert chart_specs(at) == {"sq": SPEC} and chart_count(at) == 1


def test_static_serving_off_falls_back_to_st_plotly_chart(live):
    with options(server_enableStaticServing=False):
        at = draw()
    assert not live_elements(at) and len(at.get("plotly_chart")) == 1
    assert chart_specs(at) == {"sq": SPEC}


def test_new_data_keeps_the_same_element_so_the_browser_keeps_the_graph(live):
    """The component's element id depends on the key only: new data is an update, not a new chart."""
    at = AppTest.from_function(_growing_chart, default_timeout=60).run()
    first_id, first = live_elements(at)[0].proto.id, chart_specs(at)["grow"]
    at.run()
    assert live_elements(at)[0].proto.id == first_id
    assert len(first["data"][0]["y"]) == 1 and len(chart_specs(at)["grow"]["data"][0]["y"]) == 2


# ----------------------------------------------------------------------------- real browser
STATS = "() => window.__gflStats || {}"
# The gradient-vs-depth graph (its bold trace is named "<run> · step N"), found by its data.
DEPTH_EL = """() => [...document.querySelectorAll('.gfl-live')]
  .find(el => (el.data || []).some(t => / · (step|pas) \\d+$/.test(t.name || '')))"""
SLOW_CHARTS = ("lab_chart_depth", "lab_chart_heat0", "lab_chart_loss", "lab_chart_update0", "lab_chart_acts")


def _draws(page) -> dict:
    return {k: v["draws"] for k, v in page.evaluate(STATS).items()}


# Tick labels and axis titles drawn outside their graph's box (cut off: the box has CSS containment).
CLIPPED = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(el => {
  const r = el.getBoundingClientRect();
  return [...el.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text')]
    .map(t => [t.textContent, t.getBoundingClientRect()])
    .filter(([s, b]) => b.width > 0 && (b.left < r.left - 1 || b.right > r.right + 1
                                        || b.top < r.top - 1 || b.bottom > r.bottom + 1))
    .map(([s, b]) => s);
})"""


@pytest.fixture(scope="module")
def browser_and_url():
    from tests.browser import chromium, require_browser, streamlit_server

    require_browser()
    with streamlit_server() as url, chromium() as browser:
        yield browser, url


@pytest.mark.browser
def test_lab_charts_update_in_place_while_training(browser_and_url):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from tests.browser import screenshot
    from tests.test_browser_lab import spec_code

    browser, url = browser_and_url
    errors, assets = [], []
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.set_default_timeout(60_000)

    def on_console(m):
        # Offline, Streamlit cannot fetch the page icon from fonts.gstatic.com: not ours to judge.
        if m.type == "error" and (m.location or {}).get("url", url).startswith(url):
            errors.append(m.text)

    try:
        page.on("console", on_console)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("response", lambda r: assets.append((r.url, r.status)) if "/static/vendor/" in r.url else None)
        page.goto(f"{url}/?spec={spec_code(200_000, flush_every=10)}")
        page.wait_for_selector("h1")
        page.get_by_role("button", name="Train").click()
        # Wait until both fragments have drawn their charts, the snapshot's pictures (decision
        # boundary, histograms: they appear with the first snapshot) included: every graph exists
        # from here on.
        every = SLOW_CHARTS + ("lab_chart_boundary0", "lab_chart_hist0")
        page.wait_for_function(f"() => {json.dumps(every)}.every(k => ((window.__gflStats || {{}})[k] || {{}}).draws >= 1)",
                               timeout=45_000)
        mounts, calls, before = page.evaluate("window.__gflMounts"), page.evaluate("window.__gflCalls"), _draws(page)
        assert page.evaluate(f"() => {{ const el = ({DEPTH_EL})(); if (el) el.__testMark = 1; return !!el; }}")
        # Several more redraws of the fast fragment's charts, and of a slow-fragment chart.
        page.wait_for_function(
            f"() => {{ const s = window.__gflStats; return s.lab_chart_depth.draws >= {before['lab_chart_depth'] + 3}"
            f" && s.lab_chart_update0.draws > {before['lab_chart_update0']}; }}", timeout=30_000)
        after = _draws(page)
        assert page.evaluate("window.__gflMounts") == mounts, ("a chart was mounted again instead of updated", before, _draws(page))
        assert page.evaluate("window.__gflCalls") > calls
        assert page.evaluate(f"() => ({DEPTH_EL})().__testMark") == 1, "the depth graph is a new element"
        assert after["lab_chart_depth"] >= before["lab_chart_depth"] + 3
        # Every graph is a plotly plot that shows data. A chart drawn before the first chunk came in
        # is empty (a cold server's training processes may still be warming up) and the budgeted
        # charts take their turn for the next figure: wait for it, don't judge a moment.
        graphs_js = ("() => [...document.querySelectorAll('.gfl-live')].map(el =>"
                     " [el.classList.contains('js-plotly-plot'), (el.data || []).length])")
        try:
            page.wait_for_function(f"() => {{ const g = ({graphs_js})(); return g.length >= {len(SLOW_CHARTS)}"
                                   " && g.every(([p, n]) => p && n > 0); }", timeout=30_000)
        except PlaywrightTimeout:
            pass  # the assertion below says which graph
        graphs = page.evaluate(graphs_js)
        assert len(graphs) >= len(SLOW_CHARTS) and all(p and n > 0 for p, n in graphs), graphs
        assert page.locator("[data-testid='stPlotlyChart']").count() == 0  # no fallback charts
        assert any(u.endswith(URL) and s == 200 for u, s in assets), assets  # plotly.js came from static/
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function("() => /· stopped ·/.test(document.body.innerText)", timeout=30_000)
        time.sleep(0.5)  # the last redraw after Stop
        path = screenshot(page, "livechart.png")
        assert path.stat().st_size > 10_000
        assert page.evaluate("window.__gflMounts") == mounts
        # The specs set 10 px margins (labcore/plots.py) and count on plotly's automargin, which
        # st.plotly_chart's theme turned on and livechart.js must turn on too.
        assert page.evaluate(CLIPPED) == [], "tick labels or axis titles cut off at the graph's edge"
        assert "Traceback" not in page.inner_text("body")
        assert not errors, errors
    finally:
        page.close()  # a closed tab stops its training job

