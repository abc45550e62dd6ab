"""AppTest of the Sweeps page on a real store: a stored sweep's diagram, French, the size guard, delete."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labcore.store import sweeps as ss
from labcore.store.db import RunStore
from labcore.sweep import phase_plan, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = str(ROOT / "pages" / "sweeps.py")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    from ui import resources

    resources.reset_run_store(close=True)
    yield tmp_path
    resources.reset_run_store(close=True)


def page(lang="en"):
    at = AppTest.from_file(SWEEPS, default_timeout=120)
    at.session_state["app_lang"] = lang
    return at.run()


def test_empty_store_says_how_to_start(home):
    at = page()
    assert not at.exception
    assert "No sweeps yet" in at.info[0].value


def test_stored_sweep_diagram_boundary_french_guard_and_delete(home):
    with RunStore() as s:
        res = run_sweep(phase_plan("tanh", (2, 4), (0.5, 1.0), 10, width=8), store=s, backend="serial")
    at = page("fr")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Balayages")
    assert any("Cliquez une case" in c.value for c in at.caption)
    rows = at.dataframe[0].value  # measured boundary beside k·ξ
    assert len(rows) == 2 and "6·ξ" in rows.columns
    # the size guard: 300 depths × 2 gains is over the page's 400 runs
    at.text_input(key="sw_depths").set_value("1:300:1")
    at.text_input(key="sw_gains").set_value("0.5,1.0")
    at.button[0].click().run()
    assert any("600 entraînements" in e.value for e in at.error), [e.value for e in at.error]
    with RunStore() as s:
        assert len(ss.list_sweeps(s)) == 1  # nothing started
    # a bad range is one line naming the field
    at.text_input(key="sw_depths").set_value("5:1:1")
    at.button[0].click().run()
    assert any("Profondeurs" in e.value for e in at.error)
    at.button(key="sw_delete").click().run()
    assert not at.exception
    with RunStore() as s:
        assert ss.list_sweeps(s) == [] and s.list_runs() == []
    assert res.sweep_id == 1
