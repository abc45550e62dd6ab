"""plots: data -> figures, asserted on fig.data; bounded sizes for huge runs."""
import numpy as np
import plotly.io as pio
import pytest

from labcore.figures import plots, setup_plots
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.spec.mlp import LayerSpec


def fake(r=20, l=6, seed=0, grad=None):
    rng = np.random.default_rng(seed)
    layer = rng.uniform(0.1, 1.0, (r, len(LAYER_METRICS), l))
    if grad is not None:
        layer[:, LAYER_METRICS.index("grad_norm"), :] = grad
    steps = np.arange(1, r + 1) * 5
    names = [f"h{i + 1}" for i in range(l - 1)] + ["out"]
    return MetricsChunk(names, steps, rng.uniform(0.1, 1, r), rng.uniform(0, 1, r), layer,
                        eval_steps=steps[::5], test_loss=rng.uniform(0.1, 1, len(steps[::5])),
                        test_acc=rng.uniform(0, 1, len(steps[::5])), all_steps=np.arange(1, r * 5 + 1),
                        step_loss=rng.uniform(0.1, 1, r * 5))


def test_grad_vs_depth_bold_current_faded_history_log_axis():
    m = fake()
    fig = plots.grad_vs_depth([("A", m)])
    assert len(fig.data) == plots.HISTORY + 1
    *old, cur = fig.data
    assert cur.line.width > max(t.line.width for t in old)
    assert all(t.line.color.startswith("rgba") for t in old)
    alphas = [float(t.line.color.split(",")[-1].rstrip(")")) for t in old]
    assert alphas == sorted(alphas)  # older is fainter
    assert list(cur.x) == list(range(1, 7)) and cur.text[0] == "h1"  # input on the left
    np.testing.assert_allclose(cur.y, m.metric("grad_norm")[-1])
    assert fig.layout.yaxis.type == "log"
    assert "step 100" in cur.name


def test_grad_vs_depth_overlays_twins_in_two_colours():
    fig = plots.grad_vs_depth([("A", fake()), ("B", fake(seed=1))], history=2)
    assert len(fig.data) == 6
    assert fig.data[2].line.color == plots.RUN_COLORS[0] and fig.data[5].line.color == plots.RUN_COLORS[1]


def test_zero_or_nan_gradients_are_gaps_on_the_log_axis():
    g = np.ones((3, 4))
    g[-1, 1], g[-1, 2] = 0.0, np.nan
    fig = plots.grad_vs_depth([("A", fake(r=3, l=4, grad=g))], history=0)
    y = np.asarray(fig.data[-1].y, dtype=float)
    assert np.isnan(y[1]) and np.isnan(y[2]) and y[0] == 1.0


def test_heatmap_is_log10_and_keeps_tiny_layers_visible():
    g = np.tile([1e-15, 1e-1, 1.0], (10, 1))
    fig = plots.grad_heatmap(fake(r=10, l=3, grad=g))
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3, 10)  # layers x steps
    np.testing.assert_allclose(z[:, 0], [-15, -1, 0])
    assert list(fig.data[0].y) == ["h1", "h2", "out"]


def test_huge_heatmap_is_downsampled():
    big = fake(r=400, l=1001)
    fig = plots.grad_heatmap(big)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape[0] <= plots.MAX_HEAT_LAYERS and z.shape[1] <= plots.MAX_HEAT_STEPS
    long = fake(r=5000, l=4)
    assert np.asarray(plots.grad_heatmap(long).data[0].z).shape == (4, plots.MAX_HEAT_STEPS)
    depth = plots.grad_vs_depth([("A", big)])
    assert all(len(t.x) <= plots.MAX_DEPTH_POINTS for t in depth.data)
    loss = plots.loss_curves([("A", long)])
    assert all(len(t.x) <= plots.MAX_LINE_POINTS for t in loss.data)


def test_shared_heat_range():
    lo, hi = plots.heat_range([fake(grad=1e-3), fake(grad=10.0)])
    assert lo == pytest.approx(-3) and hi == pytest.approx(1)


def test_loss_curves_train_and_test_in_two_panels():
    fig = plots.loss_curves([("A", fake()), ("B", fake(seed=2))])
    assert len(fig.data) == 8  # per run: train loss, train acc, test loss, test acc
    test = [t for t in fig.data if "test" in t.name]
    assert all(t.line.dash == "dot" for t in test)
    assert {t.xaxis for t in fig.data} == {"x", "x2"}
    assert fig.layout.yaxis.type == "log"


def test_activation_stats_three_panels_in_percent():
    m = fake()
    fig = plots.activation_stats([("A", m)])
    assert [t.xaxis for t in fig.data] == ["x", "x2", "x3"]
    np.testing.assert_allclose(fig.data[2].y, 100 * m.metric("dead")[-1])


def test_activation_stats_before_the_first_recorded_step_says_no_data():
    from labcore.core.metrics import MetricsChunk

    fig = plots.activation_stats([("A", MetricsChunk.empty(["L1", "L2"]))], labels={"no_data": "pas encore"})
    assert not fig.data and [a.text for a in fig.layout.annotations][-1] == "pas encore"


def test_update_ratio_has_the_guide_line_and_few_lines():
    fig = plots.update_ratio(fake(l=30))
    guide = fig.data[-1]
    assert list(guide.y) == [1e-3, 1e-3] and guide.line.dash == "dash"
    assert len(fig.data) - 1 == plots.MAX_RATIO_LINES
    assert fig.layout.yaxis.type == "log"


def test_decision_boundary_and_histograms_from_snapshot_data():
    xs = np.linspace(-1, 1, 8)
    b = {"xs": xs, "ys": xs, "cls": np.zeros((8, 8), int), "conf": np.full((8, 8), 0.9),
         "px": np.zeros((6, 2)), "py": np.array([0, 0, 0, 1, 1, 1]), "n_classes": 2}
    fig = plots.decision_boundary(b)
    assert fig.data[0].type == "heatmap" and len(fig.data) == 3
    assert len(fig.data[1].x) == 3
    edges = np.linspace(-1, 1, 5)
    h = {k: {"edges": edges, "counts": np.array([1, 2, 3, 4])} for k in ("activation", "act_grad", "weight_grad")}
    h["layer"] = "h2"
    fig = plots.histograms(h)
    assert [t.type for t in fig.data] == ["bar"] * 3 and list(fig.data[0].y) == [1, 2, 3, 4]
    assert plots.histograms(None).layout.annotations  # "no data yet"


def test_stack_diagram_shows_skips_and_elides_deep_stacks():
    layers = [LayerSpec(64, "relu", skip="residual")] * 3 + [LayerSpec(32, "tanh", skip="dense")]
    fig = setup_plots.stack_diagram(layers)
    names = [t.name for t in fig.data]
    assert "residual" in names and "dense" in names and "relu" in names and "tanh" in names
    deep = setup_plots.stack_diagram([LayerSpec()] * 1000)
    boxes = sum(len(t.x) for t in deep.data if t.mode == "markers")
    assert boxes <= 48 and "…" in deep.data[-1].text


@pytest.mark.parametrize("kind,x,y", [
    ("2d", np.random.default_rng(0).normal(size=(100, 2)), np.arange(100) % 2),
    ("image", np.random.default_rng(0).uniform(size=(30, 64)), np.arange(30) % 10),
    ("signal", np.random.default_rng(0).normal(size=(30, 40)), np.arange(30) % 10),
])
def test_data_preview(kind, x, y):
    fig = setup_plots.data_preview(kind, x, y)
    assert fig.data


def test_labels_are_replaceable_and_raw_specs_serialise():
    spec = plots.grad_vs_depth([("A", fake())], labels={"depth": "couche"}, raw=True)
    assert isinstance(spec, dict) and spec["layout"]["xaxis"]["title"]["text"] == "couche"
    assert pio.to_json(spec, validate=False)
    assert plots.grad_heatmap(MetricsChunk.empty(["h1"])).layout.annotations[0].text == "no data yet"
