"""How a live view polls: how often (slower when many sessions are open) and how it stops.

A live view is a fragment with ``run_every`` while a run trains; each poll is a script run that
holds the GIL the training thread needs (~10 ms for the Lab's fast part). Thirty pages polling every
0.4 s took most of a core and a class's shared run crawled (``bench/classroom.py``).
"""
from __future__ import annotations

import functools
import threading
import time

import streamlit as st

from ui import slots


def open_sessions() -> int:
    """Browser sessions connected to this server now (1 when we cannot tell)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return 1
        return max(1, Runtime.instance()._session_mgr.num_active_sessions())
    except Exception:
        return 1


# All live views' polling together may take about this share of one core (what a poll costs is
# measured: its script thread's CPU time); the rest of the machine is training's. With 30 pages on
# the Lab, polls cost ~15 ms each and ran every 1.2 s: half a core of the 2-core machine, which the
# training processes lost (a class's six presets took ~16 s instead of ~10).
POLL_SHARE = 0.2
_cost: dict[str, float] = {}  # view -> moving average of one poll's CPU seconds
_cost_lock = threading.Lock()


def poll_seconds(base: float, per_session: float, view: str = "") -> float:
    """A live view's polling period: ``base``, or longer when many sessions are open: at least
    ``per_session`` seconds per open session, and long enough that the open sessions' polls of
    ``view`` (at their measured cost, :func:`costed`) take at most :data:`POLL_SHARE` of a core."""
    cost = _cost.get(view, 0.0) if view else 0.0
    return max(base, open_sessions() * max(per_session, cost / POLL_SHARE))


def costed(view: str, fn):
    """``fn`` (a live view's body) with its CPU time measured into ``view``'s poll cost."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - t0
            with _cost_lock:
                old = _cost.get(view)
                _cost[view] = spent if old is None else 0.8 * old + 0.2 * spent

    return run


def live_fragment(view: str, fn, base: float, per_session: float, active: bool):
    """``fn`` as a live view's fragment: holding a drawing slot (:mod:`ui.slots`), its CPU time
    measured as ``view``'s poll cost, and polled at :func:`poll_seconds` while ``active`` (else
    drawn once). Call the result with ``fn``'s arguments."""
    every = poll_seconds(base, per_session, view) if active else None
    return st.fragment(slots.gated(costed(view, fn)), run_every=every)


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


__all__ = ["POLL_SHARE", "costed", "live_fragment", "open_sessions", "poll_seconds", "track"]
