"""An optional shared password for a classroom server (off unless one is configured).

Set ``lab_password`` in ``.streamlit/secrets.toml`` (Streamlit's secrets) or ``LAB_PASSWORD`` in
the environment, and every browser session must type it once before any page runs: no spec is
parsed, no run is listed and nothing trains before that. Comparison is constant-time. This is a
classroom door, not an account system: serve over HTTPS (a reverse proxy) when the network is not
trusted, since the password crosses it in the websocket.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os

import streamlit as st

import ui.strings_app  # noqa: F401
from ui.i18n import t

log = logging.getLogger("gradient_flow_lab")
PASSED = "app_gate_passed"  # session key: the digest of the password this session typed


def configured_password() -> str | None:
    try:
        if st.secrets.load_if_toml_exists() and st.secrets.get("lab_password"):
            return str(st.secrets["lab_password"])
    except Exception:  # noqa: BLE001 - a malformed secrets file must not open the door
        log.exception("the secrets file cannot be read: the lab stays closed until it is fixed")
        return "\0unusable secrets file"  # a password nobody can type
    return os.environ.get("LAB_PASSWORD") or None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def require_password(lang: str) -> None:
    """Return if no password is set or this session typed it; otherwise ask for it and stop the run."""
    expected = configured_password()
    if not expected:
        return
    ss = st.session_state
    if hmac.compare_digest(ss.get(PASSED, ""), _digest(expected)):
        return
    st.title(t("app.title", lang))
    with st.form("app_gate"):
        typed = st.text_input(t("app.password", lang), type="password", key="app_gate_password")
        submitted = st.form_submit_button(t("app.enter", lang))
    if submitted:
        if hmac.compare_digest(typed.encode(), expected.encode()):
            ss[PASSED] = _digest(expected)
            ss.pop("app_gate_password", None)
            st.rerun()
        st.error(t("app.wrong_password", lang), icon="🔒")
    st.stop()


__all__ = ["configured_password", "require_password"]
