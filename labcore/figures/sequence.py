"""Through time and through depth: the diagnosis of sequence runs, and their extra charts.

For a recurrent run the probe's "layers" are time steps (``t1 … tT``), the per-layer
``grad_norm`` is ‖∂L/∂h_t‖ (:mod:`labcore.train.recurrent`). :func:`through_time_ratio` is the
through-time analogue of the first/last layer ratio; :func:`diagnose_time` words the verdict for
time steps (the keys ``diag.time_*``, translated by the UI; :data:`ENGLISH` for the CLI).
:func:`gate_stats` draws the keep-gate mean and the saturated share against t.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from labcore.core.metrics import MetricsChunk, through_time_ratio
from labcore.figures.diagnose import THRESHOLDS, Diagnosis
from labcore.figures.plots import MAX_DEPTH_POINTS, RUN_COLORS, _axes, _grid, _lab, _scatter, _spec, chart, pick

TIME_SEVERITY = {"waiting": "info", "failed": "error", "diverged": "error", "time_vanishing": "warning",
                 "time_exploding": "error", "time_uneven": "warning", "time_healthy": "ok"}

ENGLISH = {
    "time_vanishing": "Vanishing through time: the first step receives {ratio:.0e}× the gradient of the last "
                      "(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖); what the input said at the start barely reaches the weights.",
    "time_exploding": "Exploding through time: the first step receives {ratio:.0e}× the gradient of the last.",
    "time_uneven": "Fading through time: the first step receives {ratio:.2g}× the gradient of the last.",
    "time_healthy": "Flowing through time: ‖∂L/∂h_t‖ stays within {limit:.0f}× from the last step to the first.",
}


def diagnose_time(m: MetricsChunk, status: str, first_bad_step: int | None = None,
                  error: str | None = None) -> Diagnosis:
    """The verdict on a recurrent run's gradients through time, over its last few recorded steps."""
    def make(kind, **numbers):
        return Diagnosis(kind, TIME_SEVERITY[kind], numbers, int(m.steps[-1]) if len(m.steps) else None)

    if status == "failed":
        return make("failed", error=error or "")
    if status == "diverged":
        return make("diverged", step=first_bad_step or 0)
    if len(m.steps) == 0:
        return make("waiting")
    ratio = through_time_ratio(m.metric("grad_norm")[-THRESHOLDS.window:])
    if not np.isfinite(ratio):
        return make("waiting")
    if ratio < THRESHOLDS.vanishing_ratio:
        return make("time_vanishing", ratio=ratio)
    if ratio > THRESHOLDS.exploding_ratio:
        return make("time_exploding", ratio=ratio)
    if ratio < 1 / THRESHOLDS.healthy_spread or ratio > THRESHOLDS.healthy_spread:
        return make("time_uneven", ratio=ratio)
    return make("time_healthy", limit=THRESHOLDS.healthy_spread)


def sentence(d: Diagnosis) -> str:
    from labcore.figures.diagnose import _ENGLISH

    return {**_ENGLISH, **ENGLISH}.get(d.kind, d.kind).format(**d.numbers)


@chart
def gate_stats(runs: Sequence[tuple[str, MetricsChunk]], labels: dict | None = None, height: int = 300) -> dict:
    """Against t, at the latest recorded step: the keep-gate mean (LSTM f_t, GRU z_t) and saturated %."""
    spec = _spec(height, showlegend=len(runs) > 1)
    spec["layout"]["margin"]["t"] = 40
    spec["layout"]["legend"]["y"] = 1.1
    axes = _grid(spec, [_lab(labels, "keep_gate"), _lab(labels, "saturated")])
    for r, (name, m) in enumerate(runs):
        if len(m.steps) == 0:
            continue
        color = RUN_COLORS[r % len(RUN_COLORS)]
        cols = pick(len(m.layers), MAX_DEPTH_POINTS)
        x, text = cols + 1, [m.layers[i] for i in cols]
        for c, (metric, scale) in enumerate((("act_mean", 1.0), ("saturated", 100.0))):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                y = m.metric(metric)[-1, cols] * scale
            spec["data"].append(_scatter(
                x, y, text=text, mode="lines", line={"color": color, "width": 2}, name=name, legendgroup=name,
                showlegend=c == 0, xaxis=axes[c][0], yaxis=axes[c][1], hovertemplate="%{text}: %{y:.3g}<extra></extra>"))
    _axes(spec, "x", title={"text": _lab(labels, "time")})
    spec["layout"]["yaxis"]["range"] = [0, 1.02]
    spec["layout"]["yaxis2"]["range"] = [0, 101]
    return spec


__all__ = ["ENGLISH", "TIME_SEVERITY", "diagnose_time", "gate_stats", "sentence", "through_time_ratio"]
