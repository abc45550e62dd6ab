"""At most a few script runs draw at the same moment; the others wait without the GIL.

Every browser session's script run (a page, a button's fragment, a live view's poll) is a thread
of its own. Thirty of them runnable at once take the GIL in turn with the training thread and the
server's event loop, so training got a thirty-second share of it and a health check waited
seconds (``bench/classroom.py``: a class's 2-second run took 10). A run waiting here is blocked on
a semaphore, not on the GIL: training and the event loop keep their share, and the script runs
queue instead of interleaving, each ending sooner, with the same total work.

:func:`drawing` wraps a page's run and every fragment's body; it is re-entrant (a fragment drawn
inside its page's run, or inside its parent fragment, takes no second slot). :func:`released`
gives the slot back around a wait (a page waiting for a run's first chunk must not hold it).
``LAB_DRAW_SLOTS`` (default 2) sets how many draw at once.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading


def _slots() -> int:
    try:
        return max(1, int(os.environ.get("LAB_DRAW_SLOTS", "2")))
    except ValueError:
        return 2


SLOTS = _slots()
_sem = threading.BoundedSemaphore(SLOTS)
_local = threading.local()


@contextlib.contextmanager
def drawing():
    """Hold a drawing slot for the block (re-entrant within a thread)."""
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        _sem.acquire()
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth -= 1
        if _local.depth == 0:
            _sem.release()


@contextlib.contextmanager
def released():
    """Give this thread's slot back for the block (a wait), and take it again after."""
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = 0
        _sem.release()
    try:
        yield
    finally:
        if depth:
            _sem.acquire()
            _local.depth = depth


def held() -> bool:
    """Whether this thread holds a slot (for tests)."""
    return getattr(_local, "depth", 0) > 0




def gated(fn):
    """``fn`` run holding a drawing slot (a fragment's body: ``st.fragment(gated(body))``)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with drawing():
            return fn(*args, **kwargs)

    return run


__all__ = ["SLOTS", "drawing", "gated", "held", "released"]
