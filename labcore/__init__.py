"""Gradient Flow Lab's library: specs, builders, probes, trainer, presets. It never imports streamlit."""
from .metrics import LAYER_METRICS, MetricsChunk
from .spec import DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError, TrainSpec

__all__ = ["DataSpec", "InitSpec", "LayerSpec", "NetSpec", "RunSpec", "SpecError", "TrainSpec",
           "LAYER_METRICS", "MetricsChunk"]
