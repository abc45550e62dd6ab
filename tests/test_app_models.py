"""AppTest of the Models page: the degradation experiment and a single-model run, tiny settings."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.charts import chart_count, chart_specs

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs_at_the_end():
    yield
    from ui.resources import model_jobs

    model_jobs().shutdown()
    model_jobs.clear()


def open_models(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/models.py")
    return at.run()


def no_exceptions(at):
    assert not at.exception, [e.value for e in at.exception]


def _by_key(widgets, key):
    return next(w for w in widgets if w.key == key)


def _wait_done(at, key: str, timeout: float = 240.0):
    """Wait until the jobs of ``key`` are done (AppTest does not tick fragments), return them."""
    from labcore.core.status import TERMINAL as DONE
    from ui.resources import model_jobs

    start = time.time()
    while time.time() - start < timeout:
        mine = [j for j in (model_jobs().get(i) for i in at.session_state[key]) if j is not None]
        if mine and all(j.status in DONE for j in mine):
            return mine
        time.sleep(0.5)
    raise AssertionError("jobs did not finish")


def test_models_page_renders_in_both_languages():
    at = open_models()
    no_exceptions(at)
    assert any("plain vs ResNet" in t.value for t in at.title)
    assert _by_key(at.multiselect, "models_deg_depths").value == [20, 56]
    assert _by_key(at.number_input, "models_deg_epochs").value == 6
    fr = open_models("fr")
    no_exceptions(fr)
    assert any("plain contre ResNet" in t.value for t in fr.title)


def test_missing_torchvision_set_offers_a_download_button():
    at = open_models()
    _by_key(at.selectbox, "models_deg_dataset").set_value("cifar10").run()
    no_exceptions(at)
    assert any("cifar10" in w.value for w in at.warning)
    assert any(b.key == "models_deg_download" for b in at.button)  # not clicked: no download in tests


def test_degradation_experiment_runs_and_draws_the_figures():
    at = open_models()
    _by_key(at.multiselect, "models_deg_depths").set_value([20])
    _by_key(at.number_input, "models_deg_epochs").set_value(2)
    _by_key(at.number_input, "models_deg_n_train").set_value(128)
    _by_key(at.number_input, "models_deg_batch").set_value(64)
    at.run()
    no_exceptions(at)
    _by_key(at.button, "models_deg_run").click().run()
    no_exceptions(at)
    jobs = _wait_done(at, "models_deg_jobs")
    assert sorted(j.name for j in jobs) == ["plain20", "resnet20"]
    assert all(j.status == "finished" for j in jobs), [(j.name, j.status, j.error) for j in jobs]
    at.run()
    no_exceptions(at)
    keys = list(chart_specs(at))
    assert chart_count(at) >= 4, keys
    v = jobs[0].view()
    assert v.summary["epoch"] == 2 and len(v.summary["history"]) == 2
    assert 0.0 <= v.summary["top1"] <= 1.0


def test_single_model_run():
    at = open_models()
    _by_key(at.selectbox, "models_one_model").set_value("vgg11_bn")
    _by_key(at.number_input, "models_one_epochs").set_value(1)
    _by_key(at.number_input, "models_one_n_train").set_value(64)
    _by_key(at.number_input, "models_one_batch").set_value(32)
    at.run()
    _by_key(at.button, "models_one_run").click().run()
    no_exceptions(at)
    jobs = _wait_done(at, "models_one_jobs")
    assert jobs[0].status == "finished", jobs[0].error
    at.run()
    no_exceptions(at)
    assert chart_count(at) >= 4, list(chart_specs(at))
