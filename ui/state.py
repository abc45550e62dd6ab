"""Per-session state of the app: the interface language, this session's id, the sidebar's
values (seed, device) and how a page asks to change them.

Session state holds only UI choices and job ids (design.md §3); its keys are named in
:class:`ui.keys.Keys`. Process-wide objects (job managers, the run store) are in
:mod:`ui.resources`; the Lab's form (controls <-> RunSpec) in :mod:`ui.form`.
"""
from __future__ import annotations

import uuid

import streamlit as st

from labcore.spec.codec import from_url
from labcore.spec.mlp import SpecError
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ui.keys import Keys


def lang() -> str:
    """The interface language of this session ("en" or "fr")."""
    v = st.session_state.get(Keys.LANG, DEFAULT_LANGUAGE)
    return v if v in LANGUAGES else DEFAULT_LANGUAGE


def owner_id() -> str:
    """This browser session's id: the owner of its jobs."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is not None:
            return ctx.session_id
    except Exception:
        pass
    return st.session_state.setdefault(Keys.OWNER, uuid.uuid4().hex)


def ensure_router() -> None:
    """Make a page that the server's very first request opened directly go through app.py.

    Streamlit decides once per process how to run scripts: while no script has called
    ``st.navigation`` yet and a ``pages/`` folder exists, it runs the requested page file on its
    own (the old multipage mode), so a link such as ``/runs`` opened first on a fresh server showed
    the page without the shared sidebar, under an automatic menu. Every page calls this first: in
    that mode it switches Streamlit to ``st.navigation`` and reruns, and app.py then routes to the
    same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this internal: nothing to fix
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_app() -> None:
    """Sidebar defaults: from a pending request, then the link's query parameters, then defaults."""
    ss = st.session_state
    pending = ss.pop(Keys.PENDING, None)
    if pending:  # set by a page before a rerun (a widget's value cannot change after it is drawn)
        for k, v in pending.items():
            ss[k] = v
    qp = st.query_params
    if Keys.LANG not in ss:
        ss[Keys.LANG] = qp.get("lang") if qp.get("lang") in LANGUAGES else DEFAULT_LANGUAGE
    if Keys.SEED not in ss or Keys.DEVICE not in ss:
        spec = None
        if qp.get("spec"):
            try:
                spec = from_url(qp.get("spec"))
            except SpecError:
                spec = None  # the Lab page reports the bad link
        ss.setdefault(Keys.SEED, spec.train.seed if spec else 0)
        ss.setdefault(Keys.DEVICE, spec.train.device if spec else "auto")


def seed() -> int:
    """The sidebar's seed."""
    return int(st.session_state.get(Keys.SEED, 0))


def device() -> str:
    """The sidebar's device choice."""
    return st.session_state.get(Keys.DEVICE, "auto")


def request_sidebar(*, seed: int, device: str) -> None:
    """Change the sidebar's seed and device from a page: applied at the top of the next run."""
    st.session_state[Keys.PENDING] = {Keys.SEED: seed, Keys.DEVICE: device}


__all__ = ["device", "ensure_router", "init_app", "lang", "owner_id", "request_sidebar", "seed"]
