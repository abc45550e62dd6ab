"""AppTest of the optional classroom password (ui/gate.py): off by default, and when set, nothing
of the lab runs (no link is parsed, no page drawn) until the session types it."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labcore.spec.codec import to_url
from labcore.spec.edit import override
from labcore.spec.mlp import RunSpec

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs_at_the_end():
    yield
    from ui import resources

    resources.manager().shutdown()
    resources.manager.clear()


def labels(at):
    return [b.label for b in at.button]


def test_no_password_configured_means_no_gate(monkeypatch):
    monkeypatch.delenv("LAB_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and "Train" in labels(at)
    assert not any(ti.proto.type == "password" for ti in at.text_input)


@pytest.mark.parametrize("where", ["secrets", "env"])
def test_the_lab_stays_closed_until_the_password_is_typed(monkeypatch, where):
    monkeypatch.delenv("LAB_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    if where == "secrets":
        at.secrets["lab_password"] = "s3cret ünïcode"
    else:
        monkeypatch.setenv("LAB_PASSWORD", "s3cret ünïcode")
    at.query_params["spec"] = to_url(override(RunSpec(), depth=9))
    at.run()
    assert not at.exception
    assert "Train" not in labels(at) and not at.sidebar.radio  # no page, no sidebar
    assert "lab_depth" not in at.session_state  # the link was not even read
    at.text_input(key="app_gate_password").input("wrong")
    at.button[0].click().run()  # a form: the typed value and the submit go together
    assert any("Wrong password" in e.value for e in at.error) and "Train" not in labels(at)
    at.text_input(key="app_gate_password").input("s3cret ünïcode")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Train" in labels(at) and at.sidebar.radio[0].value == "en"
    assert at.number_input(key="lab_depth").value == 9  # the link opens once inside
    at.run()
    assert "Train" in labels(at)  # the session stays in
