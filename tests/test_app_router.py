"""AppTest of the router's last line (ui/recover.py): nothing that reaches it becomes a traceback.

A fault is injected where no validation can anticipate it (the session setup, a page's first
call) by patching one of the app's own functions to raise once, with a server path in its
message. The router must log it server-side, reset the Lab to the default preset, show a one-line
notice without the path, and keep the sidebar and the Train button. ``LAB_STRICT_PAGES`` (set by
conftest so page tests see their errors) is unset here: this is the production behaviour.
"""
from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

from labcore.spec.codec import from_url, to_url
from labcore.spec.edit import override
from labcore.spec.mlp import RunSpec
from ui import state

APP = "../app.py"
SECRET = "/srv/secret/path/labcore/boom.py"


@pytest.fixture(autouse=True)
def production(monkeypatch):
    monkeypatch.delenv("LAB_STRICT_PAGES", raising=False)


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs_at_the_end():
    yield
    from ui import resources

    resources.manager().shutdown()
    resources.manager.clear()


def fail(times: int, real):
    calls = {"n": 0}

    def patched(*a, **kw):
        calls["n"] += 1
        if calls["n"] <= times:
            raise RuntimeError(f"unexpected failure in {SECRET}")
        return real(*a, **kw)
    return patched, calls


def shown(at) -> str:
    return "\n".join(str(e.value) for kind in ("error", "warning", "info", "caption", "markdown")
                     for e in getattr(at, kind))


def usable_lab(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.radio[0].value in ("en", "fr")  # the sidebar is drawn
    assert any(b.label == "Train" for b in at.button), [b.label for b in at.button]
    assert SECRET not in shown(at) and "Traceback" not in shown(at)


def test_a_page_that_raises_is_reset_to_the_default_preset(monkeypatch, caplog):
    patched, calls = fail(1, state.ensure_router)
    monkeypatch.setattr(state, "ensure_router", patched)
    odd = override(RunSpec(), depth=7, width=13)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = to_url(odd)
    with caplog.at_level(logging.ERROR, logger="gradient_flow_lab"):
        at.run()
    assert calls["n"] >= 2  # failed once, then ran again on defaults
    usable_lab(at)
    assert any("default preset is loaded" in e.value for e in at.error)
    assert from_url(at.query_params["spec"]).net.depth != 7  # the link's settings are gone
    assert SECRET in caplog.text  # the detail is in the server's log


def test_a_session_setup_that_raises_drops_the_link_and_says_so(monkeypatch, caplog):
    patched, calls = fail(1, state.init_app)
    monkeypatch.setattr(state, "init_app", patched)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = to_url(override(RunSpec(), depth=9))
    with caplog.at_level(logging.ERROR, logger="gradient_flow_lab"):
        at.run()
    usable_lab(at)
    assert any("could not be opened" in e.value for e in at.error)
    assert SECRET in caplog.text


def test_a_page_that_keeps_failing_still_leaves_the_sidebar(monkeypatch):
    patched, calls = fail(10**6, state.ensure_router)
    monkeypatch.setattr(state, "ensure_router", patched)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.sidebar.radio[0].value == "en"
    assert any("failed again" in e.value for e in at.error)
    assert SECRET not in shown(at)


def test_strict_mode_re_raises_for_the_page_tests(monkeypatch):
    monkeypatch.setenv("LAB_STRICT_PAGES", "1")
    patched, _ = fail(1, state.ensure_router)
    monkeypatch.setattr(state, "ensure_router", patched)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.exception  # what the other page tests rely on to see a page's errors
