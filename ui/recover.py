"""What the router does when something reaches it: log it, reset, say so in one line.

:func:`guarded_init` wraps the session's setup from the link (``?spec=``, ``?lang=``...): if it
raises anything, the detail goes to the server log, the link's parameters are dropped and the
setup runs again on defaults. :func:`guarded_run` wraps the page: an exception is logged with its
traceback (server-side only; ``client.showErrorDetails = "none"`` keeps paths out of the browser
for anything this misses), the Lab's settings are reset to the default preset (its running jobs
are kept) and the page reruns once, headed by a one-line notice. If the page fails again on
defaults, the notice stays and the sidebar still works.

``LAB_STRICT_PAGES=1`` (set by the test suite) re-raises after logging, so page tests still see
their errors; the router's own tests unset it.
"""
from __future__ import annotations

import logging
import os

import streamlit as st

import ui.strings_app  # noqa: F401
from ui.i18n import t

log = logging.getLogger("gradient_flow_lab")
NOTICE = "app_notice"  # session key: the notice to show at the top of the next run
RETRIED = "app_recovering"  # session key: this run is the rerun after a failure
KEEP = {"lab_jobs"}  # session keys that survive a reset (running jobs stay reachable)
LINK_PARAMS = ("spec", "twin", "runs")


def _strict() -> bool:
    return os.environ.get("LAB_STRICT_PAGES") == "1"


def reset_lab() -> None:
    """Forget the Lab's settings (the next run loads the default preset) and the link's parameters."""
    ss = st.session_state
    for k in [k for k in ss if isinstance(k, str) and k.startswith("lab_") and k not in KEEP]:
        del ss[k]
    for k in LINK_PARAMS:
        if k in st.query_params:
            del st.query_params[k]


def guarded_init(init) -> None:
    try:
        init()
    except Exception:  # noqa: BLE001 - the router's last line: anything a link can cause
        log.exception("session setup failed; the link's parameters are dropped")
        if _strict():
            raise
        reset_lab()
        st.session_state[NOTICE] = "app.link_error"
        init()


def show_notice(lang: str) -> None:
    key = st.session_state.pop(NOTICE, None)
    if key:
        st.error(t(key, lang), icon="⚠️")


def guarded_run(page, lang: str) -> None:
    ss = st.session_state
    try:
        page.run()
    except Exception:  # noqa: BLE001 - streamlit's rerun/stop are BaseExceptions and pass through
        log.exception("page %r failed", getattr(page, "title", page))
        if _strict():
            raise
        if ss.get(RETRIED):  # it failed again on defaults: say so, keep the sidebar
            ss.pop(RETRIED, None)
            st.error(t("app.page_error_again", lang), icon="⚠️")
            return
        reset_lab()
        ss[RETRIED] = True
        ss[NOTICE] = "app.page_error"
        st.rerun()
    else:
        ss.pop(RETRIED, None)


__all__ = ["guarded_init", "guarded_run", "reset_lab", "show_notice"]
