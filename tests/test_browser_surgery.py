"""Real browser: sigmoid-deep trains, residual skips are added while it runs, the marker appears on
the step charts, the depth profile recovers, and the stored run carries the event."""
import time
from dataclasses import replace
from pathlib import Path

import pytest

from labcore.presets import load_preset
from labcore.spec.codec import to_url
from labcore.store import db as store_mod
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server

# first-hidden / last-hidden gradient norm of the depth chart's newest (bold) profile, or null
RATIO_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const tr = (el.data || []).filter(t => / · (step|pas) \\d+$/.test(t.name || ''));
    if (tr.length) { const y = tr[tr.length - 1].y; return y.length > 2 ? y[0] / y[y.length - 2] : null; }
  }
  return null;
}"""
# how many charts carry an event marker (a shape named "event:<step>")
MARKED_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(el =>
  (((el.layout || {}).shapes) || []).some(s => String(s.name || '').startsWith('event:'))).length"""


def test_add_residual_skips_while_sigmoid_deep_trains(tmp_path):
    require_browser()
    spec = load_preset("sigmoid-deep").spec
    spec = replace(spec, train=replace(spec.train, steps=200_000, device="cpu", flush_every=10))
    home = str(tmp_path)
    with streamlit_server(lab_home=home) as url, chromium() as browser:
        page = new_page(browser, f"{url}/?spec={to_url(spec)}", height=2600)
        page.get_by_role("button", name="Train").click()
        page.wait_for_function(f"() => ({RATIO_JS})() !== null && ({RATIO_JS})() < 1e-8", timeout=90_000)
        stalled = page.evaluate(RATIO_JS)
        apply = page.get_by_role("button", name="Apply change")
        if not apply.is_visible():
            page.get_by_text("Live surgery").first.click()
        apply.click()  # the panel's first change is the skip, its first value residual
        page.get_by_text("skip: none→residual").first.wait_for(timeout=30_000)
        page.wait_for_function(f"() => ({MARKED_JS})() >= 2", timeout=60_000)  # heatmap and loss at least
        page.wait_for_function(f"() => ({RATIO_JS})() > 1e-3", timeout=60_000)  # the input side is back
        recovered = page.evaluate(RATIO_JS)
        print(f"first/last in the browser: {stalled:.1e} -> {recovered:.1e}; marked charts: {page.evaluate(MARKED_JS)}")
        screenshot(page, "lab_surgery.png")
        assert "Traceback" not in page.inner_text("body")
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function("() => /· stopped ·/.test(document.body.innerText)", timeout=60_000)
        store = store_mod.RunStore(Path(home) / store_mod.STORE_FILENAME)
        deadline = time.monotonic() + 30
        while not (store.list_runs() and store.events(store.list_runs()[0]["id"])):
            assert time.monotonic() < deadline, "the stored run has no event"
            time.sleep(0.3)
        events = store.events(store.list_runs()[0]["id"])
        assert [e["label"] for e in events] == ["skip: none→residual"]
        assert store.spec(store.list_runs()[0]["id"]).events[0].change.values == {"skip": "residual"}
        store.close()
        page.close()
