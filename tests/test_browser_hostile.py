"""Real browser: hostile names and links stay text, and bad links never break a page (issue 13).

Three stored runs are named with markdown links and images, HTML tags, Streamlit directives and a
bare URL. On the Runs page (selector, delete confirmation, undo notice) and on the Compare page
(plotly legends, annotations, titles), the names must show as the characters typed: no element
links or points to the hostile host, no bold text comes from a name, and the browser never
requests anything from that host. Then the issue's hostile ``?spec=`` links (a markdown link, a
markdown image, a 401-digit gain, 10**5 nested brackets) each show a one-line message on a Lab
that still has its sidebar and its Train button, and no traceback or server path.
"""
from __future__ import annotations

import base64
import json
import zlib
from urllib.parse import quote, urlparse

import pytest

from labcore.core.sinks import train_into
from labcore.presets import load_preset
from labcore.spec.codec import URL_PREFIX
from labcore.spec.edit import override
from labcore.store.db import RunStore
from labcore.train.mlp import Trainer
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

EVIL = "evil.example"
HOSTILE = (f"[CLICK HERE](http://{EVIL}/md) ![x](http://{EVIL}/pixel.png) "
           f"<a href=\"http://{EVIL}/html\">html</a> <b>bold</b> <img src=\"http://{EVIL}/i.png\"> :red[red] www.{EVIL}")

# Anything in the document that links to, or loads from, the hostile host.
EVIL_ELEMENTS_JS = f"""() => [...document.querySelectorAll('a, img, image, iframe, link, script, source')]
  .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('xlink:href') || '')
  .filter(u => u.includes('{EVIL}'))"""
# Bold text inside the charts that came from a name (plotly draws <b> as a bold tspan).
BOLD_IN_CHARTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot tspan')]
  .filter(t => /bold/.test(t.getAttribute('style') || '') && /bold|html/.test(t.textContent)).length"""
LEGEND_TEXT_JS = """() => [...document.querySelectorAll('.js-plotly-plot .legendtext, .js-plotly-plot .annotation-text')]
  .map(t => t.textContent)"""


def evil_host(url: str) -> bool:
    return EVIL in (urlparse(url).hostname or "")


def code_of(raw: bytes) -> str:
    return URL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def record(store, spec, name):
    sink = store.sink(name=name, tags=[name[:40], "<b>tag</b>"])
    train_into(Trainer(spec), sink, name=name)
    return sink.run_id


def check_clean(page, requests, where):
    assert page.evaluate(EVIL_ELEMENTS_JS) == [], where
    assert requests == [], f"{where}: the browser fetched {requests}"
    body = page.inner_text("body")
    assert "Traceback" not in body and 'File "/' not in body and "/work/" not in body, where


def test_hostile_names_and_links_stay_text(tmp_path):
    require_browser()
    home = tmp_path / "home"
    home.mkdir()
    spec = override(load_preset("relu-he").spec, depth=3, width=8, steps=20, device="cpu")
    with RunStore(home / "runs.sqlite") as s:
        for i in range(3):
            record(s, override(spec, depth=3 + i), f"{HOSTILE} #{i}")

    with streamlit_server(lab_home=str(home), env={"LAB_STRICT_PAGES": "0"}) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1600})
        page.set_default_timeout(60_000)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if evil_host(r.url) else None)
        page.route(evil_host, lambda route: route.abort())

        # Runs: the selector, the delete confirmation, the undo notice.
        page.goto(f"{url}/runs")
        page.wait_for_selector("[data-testid='stDataFrame']")
        wait_idle(page, 90_000)
        page.get_by_role("button", name="Delete").click()
        page.wait_for_selector("text=and its metrics?")
        wait_idle(page)
        warning = page.locator("[data-testid='stAlert']").filter(has_text="and its metrics?").inner_text()
        warning = warning.replace("\u2060", "")  # ui/safe.py's invisible word joiners (no autolinks)
        assert f"[CLICK HERE](http://{EVIL}/md)" in warning and "<b>bold</b>" in warning and ":red[red]" in warning
        check_clean(page, requests, "Runs, delete confirmation")
        screenshot(page, "hostile_runs_confirm.png")
        page.get_by_role("button", name="Yes, delete").click()
        page.wait_for_selector("text=deleted.")
        wait_idle(page)
        notice = page.locator("[data-testid='stAlert']").filter(has_text="deleted.").first.inner_text().replace("\u2060", "")
        assert f"![x](http://{EVIL}/pixel.png)" in notice
        check_clean(page, requests, "Runs, undo notice")
        page.get_by_role("button", name="Undo").first.click()
        wait_idle(page)

        # Compare: legends, heatmap titles, difference title.
        page.goto(f"{url}/compare?runs=1,2,3")
        page.wait_for_function(f"() => ({LEGEND_TEXT_JS})().length >= 3", timeout=60_000)
        wait_idle(page, 90_000)
        texts = page.evaluate(LEGEND_TEXT_JS)
        assert any(f'<a href="http://{EVIL}/html">html</a>' in t for t in texts), texts
        assert any("<b>bold</b>" in t for t in texts), texts
        assert page.evaluate(BOLD_IN_CHARTS_JS) == 0
        check_clean(page, requests, "Compare")
        screenshot(page, "hostile_compare.png")

        # The hostile links: a message, the sidebar and Train remain, no traceback.
        links = {
            "markdown link": f"[CLICK HERE](http://{EVIL}/x)",
            "markdown image": f"![x](http://{EVIL}/pixel.png)",
            "401-digit gain": code_of(json.dumps({"net": {"init": {"gain": 10**400}}}).encode()),
            "10**5 nested [": code_of(b"[" * 100_000),
        }
        for what, code in links.items():
            page.goto(f"{url}/?spec={quote(code)}")
            page.wait_for_selector("text=could not be read")
            wait_idle(page, 90_000)
            page.get_by_role("button", name="Train").wait_for()  # drawn by the run panel's fragment
            assert page.get_by_role("button", name="Train").count() == 1, what
            assert page.get_by_text("Language").count() >= 1, what  # the sidebar
            check_clean(page, requests, what)
        screenshot(page, "hostile_link.png")
        page.close()
