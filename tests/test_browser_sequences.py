"""Real browser: the Through-time page, RNN vs LSTM twins, Train: the through-time chart and both
heatmaps fill live, the diagnosis speaks of time steps, Stop stops. Skips with a visible reason
when Chromium or Playwright is missing, unless LAB_REQUIRE_BROWSER=1. Screenshots in artifacts/.
"""
import pytest

from labcore.spec.codec import to_url
from labcore.spec.recurrent import RecurrentSpec
from labcore.spec.transformer import TransformerSpec
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server

pytestmark = pytest.mark.browser

# The newest step drawn for run ``tag`` in the through-time chart (bold trace "<tag> · step N").
TIME_STEP_JS = """(tag, re = 'through time') => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const title = ((el.layout || {}).title || {}).text || '';
    if (!new RegExp(re, 'i').test(title)) continue;
    const tr = (el.data || []).filter(t => (t.name || '').startsWith(tag + ' · ') && / (step|pas) \\d+$/.test(t.name));
    if (tr.length) return +tr[tr.length - 1].name.match(/(\\d+)$/)[1];
  }
  return null;
}"""
HEATS_JS = """(rows) => [...document.querySelectorAll('.js-plotly-plot')].filter(el =>
  (el.data || []).some(t => t.type === 'heatmap' && t.z && t.z.length === rows && t.z[0].length > 1)).length"""


def test_rnn_vs_lstm_twins_fill_the_through_time_charts_live():
    require_browser()
    spec = RecurrentSpec(cell="rnn", task="recall", seq_len=30, hidden=16, steps=100_000, record_every=5,
                         flush_every=10, batch_size=16, device="cpu")
    with streamlit_server() as url, chromium() as browser:
        page = new_page(browser, f"{url}/sequences?rnn={to_url(spec)}&rnn_twin=lstm", height=2200)
        page.get_by_role("button", name="Train").click()
        for tag in ("A", "B"):
            page.wait_for_function(f"() => ({TIME_STEP_JS})('{tag}') !== null", timeout=90_000)
        first = page.evaluate(f"() => ({TIME_STEP_JS})('B')")
        page.wait_for_function(f"() => ({TIME_STEP_JS})('B') > {first}", timeout=90_000)  # it fills live
        page.wait_for_function(f"() => ({HEATS_JS})(30) >= 2", timeout=60_000)  # one time x step heatmap per twin
        body = page.inner_text("body")
        assert "A · " in body and "B · " in body and "LSTM" in body
        assert "through time" in body.lower()  # the diagnosis, worded for time steps
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function("() => /· stopped ·/.test(document.body.innerText)", timeout=60_000)
        assert screenshot(page, "sequences_rnn_vs_lstm.png").stat().st_size > 10_000
        assert "Traceback" not in page.inner_text("body")
        page.close()


def test_post_ln_vs_pre_ln_twins_fill_the_depth_charts_live():
    require_browser()
    spec = TransformerSpec(layers=3, d_model=32, heads=2, seq_len=8, vocab=8, batch_size=16, steps=100_000,
                           record_every=5, flush_every=10, device="cpu")
    with streamlit_server() as url, chromium() as browser:
        page = new_page(browser, f"{url}/transformers?tf={to_url(spec)}&tf_twin=pre_ln", height=2000)
        page.get_by_role("button", name="Train").click()
        for tag in ("A", "B"):
            page.wait_for_function(f"() => ({TIME_STEP_JS})('{tag}', 'per sublayer') !== null", timeout=90_000)
        first = page.evaluate(f"() => ({TIME_STEP_JS})('B', 'per sublayer')")
        page.wait_for_function(f"() => ({TIME_STEP_JS})('B', 'per sublayer') > {first}", timeout=90_000)
        page.wait_for_function(f"() => ({HEATS_JS})(7) >= 2", timeout=60_000)  # 3 x (attn, mlp) + head
        body = page.inner_text("body")
        assert "Pre-LN" in body and "A · " in body and "B · " in body
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function("() => /· stopped ·/.test(document.body.innerText)", timeout=60_000)
        assert screenshot(page, "transformers_post_vs_pre_ln.png").stat().st_size > 10_000
        assert "Traceback" not in page.inner_text("body")
        page.close()
