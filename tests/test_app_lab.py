"""AppTest of the router and the Lab page: controls, presets, errors, training, twins, French, links."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labcore.spec.codec import from_url, to_url
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
from tests.charts import chart_specs

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def tiny(activation="sigmoid", depth=6, steps=40) -> RunSpec:
    return RunSpec(NetSpec.uniform(depth, 16, activation, init="xavier_normal"),
                   TrainSpec(DataSpec("spirals", n_samples=200), steps=steps, record_every=1,
                             flush_every=10, eval_every=10, device="cpu", lr=0.003))


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs_at_the_end():
    yield
    from ui import resources

    resources.manager().shutdown()
    resources.manager.clear()


def app(spec: RunSpec | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if spec is not None:
        at.query_params["spec"] = to_url(spec)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def no_exceptions(at):
    assert not at.exception, [e.value for e in at.exception]


def wait_jobs(at, timeout=120.0):
    """Wait for the session's jobs to end, then redraw."""
    from ui import resources

    ids = at.session_state["lab_jobs"]
    assert ids
    deadline = time.monotonic() + timeout
    for i in ids:
        job = resources.manager().get(i)
        while job is not None and not job.done:
            assert time.monotonic() < deadline, "job did not finish"
            time.sleep(0.02)
    return at.run()


def texts(at):
    out = []
    for kind in ("error", "warning", "success", "info", "caption", "markdown"):
        out += [e.value for e in getattr(at, kind)]
    out += [p.proto.text for p in at.get("progress")]  # the run's status line
    return "\n".join(str(x) for x in out)


def test_app_opens_on_the_lab_with_the_shared_sidebar():
    at = app()
    no_exceptions(at)
    assert at.title[0].value == "Gradient Flow Lab"
    assert at.sidebar.radio[0].value == "en" and at.session_state["app_lang"] == "en"
    assert at.sidebar.number_input[0].value == 0 and at.session_state["app_seed"] == 0
    assert at.sidebar.selectbox[0].value == "auto"
    assert any("In use:" in c.value for c in at.sidebar.caption)
    assert at.selectbox(key="lab_preset").value == "sigmoid-deep"
    assert from_url(at.query_params["spec"]).net.depth == 24  # the link carries the config


def test_controls_change_the_spec_in_the_link():
    at = app()
    at.number_input(key="lab_depth").set_value(5).run()
    at.selectbox(key="lab_activation").select("tanh").run()
    at.text_input(key="lab_lr").input("0.01").run()
    no_exceptions(at)
    spec = from_url(at.query_params["spec"])
    assert spec.net.depth == 5 and spec.net.layers[0].activation == "tanh" and spec.train.lr == 0.01
    assert not at.error


def test_picking_a_preset_loads_it_with_its_description():
    at = app()
    at.selectbox(key="lab_preset").select("residual").run()
    no_exceptions(at)
    assert at.selectbox(key="lab_skip").value == "residual"
    assert any("residual skips" in i.value for i in at.info)
    assert from_url(at.query_params["spec"]).net.layers[0].skip == "residual"


@pytest.mark.parametrize("key,value,expect", [
    ("lab_depth", 0, "Depth must be a whole number from 1 to 1000"),
    ("lab_width", 1_000_000_000, "Width must be a whole number from 1 to 16384"),
    ("lab_lr", "nan", "learning rate must be a number > 0"),
    ("lab_lr", "fast", "learning rate must be a number > 0"),
    ("lab_batch", 0, "batch size must be a whole number"),
])
def test_invalid_values_show_an_error_next_to_the_control(key, value, expect):
    at = app()
    before = at.query_params["spec"]
    w = at.text_input(key=key) if key == "lab_lr" else at.number_input(key=key)
    (w.input(value) if key == "lab_lr" else w.set_value(value)).run()
    no_exceptions(at)
    errors = [e.value for e in at.error]
    assert any(expect in e for e in errors), errors
    assert at.button(key="lab_train").disabled
    assert at.query_params["spec"] == before  # the last good config is kept in the link


def test_the_size_guard_refuses_a_huge_stack():
    at = app()
    at.number_input(key="lab_depth").set_value(1000).run()
    at.number_input(key="lab_width").set_value(16384).run()
    no_exceptions(at)
    assert any("Too big for this machine" in e.value and "parameters" in e.value for e in at.error)


def test_an_unavailable_device_is_refused_before_training():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: nothing to refuse")
    at = app()
    at.session_state["app_device"] = "cuda"  # what the sidebar's device choice stores
    at.run()
    no_exceptions(at)
    assert any("not available" in e.value for e in at.error)
    assert at.button(key="lab_train").disabled


def test_a_malformed_link_is_reported_and_the_default_loaded():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["spec"] = "g1.not-a-real-code!!"
    at.run()
    no_exceptions(at)
    assert any("could not be read" in e.value for e in at.error)
    assert at.number_input(key="lab_depth").value == 24


def test_a_link_reopens_the_same_lab():
    spec = tiny(activation="tanh", depth=7)
    at = app(spec, twin="residual")
    no_exceptions(at)
    assert at.number_input(key="lab_depth").value == 7
    assert at.selectbox(key="lab_activation").value == "tanh"
    assert at.selectbox(key="lab_twin").value == "residual"
    assert from_url(at.query_params["spec"]) == spec


def test_train_runs_a_short_job_and_shows_charts_and_diagnosis():
    at = app(tiny(depth=12, steps=60))
    at.button(key="lab_train").click().run()
    no_exceptions(at)
    at = wait_jobs(at)
    no_exceptions(at)
    page = texts(at)
    assert "finished" in page
    assert "Vanishing gradients: the gradient ‖∂L/∂h‖ at the first hidden layer is" in page
    figs = chart_specs(at)
    for key in ("lab_diagram", "lab_preview", "lab_chart_depth", "lab_chart_heat0", "lab_chart_loss",
                "lab_chart_update0", "lab_chart_acts", "lab_chart_boundary0", "lab_chart_hist0"):
        assert figs.get(key, {}).get("data"), key  # every chart is there, with traces
    # The depth chart shows the final step, bold, and the heatmap has one row per probed layer.
    assert figs["lab_chart_depth"]["data"][-1]["name"].endswith("step 60")
    assert len(figs["lab_chart_heat0"]["data"][0]["y"]) == 13  # 12 hidden layers + output
    assert at.button(key="lab_stop").disabled and not at.button(key="lab_reset").disabled
    at.button(key="lab_reset").click().run()
    assert at.session_state["lab_jobs"] == []


def test_twin_runs_show_a_and_b():
    at = app(tiny(depth=12, steps=40))
    at.selectbox(key="lab_twin").select("residual").run()
    at.button(key="lab_train").click().run()
    at = wait_jobs(at)
    no_exceptions(at)
    page = texts(at)
    assert "**A:** Vanishing gradients" in page
    assert "**B:**" in page and "B · " in page
    assert at.query_params["twin"] == "residual"


def test_step_pause_and_stop():
    at = app(tiny(steps=100_000))
    at.button(key="lab_step").click().run()
    from ui import resources

    job = resources.manager().get(at.session_state["lab_jobs"][0])
    deadline = time.monotonic() + 60
    while not (job.status == "paused" and job.view().steps == 10):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    at.run()
    assert at.button(key="lab_pause").label == "Resume"
    at.button(key="lab_pause").click().run()
    assert not job.paused
    at.number_input(key="lab_depth").set_value(5).run()  # other widgets during training...
    at.selectbox(key="lab_preset").select("relu-he").run()
    assert not job.done and at.session_state["lab_jobs"] == [job.id]  # ...leave the run alone
    at.button(key="lab_stop").click().run()
    at = wait_jobs(at)
    assert job.status == "stopped"
    no_exceptions(at)


def test_everything_in_french():
    at = app(tiny(depth=12, steps=40), lang="fr")
    no_exceptions(at)
    assert at.title[0].value == "Labo du flux de gradient"
    assert at.button(key="lab_train").label == "Entraîner"
    assert at.number_input(key="lab_depth").label == "Profondeur (couches cachées)"
    at.button(key="lab_train").click().run()
    at = wait_jobs(at)
    page = texts(at)
    assert "Gradients évanescents" in page and "terminé" in page
    at.number_input(key="lab_depth").set_value(0).run()
    assert any("La profondeur doit être un entier" in e.value for e in at.error)
    at.session_state["app_lang"] = "en"  # what the sidebar's language choice stores
    at.run()
    assert at.title[0].value == "Gradient Flow Lab"


def test_the_sidebar_seed_goes_into_the_spec():
    at = app()
    at.session_state["app_seed"] = 7  # what the sidebar's seed input stores
    at.run()
    no_exceptions(at)
    assert from_url(at.query_params["spec"]).train.seed == 7 and at.session_state["app_seed"] == 7


def test_translation_table_is_complete():
    import ui.strings_app  # noqa: F401
    import ui.strings_lab  # noqa: F401
    from ui.i18n import missing

    assert missing() == []


def test_per_layer_overrides_reach_the_spec_and_the_link():
    at = app(tiny(depth=4))
    at.session_state["lab_overrides"] = {1: {"activation": "relu", "width": 32}, 3: {"skip": "residual"}}
    at.run()
    no_exceptions(at)
    spec = from_url(at.query_params["spec"])
    assert [l.activation for l in spec.net.layers] == ["sigmoid", "relu", "sigmoid", "sigmoid"]
    assert [l.width for l in spec.net.layers] == [16, 32, 16, 16]
    assert spec.net.layers[3].skip == "residual"
    assert at.expander[0].label == "Layers one by one (2 overridden)"  # layers 2 and 4
    at.selectbox(key="lab_activation").select("tanh").run()  # the quick control resets that column
    spec = from_url(at.query_params["spec"])
    assert {l.activation for l in spec.net.layers} == {"tanh"} and spec.net.layers[1].width == 32
    assert at.expander[0].label == "Layers one by one (2 overridden)"  # layer 4's skip stays
    at.number_input(key="lab_depth").set_value(2).run()  # rows beyond the depth are dropped
    assert at.session_state["lab_overrides"] == {1: {"width": 32}}


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_other_data_sets_preview_and_hide_2d_controls(name):
    at = app(tiny(depth=3))
    at.selectbox(key="lab_dataset").select(name).run()
    no_exceptions(at)
    assert not at.error
    assert not [w for w in at.number_input if w.key == "lab_noise"]  # 2-D only
    assert from_url(at.query_params["spec"]).train.data.name == name
    assert {"lab_preview", "lab_diagram"} <= set(chart_specs(at))
