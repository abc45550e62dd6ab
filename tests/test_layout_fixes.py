"""Issue 11's layout faults, as properties of the chart dicts and UI helpers (pixels in the browser tests)."""
from dataclasses import replace

import numpy as np

from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.figures import models as model_plots
from labcore.figures import plots, setup_plots
from labcore.spec.mlp import NetSpec


def _chunk(layers=("h1", "h2", "out"), rows=4, value=0.8):
    layer = np.full((rows, len(LAYER_METRICS), len(layers)), value)
    return MetricsChunk(list(layers), np.arange(1, rows + 1), np.full(rows, 0.7), np.full(rows, 0.5), layer,
                        all_steps=np.arange(1, rows + 1), step_loss=np.linspace(0.9, 0.6, rows))


def test_one_changed_layer_among_24_is_marked():
    net = NetSpec.uniform(24, 64, "sigmoid")
    layers = list(net.layers)
    layers[11] = replace(layers[11], width=65)
    fig = setup_plots.stack_diagram(layers, names={"changed": "couche modifiée", "sigmoid": "sigmoïde"}, raw=True)
    marks = [t for t in fig["data"] if t.get("name") == "couche modifiée"]
    assert len(marks) == 1 and list(marks[0]["x"]) == [12]
    assert any(t.get("name") == "sigmoïde" for t in fig["data"])
    assert not any(t.get("name") == "couche modifiée" for t in setup_plots.stack_diagram(net.layers, raw=True)["data"])


def test_log_axes_label_decades_only():
    fig = plots.loss_curves([("A", _chunk())], raw=True)  # a loss within 0.6..0.9: under one decade
    y = fig["layout"]["yaxis"]
    assert y["type"] == "log" and y["dtick"] == 1 and y["range"][1] - y["range"][0] >= 1
    acts = plots.activation_stats([("A", _chunk())], raw=True)
    assert acts["layout"]["yaxis"]["dtick"] == 1


def test_update_ratio_legend_beside_and_short_activation_x_titles():
    fig = plots.update_ratio(_chunk(), raw=True)
    assert fig["layout"]["legend"]["orientation"] == "v" and fig["layout"]["legend"]["x"] > 1
    acts = plots.activation_stats([("A", _chunk())], labels={"layer": "couche"}, raw=True)
    assert {acts["layout"][k]["title"]["text"] for k in ("xaxis", "xaxis2", "xaxis3")} == {"couche"}


def test_head_layer_named_in_the_page_language():
    fig = plots.grad_heatmap(_chunk(), labels={"out_layer": "sortie"}, raw=True)
    assert list(fig["data"][0]["y"])[-1] == "sortie"


def test_topk_table_header_has_readable_colours():
    fig = model_plots.topk_table([{"label": "a", "model": "resnet20", "dataset": "digits", "top1": 0.9, "top5": 1.0}])
    header = fig.data[0].header
    assert header.fill.color == "#e8eef7" and header.font.color == "#111111"


def test_device_label_in_french_with_plural_forms():
    import ui.strings_app  # noqa: F401
    from ui.widgets import device_text

    assert device_text("CPU (2 threads)", "fr") == "CPU (2 fils d'exécution)"
    assert device_text("CPU (1 thread)", "fr") == "CPU (1 fil d'exécution)"
    assert device_text("CPU (2 threads)", "en") == "CPU (2 threads)"
