"""How a live view polls: how often (slower when many sessions are open) and how it stops.

A live view is a fragment with ``run_every`` while a run trains; each poll is a script run that
holds the GIL the training thread needs (~10 ms for the Lab's fast part). Thirty pages polling every
0.4 s took most of a core and a class's shared run crawled (``bench/classroom.py``).
"""
from __future__ import annotations

import streamlit as st


def open_sessions() -> int:
    """Browser sessions connected to this server now (1 when we cannot tell)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return 1
        return max(1, Runtime.instance()._session_mgr.num_active_sessions())
    except Exception:
        return 1


def poll_seconds(base: float, per_session: float) -> float:
    """A live view's polling period: ``base``, or ``per_session`` seconds per open session when
    that is longer, so the pages' polling adds up to about the same load however many are open
    (30 sessions at 0.04: every 1.2 s)."""
    return max(base, per_session * open_sessions())


def track(key: str, active: bool) -> None:
    """Call at the end of every poll of a live view, with whether its runs are active now.

    Once they have ended, the page reruns (its buttons update, the polling stops) at the *next*
    poll, not in the one that drew the end: a full rerun starting at once would drop that poll's
    unsent deltas (the final status and charts), and the page would show its result only after the
    whole page's run. ``key`` is a session-state key of the view's own.
    """
    ss = st.session_state
    was = ss.get(key)
    if active:
        ss[key] = "active"
    elif was == "active":
        ss[key] = "ended"  # this poll drew the end
    elif was == "ended":
        ss[key] = None
        st.rerun()


__all__ = ["open_sessions", "poll_seconds", "track"]
