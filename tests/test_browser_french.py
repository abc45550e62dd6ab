"""Real browser: every page in French shows no string of the English table (proper nouns aside).

The English table is every UI string whose English and French texts differ (split at their
``{placeholders}``), the chart labels, and the raw choice names a widget could show untranslated
("sigmoid", "spirals", "none", "threads"). Read on screen: the page's text and its charts' SVG text.
"""
import importlib
import pkgutil
import re

import pytest

from labcore.figures import lesson_plots, plots
from tests.browser import chromium, require_browser, screenshot, streamlit_server

PAGES = ("", "runs", "compare", "models", "lessons", "lessons?present=1")
# Words that are French too, or names: "test" and "configuration" (French words as well), "plain"
# (the model's name, plain-56), "runs" (the file runs.sqlite).
ALLOWED = {"test", "configuration", "plain", "runs"}
RAW_CHOICES = {"sigmoid", "spirals", "moons", "circles", "none", "threads", "thread", "Xavier normal",
               "He normal", "checkerboard", "residual", "dense"}


def english_fragments() -> set[str]:
    import ui

    for m in pkgutil.iter_modules(ui.__path__):
        if m.name.startswith("strings_"):
            importlib.import_module("ui." + m.name)
    from ui.i18n import _TABLE

    texts = [v["en"] for v in _TABLE.values() if v.get("en") and v.get("en") != v.get("fr")]
    texts += list(plots.LABELS.values()) + list(lesson_plots.LABELS.values())
    out = set(RAW_CHOICES)
    for text in texts:
        for frag in re.split(r"\{[^}]*\}", text):
            frag = frag.strip(" .,:;·—–()*\n")
            if len(frag) >= 4 and re.search(r"[a-zA-Z]{3}", frag):
                out.add(frag)
    return out - ALLOWED


# What a reader sees: the page's text without Material icons (their ligature names, "pause",
# "layers", are in innerText but drawn as pictures), plus the charts' SVG text.
SCREEN_TEXT_JS = """() => {
  const icons = [...document.querySelectorAll('[data-testid="stIconMaterial"], .material-symbols-rounded')];
  const saved = icons.map(e => [e, e.textContent]);
  icons.forEach(e => { e.textContent = ''; });
  const text = document.body.innerText;
  saved.forEach(([e, t]) => { e.textContent = t; });
  return text + '\\n' + [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n');
}"""


@pytest.fixture(scope="module")
def browser_and_url():
    require_browser()
    with streamlit_server() as url, chromium() as browser:
        yield browser, url


def test_every_page_in_french_has_no_english(browser_and_url):
    browser, url = browser_and_url
    english = english_fragments()
    assert len(english) > 200  # the table was read
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(90_000)
    found = {}
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        page.goto(f"{url}/{path}{sep}lang=fr")
        page.wait_for_selector("[data-testid='stMain'] h1, [data-testid='stMain'] h2")
        page.wait_for_timeout(3000)  # charts drawn in their own frames
        text = page.evaluate(SCREEN_TEXT_JS)
        hits = sorted(f for f in english if re.search(r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", text))
        if hits:
            found[path or "lab"] = hits
        screenshot(page, f"french_{(path or 'lab').replace('?', '_').replace('=', '')}.png")
    # the check can fail: the same reading of the English Lab finds many
    page.goto(f"{url}/?lang=en")
    page.wait_for_selector("[data-testid='stMain'] h1")
    page.wait_for_timeout(2000)
    text = page.evaluate("() => document.body.innerText")
    assert sum(bool(re.search(r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", text)) for f in english) > 10
    page.close()
    assert not found, found
