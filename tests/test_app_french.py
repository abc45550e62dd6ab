"""AppTest: switching to French relabels every widget's shown value (not only the labels)."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.keys import Keys

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_french_relabels_widget_values_device_and_counts():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {s.key: s.options for s in at.selectbox if s.key}
    assert "sigmoïde" in shown[Keys.control("activation")] and "sigmoid" not in shown[Keys.control("activation")]
    assert "aucune" in shown[Keys.control("norm")] and "none" not in shown[Keys.control("norm")]
    assert "Xavier normale" in shown[Keys.control("init")]
    assert "spirales" in shown[Keys.control("dataset")]
    assert "SGD + inertie" in shown[Keys.control("optimizer")]
    assert any("fil d'exécution" in c.value or "fils d'exécution" in c.value for c in at.sidebar.caption)
    assert not any("thread" in c.value for c in at.sidebar.caption)
    assert any("(0 modifiée)" in e.label for e in at.expander)
    # the same widgets in English show the English values
    en = AppTest.from_file(APP, default_timeout=120)
    en.query_params["lang"] = "en"
    en.run()
    shown = {s.key: s.options for s in en.selectbox if s.key}
    assert "sigmoid" in shown[Keys.control("activation")] and "none" in shown[Keys.control("norm")]
