"""AppTest of the Lab's live-surgery panel: a change on a paused run, bad input as one clear line
(the run untouched), the markers on the step charts, French."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labcore.spec.codec import to_url
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
from tests.charts import chart_specs
from ui.surgery import change_of, parse_layers

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def tiny(steps=100_000) -> RunSpec:
    return RunSpec(NetSpec.uniform(6, 16, "sigmoid", init="xavier_normal"),
                   TrainSpec(DataSpec("spirals", n_samples=200), steps=steps, record_every=1,
                             flush_every=10, eval_every=10, device="cpu", lr=0.003))


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs_at_the_end():
    yield
    from ui import resources

    resources.manager().shutdown()
    resources.manager.clear()


def paused_run(lang="en"):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = to_url(tiny())
    at.query_params["lang"] = lang
    at.run()
    at.button(key="lab_step").click().run()
    from ui import resources

    job = resources.manager().get(at.session_state["lab_jobs"][0])
    deadline = time.monotonic() + 60
    while not (job.status == "paused" and job.view().steps == 10):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return at.run(), job


def wait_events(job, n):
    deadline = time.monotonic() + 30
    while len(job.view().events) < n:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def texts(at):
    return "\n".join(str(e.value) for kind in ("error", "warning", "success", "caption") for e in getattr(at, kind))


def test_parse_layers_and_the_change_it_makes():
    assert parse_layers("") is None and parse_layers(" 1-3, 7;9 ") == [1, 2, 3, 7, 9]
    for bad in ("a", "3-1", "1-", "1.5"):
        with pytest.raises(ValueError):
            parse_layers(bad)
    assert change_of("freeze", None, [2]) == {"set": {"frozen": True}, "layers": [2]}
    assert change_of("lr", 0.1, [2]) == {"set": {"lr": 0.1}}


def test_a_change_on_a_paused_run_then_bad_ones_refused():
    at, job = paused_run()
    assert at.button(key="surg_apply").label == "Apply change"
    at.selectbox(key="surg_kind").select("norm").run()
    at.selectbox(key="surg_value_norm").select("batchnorm").run()
    at.text_input(key="surg_layers").input("2-3").run()
    at.button(key="surg_apply").click().run()
    assert not at.exception
    assert "norm: none→batchnorm, applied at the next step boundary" in texts(at)
    wait_events(job, 1)
    at.run()
    page = texts(at)
    assert "step 10: norm: none→batchnorm" in page and "≈ identity on the current batch" in page
    figs = chart_specs(at)
    for key in ("lab_chart_heat0", "lab_chart_loss"):
        assert any(s.get("name") == "event:10" for s in figs[key]["layout"].get("shapes", [])), key
    # the same norm again: one clear line, the run untouched
    before = job.trainer.state
    at.button(key="surg_apply").click().run()
    assert "not applied, the run is untouched. norm = 'batchnorm' is not allowed: a layer without a norm: " \
           "layer 2 already has batchnorm" in texts(at)
    at.text_input(key="surg_layers").input("2, x").run()
    at.button(key="surg_apply").click().run()
    assert "Layers: '2, x' is not a list of layer numbers" in texts(at)
    at.text_input(key="surg_layers").input("99").run()
    at.button(key="surg_apply").click().run()
    assert "a layer from 1 to 6" in texts(at)
    assert job.trainer.state is before and len(job.view().events) == 1
    at.selectbox(key="surg_kind").select("optimizer").run()
    assert "resets its state" in texts(at)
    job.stop()


def test_the_panel_in_french():
    at, job = paused_run("fr")
    assert at.button(key="surg_apply").label == "Appliquer"
    at.button(key="surg_apply").click().run()  # the first choice: residual skips on every layer
    assert "skip: none→residual, appliqué à la prochaine frontière de pas" in texts(at)
    wait_events(job, 1)
    at.run()
    assert "pas 10 : skip: none→residual" in texts(at)
    job.stop()


def test_a_spec_with_planned_events_trains_with_them_and_keeps_them_in_the_link():
    from dataclasses import replace

    from labcore.spec.codec import from_url
    from labcore.spec.events import Change, Event
    from ui import resources

    spec = replace(tiny(steps=40), events=(Event(20, Change.of(skip="residual")),))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = to_url(spec)
    at.run()
    assert not at.exception
    assert "after step 20: skip → residual" in texts(at)
    assert from_url(at.query_params["spec"]).events == spec.events  # the link keeps them
    at.button(key="lab_train").click().run()
    job = resources.manager().get(at.session_state["lab_jobs"][0])
    wait_events(job, 1)
    assert job.view().events[0]["step"] == 20
    at.number_input(key="lab_depth").set_value(3).run()  # still fits: layers were not named
    assert "after step 20" in texts(at)
    at.button(key="surg_drop_planned").click().run()
    assert "after step 20" not in texts(at) and not from_url(at.query_params["spec"]).events
    job.stop()


def test_compare_marks_each_runs_events_on_its_step_charts(tmp_path, monkeypatch):
    from dataclasses import replace

    from labcore.core.sinks import train_into
    from labcore.spec.events import Change, Event
    from labcore.store.db import RunStore
    from labcore.train.mlp import Trainer
    from tests.charts import chart_specs
    from ui import resources

    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    resources.reset_run_store(close=True)
    try:
        with RunStore() as s:
            for name, events in (("plain", ()), ("fixed", (Event(20, Change.of(skip="residual")),))):
                sink = s.sink(name=name)
                train_into(Trainer(replace(tiny(steps=40), events=events)), sink, name=name)
        at = AppTest.from_file(str(Path(APP).parent / "pages" / "compare.py"), default_timeout=120).run()
        assert not at.exception
        figs = chart_specs(at)
        curves = [a["text"] for a in figs["cmp_curves"]["layout"]["annotations"] if a.get("name") == "event:20"]
        assert curves == ["#2 fixed: skip: none→residual"]
        heat = [s for s in figs["cmp_heatmaps"]["layout"]["shapes"] if s.get("name") == "event:20"]
        assert [s["xref"] for s in heat] == ["x"]  # newest first: run #2 is the first panel
    finally:
        resources.reset_run_store(close=True)


def test_planned_events_that_no_longer_fit_are_left_out_with_a_warning():
    from dataclasses import replace

    from labcore.spec.events import Change, Event

    spec = replace(tiny(steps=40), events=(Event(20, Change.of(norm="batchnorm", layers=[6])),))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = to_url(spec)
    at.run()
    at.number_input(key="lab_depth").set_value(3).run()
    assert not at.exception
    assert "no longer fit this network and are left out: events[0].layers = 6" in texts(at)
    assert not at.button(key="lab_train").disabled  # the run itself is fine
