"""ui/slots.py: at most SLOTS script runs draw at once; re-entrant; a wait gives the slot back."""
import threading
import time

from ui import slots


def _run_many(n, body):
    threads = [threading.Thread(target=body) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()


def test_at_most_slots_threads_draw_at_once_and_all_get_their_turn():
    inside, peak, done = [0], [0], []
    lock = threading.Lock()

    def body():
        with slots.drawing():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.02)  # a script run's work
            with lock:
                inside[0] -= 1
        done.append(1)

    _run_many(12, body)
    assert len(done) == 12 and peak[0] == slots.SLOTS and inside[0] == 0


def test_nested_drawing_takes_no_second_slot():
    """A fragment drawn inside its page's run (both wrapped) must not wait for itself."""
    got = []

    def body():
        with slots.drawing():
            with slots.drawing():  # with every slot taken by this thread's peers, a second acquire would hang
                got.append(slots.held())
        got.append(slots.held())

    _run_many(slots.SLOTS * 3, body)
    assert got.count(True) == slots.SLOTS * 3 and got.count(False) == slots.SLOTS * 3


def test_a_waiting_run_gives_its_slot_to_others():
    """A page waiting for a run's first chunk (slots.released) lets the other pages draw."""
    waiting = threading.Event()
    release = threading.Event()
    drew = []

    def waiter():
        with slots.drawing():
            with slots.released():
                assert not slots.held()
                waiting.set()
                release.wait(10)
            assert slots.held()  # taken back after the wait

    holders = [threading.Thread(target=waiter) for _ in range(slots.SLOTS)]
    for t in holders:
        t.start()
    assert waiting.wait(10)

    def other():
        with slots.drawing():
            drew.append(1)

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    assert drew == [1]  # drew while every slot's owner was waiting
    release.set()
    for h in holders:
        h.join(10)
        assert not h.is_alive()


def test_gated_keeps_the_function_and_holds_a_slot():
    def body(x):
        return slots.held(), x

    wrapped = slots.gated(body)
    assert wrapped.__qualname__ == body.__qualname__  # st.fragment ids are made from it
    assert wrapped(3) == (True, 3) and not slots.held()
