"""Gradient Flow Lab's library: specs, builders, probes, trainer, presets. It never imports streamlit.

Notebook use::

    from labcore import Trainer, load_preset, override
    spec = override(load_preset("sigmoid-deep").spec, skip="residual")
    metrics = Trainer(spec).steps(200)
    df = metrics.to_frame()
"""
from .edit import override
from .metrics import LAYER_METRICS, MetricsChunk
from .presets import list_presets, load_preset
from .spec import DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError, TrainSpec
from .train import Trainer

__all__ = ["DataSpec", "InitSpec", "LayerSpec", "NetSpec", "RunSpec", "SpecError", "TrainSpec",
           "LAYER_METRICS", "MetricsChunk", "Trainer", "list_presets", "load_preset", "override"]
