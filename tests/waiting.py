"""Polling helper for tests that drive background jobs."""
import time


def wait(cond, timeout=60.0):
    """Poll until cond() is true; a guard against hangs, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
