"""The Lessons page's charts: per-layer profiles with the theory lines and the lesson's arrow.

Pure functions, data -> plotly dict/Figure (see :mod:`labcore.figures.plots`): one panel each, so
that a projector shows one large chart per idea. ``big=True`` sets every text on the chart to at
least :data:`BIG_FONT` px (presenter view). Log axes label only decades, as powers of ten (plotly
otherwise writes a log axis spanning less than a decade with single digits: "1, 9, 8, 7").

* :func:`depth_profile`: a per-layer metric against depth at step 0 (faded) and at the latest
  step (bold), twins overlaid, with the dashed prediction of :mod:`labcore.figures.theory_lab`;
* :func:`curves`: training loss or test accuracy against steps;
* :func:`look_point`: where a lesson's arrow points (the layer, the value, the drop).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from labcore.core.metrics import MetricsChunk
from labcore.figures.plots import RUN_COLORS, _line_points, _positive, _rgba, _scatter, chart, log_axis
from labcore.figures.theory_lab import Prediction

BIG_FONT = 18  # px: the presenter view's smallest chart text
LOG_METRICS = ("out_grad_norm", "grad_norm", "act_std")
PERCENT_METRICS = ("saturated", "dead")

LABELS = {
    "depth": "layer (input → output)", "out_grad_norm": "backprop signal ‖∂L/∂h‖",
    "grad_norm": "weight-gradient norm ‖∇W‖", "act_std": "activation std", "saturated": "saturated %",
    "dead": "dead %", "step": "step", "loss": "training loss", "accuracy": "test accuracy",
    "init": "step 0 (faint)", "latest": "step {step}", "theory": "theory (dashed)", "bound": "σ′ ≤ ¼ bound",
    "no_data": "no data yet",
}


def _lab(labels: dict | None, key: str, **fmt) -> str:
    text = (labels or {}).get(key) or LABELS.get(key, key)
    return text.format(**fmt) if fmt else text


def _layout(height: int, big: bool, title: str | None) -> dict:
    f = BIG_FONT if big else 13
    lay = {"height": height, "font": {"size": f},
           "margin": {"l": 10, "r": 10, "t": 48 if title else 10, "b": 10},
           "legend": {"orientation": "h", "yanchor": "top", "y": -0.32 if big else -0.28, "x": 0,
                      "font": {"size": f}},
           "xaxis": {"automargin": True, "tickfont": {"size": f}, "title": {"font": {"size": f}}},
           "yaxis": {"automargin": True, "tickfont": {"size": f}, "title": {"font": {"size": f}}},
           "hoverlabel": {"font": {"size": f}}}
    if title:
        lay["title"] = {"text": title, "x": 0.01, "font": {"size": f + 2}}
    return lay


_log_axis = log_axis  # one rule for every log axis (labcore.figures.plots)


@chart
def depth_profile(runs: Sequence[tuple[str, MetricsChunk]], metric: str = "out_grad_norm",
                  theory: Sequence[Prediction | None] | None = None, look: dict | None = None,
                  labels: dict | None = None, height: int = 380, big: bool = False,
                  title: str | None = None, head: int = 1) -> dict:
    """``metric`` per hidden layer at step 0 (thin, faded) and at the latest step (bold).

    ``head``: trailing probe points that are not hidden layers (the classifier head; 0 for a
    recurrent run, whose points are all time steps: :attr:`~labcore.core.family.Family.head_points`).

    ``theory[i]`` (one per run, or None) draws run i's prediction dashed: the activation std as
    predicted, the backprop signal anchored at the run's measured last hidden layer at step 0; for
    sigmoid stacks also the σ′ ≤ ¼ bound, dotted. ``look`` = ``{"x", "y", "text"}`` draws an arrow.
    """
    lay = _layout(height, big, title)
    spec = {"data": [], "layout": lay}
    scale = 100.0 if metric in PERCENT_METRICS else 1.0
    for r, (name, m) in enumerate(runs):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        if len(m.steps) == 0:
            continue
        vals = _hidden(m.metric(metric), head) * scale  # (R, L) hidden layers only
        x = np.arange(1, vals.shape[1] + 1)
        fix = _positive if metric in LOG_METRICS else (lambda a: a)
        spec["data"].append(_scatter(x, fix(vals[0]), mode="lines", name=f"{name} · {_lab(labels, 'init')}",
                                     line={"color": _rgba(color, 0.45), "width": 2}, legendgroup=name,
                                     showlegend=len(m.steps) == 1))
        if len(m.steps) > 1:
            spec["data"].append(_scatter(
                x, fix(vals[-1]), mode="lines+markers", marker={"size": 7 if big else 5},
                name=f"{name} · {_lab(labels, 'latest', step=int(m.steps[-1]))}",
                line={"color": color, "width": 4 if big else 3}, legendgroup=name))
        p = theory[r] if theory and r < len(theory) else None
        if p is not None and metric in ("out_grad_norm", "act_std"):
            if metric == "act_std":
                pred = p.act_std
            else:
                last = vals[0, -1]
                pred = p.signal * last if np.isfinite(last) and last > 0 else None
            if pred is not None:
                spec["data"].append(_scatter(x, _positive(pred), mode="lines", name=_lab(labels, "theory"),
                                             line={"color": color, "width": 3, "dash": "dash"}, legendgroup="theory",
                                             showlegend=not any(t.get("legendgroup") == "theory" for t in spec["data"])))
                if metric == "out_grad_norm" and p.bound is not None:
                    spec["data"].append(_scatter(x, _positive(p.bound * vals[0, -1]), mode="lines",
                                                 name=_lab(labels, "bound"),
                                                 line={"color": "#444", "width": 2, "dash": "dot"}))
    lay["xaxis"]["title"]["text"] = _lab(labels, "depth")
    if not title:  # a titled chart says what its y axis is
        lay["yaxis"]["title"]["text"] = _lab(labels, metric)
    if spec["data"] and any(len(m.steps) > 1 for _, m in runs):
        spec["data"].append(_scatter([None], [None], mode="lines", name=_lab(labels, "init"),
                                     line={"color": "rgba(120,120,120,0.5)", "width": 2}))
    if metric in LOG_METRICS:
        _log_axis(lay["yaxis"], [t["y"] for t in spec["data"]])
    elif metric in PERCENT_METRICS:
        lay["yaxis"]["range"] = [0, 101]
    if look and look.get("y") is not None and math.isfinite(look["y"]):
        y = look["y"] * scale
        log = metric in LOG_METRICS
        pos = math.log10(y) if log and y > 0 else y
        rng = lay["yaxis"].get("range") or [pos - 1, pos + 1]
        high = (pos - rng[0]) / max(1e-9, rng[1] - rng[0]) > 0.5  # the text goes where there is room
        n_x = max((len(m.layers) - head for _, m in runs), default=1)
        right = look["x"] <= n_x / 2
        lay["annotations"] = [{
            "x": look["x"], "y": pos, "text": look["text"], "xanchor": "left" if right else "right",
            "showarrow": True, "arrowhead": 2, "arrowsize": 1.5, "arrowwidth": 2,
            "ax": 50 if right else -50, "ay": 55 if high else -55,
            "font": {"size": (BIG_FONT + 2) if big else 14, "color": "#b00020"}, "arrowcolor": "#b00020",
            "bgcolor": "rgba(255,255,255,0.85)"}]
    if not spec["data"]:
        lay["annotations"] = [{"text": _lab(labels, "no_data"), "x": 0.5, "y": 0.5, "xref": "paper",
                               "yref": "paper", "showarrow": False}]
    return spec


@chart
def curves(runs: Sequence[tuple[str, MetricsChunk]], what: str = "loss", labels: dict | None = None,
           height: int = 380, big: bool = False, title: str | None = None) -> dict:
    """Training loss (every step, log y) or test accuracy (each evaluation) against steps."""
    lay = _layout(height, big, title)
    spec = {"data": [], "layout": lay}
    for r, (name, m) in enumerate(runs):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        if what == "loss":
            x, y = _line_points(m.all_steps, m.step_loss) if len(m.all_steps) else _line_points(m.steps, m.loss)
            spec["data"].append(_scatter(x, _positive(y), mode="lines", name=name,
                                         line={"color": color, "width": 3 if big else 2}))
        else:
            spec["data"].append(_scatter(m.eval_steps, m.test_acc, mode="lines+markers", name=name,
                                         marker={"size": 8 if big else 6},
                                         line={"color": color, "width": 3 if big else 2}))
    lay["xaxis"]["title"]["text"] = _lab(labels, "step")
    if not title:
        lay["yaxis"]["title"]["text"] = _lab(labels, what)
    if what == "loss":
        _log_axis(lay["yaxis"], [t["y"] for t in spec["data"]])
    else:
        lay["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    return spec


def overlay_theory(spec: dict, runs: Sequence[tuple[str, MetricsChunk]], preds: Sequence[Prediction | None],
                   metric: str, label: str = "theory (dashed)", xaxis: str = "x", yaxis: str = "y") -> dict:
    """Add each run's predicted per-layer ``metric`` (act_std or out_grad_norm) to a chart dict, dashed.

    For the Lab's gradient-vs-depth and activation charts (:mod:`labcore.figures.plots`), whose x
    is the probe point index (1 = first hidden layer). The signal line is pinned to the run's
    measured last hidden layer at its first recorded step. Returns ``spec``, changed in place.
    """
    if metric not in ("act_std", "out_grad_norm"):
        return spec
    shown = False
    for r, ((name, m), p) in enumerate(zip(runs, preds)):
        if p is None or len(m.steps) == 0:
            continue
        x = np.arange(1, len(p.act_std) + 1)
        if metric == "act_std":
            y = p.act_std
        else:
            last = m.metric(metric)[0, len(p.signal) - 1]
            if not (np.isfinite(last) and last > 0):
                continue
            y = p.signal * last
        spec["data"].append(_scatter(x, _positive(y), mode="lines", name=label, legendgroup="theory",
                                     showlegend=not shown, xaxis=xaxis, yaxis=yaxis, hoverinfo="skip",
                                     line={"color": RUN_COLORS[r % len(RUN_COLORS)], "width": 2.5, "dash": "dash"}))
        shown = True
    return spec


def _hidden(rows: np.ndarray, head: int) -> np.ndarray:
    """The columns of the hidden layers: all but the ``head`` trailing probe points."""
    return rows[..., :rows.shape[-1] - head]


def look_point(m: MetricsChunk, metric: str, where: str, at: str = "init", head: int = 1) -> dict | None:
    """The layer a lesson's arrow points at: ``{"x", "y", "drop", "gain"}`` (last layer ÷ there, and its inverse)."""
    if len(m.steps) == 0:
        return None
    v = _hidden(m.metric(metric)[0 if at == "init" else -1], head)
    finite = np.isfinite(v)
    if not finite.any():
        return None
    idx = {"first": 0, "last": len(v) - 1,
           "min": int(np.nanargmin(np.where(finite, v, np.nan))),
           "max": int(np.nanargmax(np.where(finite, v, np.nan)))}[where]
    y = float(v[idx])
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = float(v[-1] / y) if y != 0 else math.inf
        gain = float(y / v[-1]) if v[-1] != 0 else math.inf
    return {"x": idx + 1, "y": y, "drop": drop, "gain": gain}


def power_of_ten(x: float) -> str:
    """10ⁿ (rounded exponent) for a ratio, e.g. 2.8e12 -> '10¹²'; small ratios as plain numbers."""
    if not math.isfinite(x) or x <= 0:
        return "—"
    if 0.01 <= x < 1000:
        return f"{x:.2g}"
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "10" + str(round(math.log10(x))).translate(sup)


__all__ = ["BIG_FONT", "LABELS", "curves", "depth_profile", "look_point", "overlay_theory", "power_of_ten"]
