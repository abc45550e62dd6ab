"""Data -> plotly Figure, nothing else. Every chart is downsampled to a bounded size.

The pictures of a configuration rather than of a run (the stack diagram, the data preview) are in
:mod:`labcore.figures.setup_plots`.

Functions take :class:`~labcore.core.metrics.MetricsChunk` objects (or the plain dicts of
:mod:`labcore.train.snapshot`) and return a ``go.Figure``; they never compute training statistics.
Twin runs are passed as a list of ``(label, chunk)`` pairs and drawn overlaid in the colours of
:data:`RUN_COLORS`. Axis titles come from ``labels`` (English defaults in :data:`LABELS`) so the
page can pass its translations.

Each chart is built as a plain dict (``{"data": [...], "layout": {...}}``) and wrapped in a
``go.Figure`` on return; pass ``raw=True`` to get the dict itself. Plotly's object model costs
tens of milliseconds per figure, which a page redrawing several charts twice a second would
steal from the training thread (they share the GIL).

Bounds (design.md §5): a heatmap has at most ``MAX_HEAT_LAYERS x MAX_HEAT_STEPS`` cells, a line at
most ``MAX_LINE_POINTS`` points and a per-layer chart at most ``MAX_DEPTH_POINTS`` points, so a
1000-layer x 10k-step run stays interactive.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from labcore.figures.diagnose import THRESHOLDS
from labcore.core.metrics import MetricsChunk

MAX_HEAT_LAYERS = 120
MAX_HEAT_STEPS = 300
MAX_LINE_POINTS = 1500
MAX_DEPTH_POINTS = 500
MAX_RATIO_LINES = 8
HISTORY = 5  # earlier snapshots drawn faded in the gradient-vs-depth chart

RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

LABELS = {
    "depth": "layer (input → output)", "grad_norm": "weight-gradient norm ‖∇W‖",
    "out_grad_norm": "backprop signal ‖∂L/∂h‖", "step": "step", "layer": "layer",
    "log10_grad": "log₁₀ ‖∇W‖", "loss": "loss", "accuracy": "accuracy", "train": "train",
    "test": "test", "act_std": "activation std", "saturated": "saturated %", "dead": "dead %",
    "update_ratio": "update : weight ‖ΔW‖/‖W‖", "guide": "1e-3 guide", "step_at": "step {step}",
    "x1": "x₁", "x2": "x₂", "count": "count", "activation": "activations",
    "act_grad": "∂L/∂activation", "weight_grad": "∂L/∂W", "class": "class {k}",
    "no_data": "no data yet", "input": "input", "output": "output", "width": "width",
    "signal": "t", "value": "value", "out_layer": "out",
}


def _lab(labels: dict | None, key: str, **fmt) -> str:
    text = (labels or {}).get(key) or LABELS.get(key, key)
    return text.format(**fmt) if fmt else text


def _layer(name: str, labels: dict | None) -> str:
    """A probe point's name as shown: the classifier head ("out") in the page's language."""
    return _lab(labels, "out_layer") if name == "out" else name


def chart(fn):
    """Wrap a spec builder: returns ``go.Figure`` by default, the plain dict with ``raw=True``."""

    @functools.wraps(fn)
    def wrapper(*args, raw: bool = False, **kw):
        spec = fn(*args, **kw)
        return spec if raw else go.Figure(spec)

    return wrapper


def _spec(height: int = 320, title: str | None = None, **layout) -> dict:
    lay = {"height": height, "margin": {"l": 10, "r": 10, "t": 36, "b": 10},
           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0}}
    if title:
        lay["title"] = {"text": title, "x": 0.01, "font": {"size": 13}}
    lay.update(layout)
    return {"data": [], "layout": lay}


def _grid(spec: dict, titles: Sequence[str], gap: float = 0.07) -> list[tuple[str, str]]:
    """Lay ``len(titles)`` side-by-side panels out; returns each panel's (xaxis, yaxis) ids."""
    n = len(titles)
    w = (1 - gap * (n - 1)) / n
    lay, ids = spec["layout"], []
    ann = lay.setdefault("annotations", [])
    for i, t in enumerate(titles):
        sx = "" if i == 0 else str(i + 1)
        lo = i * (w + gap)
        lay[f"xaxis{sx}"] = {"domain": [lo, lo + w], "anchor": f"y{sx}"}
        lay[f"yaxis{sx}"] = {"anchor": f"x{sx}"}
        ann.append({"text": t, "x": lo + w / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                    "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
        ids.append((f"x{sx}", f"y{sx}"))
    return ids


def _axes(spec: dict, prefix: str, **props) -> None:
    """Set properties on every x (or y) axis of a spec."""
    lay = spec["layout"]
    names = [k for k in lay if k.startswith(prefix + "axis")] or [prefix + "axis"]
    for k in names:
        lay.setdefault(k, {}).update(props)


def pick(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices spread evenly over ``range(n)``, first and last included."""
    if n <= k:
        return np.arange(n)
    if k <= 1:
        return np.array([n - 1])  # the newest
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def _nanmean_blocks(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Average ``a`` in at most ``k`` contiguous blocks along ``axis`` (NaN-aware, vectorised)."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[axis]
    if n <= k:
        return a
    starts = np.linspace(0, n, k + 1).round().astype(np.int64)[:-1]
    ok = np.isfinite(a)
    sums = np.add.reduceat(np.where(ok, a, 0.0), starts, axis=axis)
    counts = np.add.reduceat(ok.astype(np.float64), starts, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _log10(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.asarray(a, dtype=np.float64))
    return np.where(np.isfinite(out), out, np.nan)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _positive(a: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros and non-finite become gaps."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def log_axis(axis: dict, values: Sequence = ()) -> None:
    """A log axis labelled at whole decades only, spanning at least one decade.

    Plotly labels a log axis that spans less than a decade with bare digits ("1, 9, 8, 7" for
    1, 0.9, 0.8, 0.7); here the range is widened to a decade and only powers of ten are labelled.
    """
    axis.update(type="log", exponentformat="power", showexponent="all")
    finite = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if len(values) else np.zeros(0)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if len(finite):
        lo, hi = math.floor(math.log10(finite.min())), math.ceil(math.log10(finite.max()))
        hi = max(hi, lo + 1)
        axis.update(range=[lo - 0.15, hi + 0.15], dtick=max(1, math.ceil((hi - lo) / 5)), tick0=0)


def _scatter(x, y, **kw) -> dict:
    return {"type": "scatter", "x": x, "y": y, **kw}


# ----------------------------------------------------------------------------- gradient flow
@chart
def grad_vs_depth(runs: Sequence[tuple[str, MetricsChunk]], metric: str = "grad_norm",
                  history: int = HISTORY, labels: dict | None = None, height: int = 340,
                  title: str | None = None) -> dict:
    """Per-layer gradient norm against depth, log y, input on the left.

    The latest recorded step is a bold line; ``history`` earlier snapshots are faded (older is
    fainter), so the profile's change over training shows. Twins are overlaid.
    """
    spec = _spec(height, title)
    if title:  # the title takes the top left: the legend goes to the right
        spec["layout"]["legend"].update(x=1, xanchor="right")
    for r, (name, m) in enumerate(runs):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        if len(m.steps) == 0:
            continue
        vals = m.metric(metric)  # (R, L)
        cols = pick(vals.shape[1], MAX_DEPTH_POINTS)
        x, text = cols + 1, [_layer(m.layers[i], labels) for i in cols]
        rows = pick(len(m.steps), history + 1)
        hover = "%{text}: %{y:.2e}<extra>%{fullData.name}</extra>"
        for j, i in enumerate(rows[:-1]):
            alpha = 0.12 + 0.4 * (j + 1) / len(rows)
            spec["data"].append(_scatter(
                x, _positive(vals[i, cols]), mode="lines", text=text, showlegend=False,
                line={"color": _rgba(color, alpha), "width": 1.2}, hovertemplate=hover,
                name=f"{name} · {_lab(labels, 'step_at', step=int(m.steps[i]))}"))
        last = rows[-1]
        spec["data"].append(_scatter(
            x, _positive(vals[last, cols]), mode="lines+markers", text=text, hovertemplate=hover,
            line={"color": color, "width": 3.5}, marker={"size": 5},
            name=f"{name} · {_lab(labels, 'step_at', step=int(m.steps[last]))}"))
    _axes(spec, "y", type="log", title={"text": _lab(labels, metric)}, exponentformat="power")
    _axes(spec, "x", title={"text": _lab(labels, "depth")})
    if not spec["data"]:
        _empty(spec, labels)
    return spec


@chart
def grad_heatmap(m: MetricsChunk, metric: str = "grad_norm", labels: dict | None = None,
                 title: str | None = None, height: int = 340, zrange: tuple | None = None) -> dict:
    """Layer x step heatmap of log10 gradient norm, block-averaged to a bounded size.

    Rows are layers (input at the bottom), columns recorded steps. Averaging happens in log
    space, so a 1e-15 layer stays visible next to a 1e-1 one.
    """
    spec = _spec(height, title)
    if len(m.steps) == 0:
        return _empty(spec, labels)
    z = _log10(m.metric(metric)).T  # (L, R): one row per layer
    z = _nanmean_blocks(_nanmean_blocks(z, MAX_HEAT_LAYERS, 0), MAX_HEAT_STEPS, 1)
    steps = _nanmean_blocks(m.steps[None, :], MAX_HEAT_STEPS, 1)[0].round()
    layer_idx = np.linspace(0, len(m.layers) - 1, z.shape[0]).round().astype(int)
    trace = {"type": "heatmap", "z": np.round(z, 2), "x": steps, "y": [_layer(m.layers[i], labels) for i in layer_idx],
             "colorscale": "Viridis", "hovertemplate": "%{y} · %{x}: %{z:.2f}<extra></extra>",
             "colorbar": {"title": {"text": _lab(labels, "log10_grad"), "side": "right"}, "thickness": 12}}
    if zrange:
        trace["zmin"], trace["zmax"] = zrange
    spec["data"].append(trace)
    _axes(spec, "x", title={"text": _lab(labels, "step")})
    _axes(spec, "y", title={"text": _lab(labels, "layer")}, type="category")
    return spec


def heat_range(runs: Sequence[MetricsChunk], metric: str = "grad_norm") -> tuple | None:
    """A shared colour range (log10) for heatmaps shown side by side."""
    vals = [_log10(m.metric(metric)) for m in runs if len(m.steps)]
    vals = [v[np.isfinite(v)] for v in vals]
    vals = [v for v in vals if v.size]
    if not vals:
        return None
    allv = np.concatenate(vals)
    return float(np.percentile(allv, 1)), float(np.percentile(allv, 99))


# ----------------------------------------------------------------------------- training curves
def _line_points(x: np.ndarray, y: np.ndarray, k: int = MAX_LINE_POINTS):
    """Downsample a long curve: block means keep its trend (min/max would keep its noise)."""
    if len(x) <= k:
        return x, y
    return _nanmean_blocks(x[None], k, 1)[0], _nanmean_blocks(y[None], k, 1)[0]


@chart
def loss_curves(runs: Sequence[tuple[str, MetricsChunk]], labels: dict | None = None,
                height: int = 320) -> dict:
    """Loss (left, log y) and accuracy (right), train solid and test dotted; twins in their colours."""
    spec = _spec(height)
    spec["layout"]["margin"]["t"] = 28
    spec["layout"]["legend"].update(y=-0.22, yanchor="top")  # below: the panel titles stay readable
    (xl, yl), (xa, ya) = _grid(spec, [_lab(labels, "loss"), _lab(labels, "accuracy")], gap=0.1)
    for r, (name, m) in enumerate(runs):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        if len(m.all_steps):
            x, y = _line_points(m.all_steps, m.step_loss)
        else:
            x, y = _line_points(m.steps, m.loss)
        train = f"{name} · {_lab(labels, 'train')}"
        spec["data"].append(_scatter(x, y, mode="lines", line={"color": color, "width": 1.5},
                                     name=train, legendgroup=name, xaxis=xl, yaxis=yl))
        x, y = _line_points(m.steps, m.acc)
        spec["data"].append(_scatter(x, y, mode="lines", line={"color": color, "width": 1.5},
                                     name=train, legendgroup=name, showlegend=False, xaxis=xa, yaxis=ya))
        if len(m.eval_steps):
            for (xs, ys), vals in (((xl, yl), m.test_loss), ((xa, ya), m.test_acc)):
                spec["data"].append(_scatter(
                    m.eval_steps, vals, mode="lines+markers", line={"color": color, "width": 2, "dash": "dot"},
                    marker={"size": 5}, name=f"{name} · {_lab(labels, 'test')}", legendgroup=name,
                    showlegend=xs == xl, xaxis=xs, yaxis=ys))
    _axes(spec, "x", title={"text": _lab(labels, "step")})
    log_axis(spec["layout"]["yaxis"], [t["y"] for t in spec["data"] if t.get("yaxis") == yl])
    spec["layout"]["yaxis2"]["range"] = [0, 1.02]
    return spec


@chart
def activation_stats(runs: Sequence[tuple[str, MetricsChunk]], labels: dict | None = None,
                     height: int = 300) -> dict:
    """Per-layer activation std, saturated % and dead-ReLU % at the latest recorded step."""
    spec = _spec(height, showlegend=len(runs) > 1)
    spec["layout"]["margin"]["t"] = 40
    spec["layout"]["legend"]["y"] = 1.1
    axes = _grid(spec, [_lab(labels, "act_std"), _lab(labels, "saturated"), _lab(labels, "dead")])
    for r, (name, m) in enumerate(runs):
        if len(m.steps) == 0:
            continue
        color = RUN_COLORS[r % len(RUN_COLORS)]
        cols = pick(len(m.layers), MAX_DEPTH_POINTS)
        x, text = cols + 1, [_layer(m.layers[i], labels) for i in cols]
        for c, (metric, scale) in enumerate((("act_std", 1.0), ("saturated", 100.0), ("dead", 100.0))):
            y = m.metric(metric)[-1, cols] * scale
            spec["data"].append(_scatter(
                x, y, text=text, mode="lines+markers", marker={"size": 4}, line={"color": color, "width": 2},
                name=name, legendgroup=name, showlegend=c == 0, xaxis=axes[c][0], yaxis=axes[c][1],
                hovertemplate="%{text}: %{y:.3g}<extra></extra>"))
    _axes(spec, "x", title={"text": _lab(labels, "layer")})  # short: three panels side by side
    log_axis(spec["layout"]["yaxis"], [t["y"] for t in spec["data"] if t.get("yaxis") == axes[0][1]])
    spec["layout"]["yaxis2"]["range"] = [0, 101]
    spec["layout"]["yaxis3"]["range"] = [0, 101]
    return spec if spec["data"] else _empty(spec, labels)  # no recorded step yet: say so


@chart
def update_ratio(m: MetricsChunk, labels: dict | None = None, title: str | None = None,
                 max_lines: int = MAX_RATIO_LINES, height: int = 320) -> dict:
    """‖ΔW‖/‖W‖ over time for a few layers spread over depth, log y, with the 1e-3 guide line."""
    spec = _spec(height, title)
    # the legend to the right: below, it ran into the "step" axis title
    spec["layout"]["legend"].update(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", font={"size": 10})
    if len(m.steps) == 0:
        return _empty(spec, labels)
    vals = m.metric("update_ratio")
    layers = pick(len(m.layers), max_lines)
    for j, i in enumerate(layers):
        frac = j / max(1, len(layers) - 1)  # input side blue, output side red
        color = f"rgb({int(40 + 200 * frac)},{int(90 + 60 * (1 - frac))},{int(220 - 180 * frac)})"
        x, y = _line_points(m.steps, vals[:, i])
        spec["data"].append(_scatter(x, _positive(y), mode="lines", name=_layer(m.layers[i], labels),
                                     line={"color": color, "width": 1.6}))
    guide = THRESHOLDS.update_ratio_guide
    spec["data"].append(_scatter([int(m.steps[0]), int(m.steps[-1])], [guide, guide], mode="lines",
                                 name=_lab(labels, "guide"),
                                 line={"color": "black", "dash": "dash", "width": 1.5}))
    _axes(spec, "y", type="log", title={"text": _lab(labels, "update_ratio")}, exponentformat="power")
    _axes(spec, "x", title={"text": _lab(labels, "step")})
    return spec


# ----------------------------------------------------------------------------- snapshots
@chart
def decision_boundary(b: dict | None, labels: dict | None = None, title: str | None = None,
                      height: int = 340) -> dict:
    """Predicted class regions (shaded by confidence) with the data points on top."""
    spec = _spec(height, title)
    if not b:
        return _empty(spec, labels)
    k = max(2, int(b["n_classes"]))
    # One colour band per class; the cell value is class + confidence shading in [0, 0.999].
    z = b["cls"] + 0.999 * np.clip((b["conf"] - 1.0 / k) / (1 - 1.0 / k), 0, 1)
    scale = []
    for c in range(k):
        base = CLASS_COLORS[c % len(CLASS_COLORS)]
        scale += [[c / k, _rgba(base, 0.08)], [(c + 1) / k - 1e-6, _rgba(base, 0.55)]]
    scale[-1][0] = 1.0
    spec["data"].append({"type": "heatmap", "x": b["xs"], "y": b["ys"], "z": z, "zmin": 0, "zmax": k,
                         "colorscale": scale, "showscale": False, "hoverinfo": "skip"})
    for c in range(k):
        sel = b["py"] == c  # px: (n, 2) points, py: (n,) classes
        spec["data"].append(_scatter(
            b["px"][sel, 0], b["px"][sel, 1], mode="markers", name=_lab(labels, "class", k=c),
            marker={"color": CLASS_COLORS[c % len(CLASS_COLORS)], "size": 5,
                    "line": {"color": "white", "width": 0.5}}))
    _axes(spec, "x", title={"text": _lab(labels, "x1")}, range=[float(b["xs"][0]), float(b["xs"][-1])])
    _axes(spec, "y", title={"text": _lab(labels, "x2")}, range=[float(b["ys"][0]), float(b["ys"][-1])],
          scaleanchor="x", scaleratio=1)
    return spec


@chart
def histograms(h: dict | None, labels: dict | None = None, color: str = RUN_COLORS[0],
               title: str | None = None, height: int = 300) -> dict:
    """Activations, their gradients and the weight gradient of one layer, as bar histograms."""
    keys = ("activation", "act_grad", "weight_grad")
    spec = _spec(height, title, showlegend=False, bargap=0.02)
    spec["layout"]["margin"]["t"] = 60 if title else 40
    axes = _grid(spec, [_lab(labels, k) for k in keys])
    if not h:
        return _empty(spec, labels)
    for c, k in enumerate(keys):
        d = h.get(k) or {}
        edges, counts = np.asarray(d.get("edges", [])), np.asarray(d.get("counts", []))
        if counts.size == 0:
            continue
        spec["data"].append({"type": "bar", "x": (edges[:-1] + edges[1:]) / 2, "y": counts,
                             "width": np.diff(edges), "marker": {"color": color},
                             "xaxis": axes[c][0], "yaxis": axes[c][1],
                             "hovertemplate": "%{x:.3g}: %{y}<extra></extra>"})
    _axes(spec, "x", exponentformat="e")
    return spec


# ----------------------------------------------------------------------------- building blocks
def _empty(spec: dict, labels: dict | None) -> dict:
    spec["layout"].setdefault("annotations", []).append(
        {"text": _lab(labels, "no_data"), "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
         "showarrow": False, "font": {"size": 14, "color": "#888"}})
    return spec


__all__ = ["LABELS", "RUN_COLORS", "activation_stats", "chart", "decision_boundary",
           "grad_heatmap", "grad_vs_depth", "heat_range", "histograms", "loss_curves", "pick",
           "update_ratio"]
