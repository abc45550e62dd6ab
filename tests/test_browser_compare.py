"""Real browser: runs survive a kill -9 of the app, and the Compare page overlays stored runs.

The issue's acceptance scenario: three runs are stored, a fourth trains in the app, the app is
killed with SIGKILL mid-run and restarted on the same LAB_HOME: all four are listed, the fourth
as interrupted with its flushed steps, and comparing the first three overlays their gradient
profiles on one chart. Screenshots land in artifacts/. Skips with a visible reason when Chromium
or Playwright is missing, unless LAB_REQUIRE_BROWSER=1.
"""
import os
import signal
import time
from dataclasses import replace

import pytest

from labcore.spec.codec import to_url
from labcore.spec.edit import override
from labcore.presets import load_preset
from labcore.core.sinks import train_into
from labcore.store.db import RunStore
from labcore.train.mlp import Trainer
from tests.browser import chromium, new_page, require_browser, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

PROFILE_NAMES_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const names = (el.data || []).map(t => t.name || '');
    if (names.length && names.every(n => / · (step|pas) \\d+$/.test(n))) return names;
  }
  return null;
}"""


def tiny(**kw):
    return override(load_preset("relu-he").spec, **{"depth": 3, "width": 16, "steps": 60, "device": "cpu", **kw})


def record(store, spec, name):
    sink = store.sink(name=name)
    train_into(Trainer(spec), sink, name=name)
    return sink.run_id


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_the_app_mid_run_then_compare_three_runs(tmp_path):
    require_browser()
    home = tmp_path / "home"
    home.mkdir()
    db = home / "runs.sqlite"
    with RunStore(db) as s:
        record(s, tiny(), "relu-3")
        record(s, tiny(depth=8, activation="sigmoid", init="xavier_normal"), "sigmoid-8")
        record(s, tiny(depth=5, activation="tanh"), "tanh-5")
    long = tiny(depth=4, steps=200_000)
    long = replace(long, train=replace(long.train, flush_every=10))

    # 1. The fourth run trains in the app; the app is killed with SIGKILL mid-run.
    with streamlit_server(lab_home=str(home)) as url, chromium() as browser:
        page = new_page(browser, f"{url}/?spec={to_url(long)}")
        page.get_by_role("button", name="Train").click()

        def fourth():
            with RunStore(db) as s:
                runs = [r for r in s.list_runs() if r["id"] == 4]
            return runs[0] if runs and runs[0]["steps"] >= 30 else None

        running = wait_for(fourth, 120, "the app's run to flush a few chunks")
        assert running["status"] == "running"
        os.kill(running["owner_pid"], signal.SIGKILL)  # the streamlit server process itself
        page.close()

    # 2. Restarted on the same LAB_HOME: four runs, the fourth interrupted with its steps.
    with RunStore(db) as s:
        runs = {r["id"]: r for r in s.list_runs()}
        assert s.integrity() == "ok"
    assert sorted(runs) == [1, 2, 3, 4]
    assert [runs[i]["status"] for i in (1, 2, 3)] == ["finished"] * 3
    assert runs[4]["status"] == "interrupted" and runs[4]["steps"] >= 30
    with streamlit_server(lab_home=str(home)) as url, chromium() as browser:
        page = new_page(browser, url, height=1400)
        page.goto(f"{url}/runs")
        page.wait_for_selector("text=4 of 4 runs")
        page.wait_for_selector("[data-testid='stDataFrame']")
        wait_idle(page, 90_000)
        assert page.get_by_text("Language").count() >= 1  # the app's sidebar is there
        body = page.inner_text("body")
        assert "3 finished" in body and "1 interrupted" in body and "Traceback" not in body
        screenshot(page, "runs_after_kill.png")

        # 3. Compare the first three: their profiles overlaid on one chart, one slider for all.
        page.goto(f"{url}/compare?runs=1,2,3")
        page.wait_for_function(f"() => ({PROFILE_NAMES_JS})() !== null", timeout=60_000)
        names = page.evaluate(PROFILE_NAMES_JS)
        assert [n.split(" · ")[0] for n in names] == ["#1 relu-3", "#2 sigmoid-8", "#3 tanh-5"]
        assert all(n.endswith("step 60") for n in names)
        heat_js = ("() => [...document.querySelectorAll('.js-plotly-plot')]"
                   ".filter(el => (el.data || []).some(t => t.type === 'heatmap')).length")
        try:  # each chart is drawn in its own animation frame: wait for the heatmaps too
            page.wait_for_function(f"() => ({heat_js})() >= 2", timeout=30_000)
        except Exception:
            pass  # the assertion below shows how many there are
        assert page.evaluate(heat_js) == 2  # side by side + the difference
        slider = page.locator("[data-testid='stSlider'] input[type='range']").first
        slider.focus()
        slider.press("Home")  # the first recorded step
        page.wait_for_function(f"() => ({PROFILE_NAMES_JS})().every(n => n.endsWith('step 1'))",
                               timeout=60_000)
        wait_idle(page, 90_000)
        # Each chart is redrawn in place in its own animation frame: wait for the last of them.
        shapes_js = ("() => [...document.querySelectorAll('.js-plotly-plot')]"
                     ".flatMap(el => ((el.layout || {}).shapes || []).map(s => s.x0))")
        try:
            page.wait_for_function(f"() => {{ const s = ({shapes_js})(); return s.length && s.every(x => x === 1); }}",
                                   timeout=30_000)
        except Exception:
            pass  # the assertion below shows what the charts mark
        shapes = page.evaluate(shapes_js)
        assert shapes and set(shapes) == {1}  # every chart marks the same step
        path = screenshot(page, "compare_three_runs.png")
        assert path.stat().st_size > 10_000
        assert "Traceback" not in page.inner_text("body")
        page.close()
