"""Live views poll more slowly when many sessions are open, paced by what a poll really costs."""
import time

import pytest

from ui import polling


def _burn(seconds: float) -> None:
    """Spend about ``seconds`` of this thread's CPU time (not wall time: a sleep costs nothing)."""
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        sum(i * i for i in range(1000))


def test_a_polls_cpu_time_paces_the_polling_of_many_sessions(monkeypatch):
    view = "test-view"
    polling._cost.pop(view, None)
    monkeypatch.setattr(polling, "open_sessions", lambda: 30)
    # Unmeasured: the per-session floor (30 x 0.04 s).
    assert polling.poll_seconds(0.4, 0.04, view) == 30 * 0.04
    body = polling.costed(view, lambda: _burn(0.03))
    body()
    cost = polling._cost[view]
    assert 0.03 <= cost < 0.5  # CPU time of the thread, measured
    # 30 sessions' polls at that cost may take POLL_SHARE of a core: a longer period.
    period = polling.poll_seconds(0.4, 0.04, view)
    assert period == pytest.approx(30 * cost / polling.POLL_SHARE) and period > 30 * 0.04
    # Waiting costs nothing: a poll that sleeps (a first chunk awaited) barely moves the average.
    polling.costed(view, lambda: time.sleep(0.2))()
    assert polling._cost[view] < cost


def test_one_session_polls_at_the_base_period(monkeypatch):
    monkeypatch.setattr(polling, "open_sessions", lambda: 1)
    polling.costed("test-one", lambda: _burn(0.02))()
    assert polling.poll_seconds(0.4, 0.04, "test-one") == 0.4
