"""Real browser: streamlit run app.py + system Chromium. Train, watch the charts change, Stop.

Skips with a visible reason when Chromium or Playwright is missing, unless LAB_REQUIRE_BROWSER=1.
Screenshots land in artifacts/.
"""
import re
from dataclasses import replace

import pytest

from labcore.spec.codec import to_url
from labcore.presets import load_preset
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server

# The newest step drawn in the gradient-vs-depth chart (its bold trace is named "<run> · step N").
DEPTH_STEP_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const tr = (el.data || []).filter(t => / · (step|pas) \\d+$/.test(t.name || ''));
    if (tr.length) return +tr[tr.length - 1].name.match(/(\\d+)$/)[1];
  }
  return null;
}"""


def spec_code(steps: int, **train) -> str:
    spec = load_preset("sigmoid-deep").spec
    return to_url(replace(spec, train=replace(spec.train, steps=steps, device="cpu", **train)))


@pytest.fixture(scope="module")
def browser_and_url():
    require_browser()
    with streamlit_server() as url, chromium() as browser:
        yield browser, url


def test_train_watch_the_charts_change_then_stop(browser_and_url):
    browser, url = browser_and_url
    page = new_page(browser, f"{url}/?spec={spec_code(200_000, flush_every=10)}", height=2400)
    page.get_by_role("button", name="Train").click()
    page.wait_for_function(f"() => ({DEPTH_STEP_JS})() !== null", timeout=60_000)
    first = page.evaluate(DEPTH_STEP_JS)
    page.wait_for_function(f"() => ({DEPTH_STEP_JS})() > {first}", timeout=60_000)  # the chart changes
    heat_js = ("() => [...document.querySelectorAll('.js-plotly-plot')].some(el => "
               "(el.data || []).some(t => t.type === 'heatmap' && t.colorscale) && "
               "(((el.layout || {}).title || {}).text || '').includes('Layer × step'))")
    page.wait_for_function(heat_js, timeout=30_000)  # the heatmap, titled, drawn in its own frame
    assert page.evaluate(heat_js)
    assert page.get_by_text(re.compile("Vanishing gradients")).count() >= 1
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => /· stopped ·/.test(document.body.innerText)", timeout=60_000)
    path = screenshot(page, "lab_browser.png")
    assert path.stat().st_size > 10_000
    assert "Traceback" not in page.inner_text("body")
    page.close()


def test_french_twin_with_residual_side_by_side(browser_and_url):
    browser, url = browser_and_url
    page = new_page(browser, f"{url}/?lang=fr&twin=residual&spec={spec_code(150)}", height=2600)
    assert page.get_by_role("heading", name="Labo du flux de gradient").count() >= 1
    page.get_by_role("button", name="Entraîner").click()
    page.wait_for_function("() => /B · .*· terminé ·/.test(document.body.innerText)", timeout=120_000)
    body = page.inner_text("body")
    assert "A: Gradients évanescents" in body.replace("\n", " ").replace("  ", " ") or "Gradients évanescents" in body
    assert "B:" in body
    screenshot(page, "lab_twin_fr.png")
    assert "Traceback" not in body
    page.close()


def test_a_bad_link_shows_an_error_not_a_traceback(browser_and_url):
    browser, url = browser_and_url
    page = new_page(browser, f"{url}/?spec=g1.broken")
    page.wait_for_selector("text=could not be read")
    assert "Traceback" not in page.inner_text("body")
    page.close()


def test_closing_the_tab_stops_its_job(browser_and_url):
    """The session's job is stopped once its browser tab is gone (seen in the run store)."""
    browser = browser_and_url[0]  # one Playwright instance per process: reuse its browser
    import tempfile
    import time
    from pathlib import Path

    from labcore.store import db as store_mod
    home = tempfile.mkdtemp(prefix="lab-home-close-")
    with streamlit_server(lab_home=home, env={"LAB_JOB_GONE_GRACE": "1"}) as url:
        page = new_page(browser, f"{url}/?spec={spec_code(1_000_000)}")
        page.get_by_role("button", name="Train").click()
        page.wait_for_function(f"() => ({DEPTH_STEP_JS})() !== null", timeout=60_000)
        page.close()
        store = store_mod.RunStore(Path(home) / store_mod.STORE_FILENAME)
        deadline = time.monotonic() + 60
        while True:
            runs = store.list_runs()
            if runs and runs[-1]["status"] == "stopped":
                break
            assert time.monotonic() < deadline, f"the job kept running after the tab closed: {runs}"
            time.sleep(0.5)
        assert runs[-1]["steps"] < 1_000_000


@pytest.mark.parametrize("path", ["runs", "compare"])
def test_a_page_opened_first_on_a_fresh_server_still_has_the_sidebar(browser_and_url, path):
    """A shared link to another page, opened before anyone opened the Lab: same sidebar and menu.

    Without ui.state.ensure_router, Streamlit's old ``pages/`` mode ran the page file alone: no
    language or seed controls, and an automatic menu listing 'app', 'lab', 'runs'...
    """
    browser, _ = browser_and_url
    with streamlit_server() as url:  # a fresh server: no session has run app.py yet
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/{path}?lang=fr")
        page.wait_for_selector("h1")
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Langue").wait_for()  # the router's sidebar, in the link's language
        nav = sidebar.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Labo" in nav and "app" not in nav.split(), nav  # the router's menu, not pages/ auto-discovery
        assert page.url.rstrip("/").endswith(f"/{path}?lang=fr"), page.url  # still on the linked page
        screenshot(page, f"first-request-{path}.png")
        page.close()
