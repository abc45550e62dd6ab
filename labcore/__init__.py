"""Gradient Flow Lab's library: specs, builders, probes, trainers, the run store, figures. It never
imports streamlit.

Notebook use::

    from labcore import Trainer, load_preset, override
    spec = override(load_preset("sigmoid-deep").spec, skip="residual")
    metrics = Trainer(spec).steps(200)
    df = metrics.to_frame()

The package map (each sub-package's docstring says what it owns and what it may import; the
import-linter contracts in ``pyproject.toml`` enforce it), lowest layer first:

* :mod:`labcore.core`: the shared vocabulary: SpecError, statuses, metric chunks, the run protocol;
* :mod:`labcore.data`: the embedded data sets and device-resident tensors;
* :mod:`labcore.spec`: specs, choices, codecs, the size guard, twins;
* :mod:`labcore.nets`: network builders (MLP, ResNets, VGG, AlexNet) and their probe points;
* :mod:`labcore.train`: the probe, the training loop, trainers, the job manager;
* :mod:`labcore.store`: the SQLite run store;
* :mod:`labcore.figures`: plots and the diagnosis;
* :mod:`labcore.families`: each family of networks, registered (spec -> trainer);
* :mod:`labcore.presets`; :mod:`labcore.cli`: the command line.

Names are imported lazily, so ``import labcore`` does not load torch until a trainer is used.
"""
from __future__ import annotations

import importlib

import labcore.families  # noqa: F401  (registers the built-in families; no torch)

_EXPORTS = {
    "DataSpec": "labcore.spec.mlp", "InitSpec": "labcore.spec.mlp", "LayerSpec": "labcore.spec.mlp",
    "NetSpec": "labcore.spec.mlp", "RunSpec": "labcore.spec.mlp", "TrainSpec": "labcore.spec.mlp",
    "SpecError": "labcore.core.errors", "LAYER_METRICS": "labcore.core.metrics",
    "MetricsChunk": "labcore.core.metrics", "Trainer": "labcore.train.mlp", "list_presets": "labcore.presets",
    "load_preset": "labcore.presets", "override": "labcore.spec.edit",
    "Change": "labcore.spec.events", "Event": "labcore.spec.events", "SurgeryError": "labcore.spec.events",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labcore' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
