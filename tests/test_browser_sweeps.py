"""Real browser: a sweep started on the Sweeps page fills its heatmap live, and a cell opens in the Lab.

A real Streamlit server, real Chromium, a real process pool training the points, a real store.
The heatmap is read from the plotly graph in the page (how many cells have a value) while the
sweep runs: it must be seen part-filled, then full. Clicking a cell must open the Lab on that
cell's spec (its ?spec= link). Skips with a visible reason without Chromium, unless
LAB_REQUIRE_BROWSER=1. Screenshots land in artifacts/.
"""
import time
from urllib.parse import parse_qs, urlparse

import pytest

from labcore.spec.codec import from_url
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server

pytestmark = pytest.mark.browser

FILLED_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const h = (el.data || []).find(t => t.type === 'heatmap');
    if (h) return [h.z.flat().filter(v => v !== null && v !== undefined).length, h.z.flat().length];
  }
  return null;
}"""

CELL_XY_JS = """([gx, dy]) => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    if (!(el.data || []).some(t => t.type === 'heatmap')) continue;
    const L = el._fullLayout, r = el.getBoundingClientRect();
    return [r.left + L._size.l + L.xaxis.l2p(gx), r.top + L._size.t + L.yaxis.l2p(dy)];
  }
  return null;
}"""


def test_sweeps_page_fills_live_and_a_cell_opens_in_the_lab():
    require_browser()
    with streamlit_server(env={"LAB_SWEEP_WORKERS": "1"}) as url, chromium() as browser:
        page = new_page(browser, url + "/sweeps")
        page.get_by_label("Depths (start:stop:step or a,b,c)").fill("2,3,4,5")
        page.get_by_label("σ_w values").fill("0.5,1.5")
        page.get_by_label("Steps per run").fill("1000")  # a point lasts ~1 s on an idle box: partial fills are seen
        page.get_by_label("Width").fill("8")
        page.get_by_role("button", name="Start the sweep").click()
        seen, deadline = [], time.monotonic() + 240
        while time.monotonic() < deadline:
            v = page.evaluate(FILLED_JS)
            if v is not None:
                seen.append(v[0])
                if v[0] == v[1] == 8:
                    break
            time.sleep(0.4)
        assert seen and seen[-1] == 8, f"heatmap never filled: {seen}"
        assert any(0 < n < 8 for n in seen), f"never seen part-filled (not live): {seen}"
        assert seen == sorted(seen), f"cells disappeared: {seen}"
        page.wait_for_selector("text=Click a cell")
        screenshot(page, "sweeps-filled.png")
        # The sweep's end triggers one last full rerun (polling stops): wait for it to settle.
        page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")")
        time.sleep(2)
        for attempt in range(3):
            xy = page.evaluate(CELL_XY_JS, [1.5, 3])
            assert xy is not None
            page.mouse.move(*xy)
            page.mouse.click(*xy)
            try:
                page.wait_for_selector("h1:has-text('Gradient Flow Lab')", timeout=20_000)  # the Lab
                break
            except Exception:
                screenshot(page, f"sweeps-click-{attempt}.png")
        else:
            raise AssertionError("clicking a cell did not open the Lab (see artifacts/sweeps-click-*.png)")
        page.wait_for_function("() => location.search.includes('spec=')", timeout=60_000)
        code = parse_qs(urlparse(page.url).query)["spec"][0]
        spec = from_url(code)
        assert (spec.net.depth, spec.net.init.gain, spec.net.layers[0].activation) == (3, 1.5, "tanh")
        page.wait_for_selector("h1")
        screenshot(page, "sweeps-cell-in-lab.png")
