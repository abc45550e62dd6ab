"""A class on a real server, at the protocol level: light sessions (bench/wsclient.py, Streamlit's
own websocket messages, as the browser sends them) open the Lab on one preset's link and press
Train in the same instant. They all see the run progress and finish, one run is trained and
stored, and every session's page ends with its buttons updated."""
import asyncio
import sqlite3
import tempfile
from pathlib import Path

from bench.wsclient import LightSession
from labcore.presets import load_preset
from labcore.spec.codec import to_url
from tests.browser import streamlit_server

PROGRESS = " · step [1-9][0-9]*/[0-9]+"
FINISHED = "· finished ·"


def test_sessions_pressing_train_together_share_one_run_and_all_see_it_end():
    spec = load_preset("sigmoid-deep").spec
    home = tempfile.mkdtemp(prefix="lab-home-class-")
    with streamlit_server(lab_home=home) as url:
        async def main():
            sessions = [LightSession(url, "spec=" + to_url(spec)) for _ in range(6)]
            for s in sessions:
                s.watch("first", PROGRESS)
                s.watch("end", FINISHED)
            try:
                await asyncio.gather(*[s.open() for s in sessions])
                await asyncio.gather(*[s.wait_button("Train", 90) for s in sessions])
                train_fragments = {s.buttons["Train"][1] for s in sessions}
                await asyncio.gather(*[s.press("Train") for s in sessions])
                await asyncio.gather(*[s.wait_for("first", 120) for s in sessions])
                await asyncio.gather(*[s.wait_for("end", 180) for s in sessions])
                return train_fragments, [s.error for s in sessions]
            finally:
                await asyncio.gather(*[s.close() for s in sessions])

        fragments, errors = asyncio.run(main())
    assert errors == [""] * 6
    assert all(fragments)  # the Train button is drawn in the run panel's fragment: a press reruns only it
    rows = sqlite3.connect(Path(home) / "runs.sqlite").execute("select status, steps from runs").fetchall()
    assert rows == [("finished", spec.train.steps)]  # six presses, one run
