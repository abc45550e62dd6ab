"""AppTest of the Through-time page: renders in both languages, twins train, the link reopens the settings."""
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from labcore.spec import codec
from labcore.spec.recurrent import RecurrentSpec

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(lang: str = "en", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/sequences.py")
    return at.run()


def _w(widgets, key):
    return next(w for w in widgets if w.key == key)


def test_page_renders_in_both_languages_without_errors():
    at = open_page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("recurrent" in t.value for t in at.title)
    fr = open_page("fr")
    assert not fr.exception
    assert any("réseaux récurrents" in t.value for t in fr.title)
    bad = open_page()
    _w(bad.selectbox, "rnn_task").set_value("parity")
    _w(bad.number_input, "rnn_difficulty").set_value(30).run()  # the widget allows it, parity does not (1-8)
    assert not bad.exception and bad.error  # one clear line, no traceback


def test_link_reopens_the_settings_and_twins_train():
    spec = RecurrentSpec(cell="rnn", task="parity", seq_len=20, hidden=8, steps=30, record_every=5, flush_every=10)
    at = open_page(rnn=codec.to_url(spec), rnn_twin="lstm")
    assert not at.exception, [e.value for e in at.exception]
    assert _w(at.selectbox, "rnn_cell").value == "rnn" and _w(at.number_input, "rnn_seq_len").value == 20
    assert _w(at.selectbox, "rnn_twin").value == "lstm"
    _w(at.button, "rnn_train").click().run()
    from ui.resources import manager
    from labcore.core.status import TERMINAL

    ids = at.session_state["rnn_jobs"]
    assert len(ids) == 2
    deadline = time.time() + 120
    while time.time() < deadline and not all(manager().get(i).status in TERMINAL for i in ids):
        time.sleep(0.3)
    views = [manager().get(i).view() for i in ids]
    assert [v.spec.cell for v in views] == ["rnn", "lstm"] and all(v.status == "finished" for v in views)
    assert views[0].metrics.layers == [f"t{i}" for i in range(1, 21)] and len(views[1].metrics.steps) == 7
    at.run()
    assert not at.exception


def test_transformers_page_renders_in_french_with_the_preset_twin():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "fr"
    at.run()
    at.switch_page("pages/transformers.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("transformers" in t.value for t in at.title)
    assert _w(at.selectbox, "tf_ln").value == "post" and _w(at.selectbox, "tf_twin").value == "pre_ln"
