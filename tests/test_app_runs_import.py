"""AppTest of the Runs page's spec import with the issue's hostile files: each is refused in one
escaped line naming its field, the page keeps working, and a valid full-model spec imports."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_cli_hostile import HOSTILE

RUNS = str(Path(__file__).resolve().parents[1] / "pages" / "runs.py")
CASES = ["deep.json", "dotted.toml", "seed.json", "gain.toml", "bn1.json", "nesterov.json", "evalbomb.json",
         "model-bn1.json"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    from ui import resources

    resources.reset_run_store(close=True)
    yield tmp_path
    resources.reset_run_store(close=True)


def upload(at, name: str, data: bytes):
    at.file_uploader(key="runs_import").set_value((name, data, "application/octet-stream"))
    return at.run()


def test_hostile_imports_are_refused_in_one_line_and_a_model_spec_imports(home):
    at = AppTest.from_file(RUNS, default_timeout=120).run()
    for name in CASES:
        text, field = HOSTILE[name]
        upload(at, name, text.encode())
        assert not at.exception, (name, [e.value for e in at.exception])
        refused = [e.value for e in at.error if "This file was refused" in e.value]
        assert len(refused) == 1, (name, [e.value for e in at.error])
        plain = refused[0].replace("\\", "").replace("\u2060", "")  # the markdown escapes
        assert f"{field} = " in plain and "\n" not in refused[0], (name, plain)
    upload(at, "model.json", b'{"kind": "model", "model": "resnet20", "dataset": "digits"}')
    assert not at.exception and any("Valid full model configuration" in s.value for s in at.success)
    upload(at, "link.json", b'{"net": {"depth": 2, "layer": {"width": 8}}, "train": {"steps": 5}}')
    assert any("2 hidden layers, 5 steps" in s.value for s in at.success)
