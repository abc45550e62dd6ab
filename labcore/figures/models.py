"""Data -> plotly Figure for the full-model runs and the degradation experiment. Nothing else.

* :func:`training_error` — training (dashed) and test (bold) error against iterations, plain
  nets on the left and ResNets on the right, coloured by depth: the shape of the paper's Fig. 6.
* :func:`grad_profiles` — per-layer weight-gradient norm (log scale), one panel per run, shared
  y axis: plain-56's gradient fades toward the input, ResNet-56's stays flat.
* :func:`response_std` — per-layer std of the responses (BN output, before ReLU/addition), in
  layer order and sorted by magnitude: the paper's Fig. 7.
* :func:`topk_frame` / :func:`topk_table` — measured top-1/top-5 error next to the paper's own
  figures, which are marked as the paper's, on the paper's data set (CIFAR-10, ILSVRC-2010).

Inputs are plain data: ``(label, MetricsChunk)`` pairs and the epoch history dicts of
``ImageTrainer.summary()["history"]``. Axis titles come from ``labels`` (English defaults in
:data:`LABELS`). Lines are capped at :data:`MAX_POINTS` points.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labcore.core.metrics import MetricsChunk

MAX_POINTS = 1000
DEPTH_COLORS = {20: "#1f77b4", 32: "#ff7f0e", 44: "#2ca02c", 56: "#d62728", 110: "#9467bd"}
OTHER_COLORS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
RECENT = 0.25  # response std: the last quarter of the recorded steps (the trained net)

# The papers' own numbers, on their own data sets (not measured here).
PAPER_REFERENCE = {
    "resnet20": {"dataset": "CIFAR-10", "top1_err": 8.75, "top5_err": None, "source": "He et al. 2016, Table 6"},
    "resnet32": {"dataset": "CIFAR-10", "top1_err": 7.51, "top5_err": None, "source": "He et al. 2016, Table 6"},
    "resnet44": {"dataset": "CIFAR-10", "top1_err": 7.17, "top5_err": None, "source": "He et al. 2016, Table 6"},
    "resnet56": {"dataset": "CIFAR-10", "top1_err": 6.97, "top5_err": None, "source": "He et al. 2016, Table 6"},
    "resnet110": {"dataset": "CIFAR-10", "top1_err": 6.43, "top5_err": None, "source": "He et al. 2016, Table 6"},
    "alexnet": {"dataset": "ILSVRC-2010", "top1_err": 37.5, "top5_err": 17.0, "source": "Krizhevsky et al. 2012"},
}

LABELS = {
    "iterations": "iterations", "error": "error (%)", "train": "train", "test": "test",
    "plain": "plain networks", "resnet": "ResNets", "layer": "layer (input → output)",
    "grad_norm": "‖∇W‖ (median over recorded steps)", "std": "response std", "sorted": "layer (sorted by std)",
    "original": "layer (original order)", "model": "model", "dataset": "data set",
    "top1": "top-1 error (ours, %)", "top5": "top-5 error (ours, %)",
    "paper_top1": "paper's top-1 error (%)", "paper_top5": "paper's top-5 error (%)",
    "paper_dataset": "paper's data set", "paper_note": "the paper's figure, on its data set — not ours",
    "no_data": "no data yet",
}


def _lab(labels: dict | None, key: str) -> str:
    return (labels or {}).get(key) or LABELS[key]


def depth_of(label: str) -> int | None:
    digits = "".join(ch for ch in label if ch.isdigit())
    return int(digits) if digits else None


def _color(label: str, i: int) -> str:
    d = depth_of(label)
    return DEPTH_COLORS.get(d, OTHER_COLORS[i % len(OTHER_COLORS)])


def _thin(x: np.ndarray, y: np.ndarray, k: int = MAX_POINTS):
    if len(x) <= k:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, k).round().astype(int))
    return x[idx], y[idx]


def _empty(fig: go.Figure, labels: dict | None) -> go.Figure:
    fig.add_annotation(text=_lab(labels, "no_data"), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


# ----------------------------------------------------------------------------- Fig. 6
def error_curves(history: Sequence[dict]) -> dict:
    """Epoch history -> ``{"steps", "train_error", "test_error"}`` arrays (error in %)."""
    h = list(history)
    steps = np.asarray([e["step"] for e in h], dtype=float)
    tr = np.asarray([100 * (1 - e["train_acc"]) for e in h], dtype=float)
    te = np.asarray([100 * (1 - e["top1"]) for e in h], dtype=float)
    return {"steps": steps, "train_error": tr, "test_error": te}


def training_error(runs: Sequence[tuple[str, Sequence[dict]]], labels: dict | None = None,
                   height: int = 360) -> go.Figure:
    """Fig. 6: one panel for plain nets, one for ResNets; dashed = training, bold = test error."""
    groups = [("plain", [r for r in runs if r[0].startswith("plain")]),
              ("resnet", [r for r in runs if not r[0].startswith("plain")])]
    groups = [g for g in groups if g[1]] or [("plain", [])]
    fig = make_subplots(rows=1, cols=len(groups), shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[_lab(labels, g) for g, _ in groups])
    for col, (_, members) in enumerate(groups, start=1):
        for i, (label, history) in enumerate(members):
            c = error_curves(history)
            color = _color(label, i)
            x, y = _thin(c["steps"], c["train_error"])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{label} {_lab(labels, 'train')}",
                                     line={"color": color, "width": 1.2, "dash": "dash"}, legendgroup=label),
                          row=1, col=col)
            x, y = _thin(c["steps"], c["test_error"])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{label} {_lab(labels, 'test')}",
                                     line={"color": color, "width": 3}, marker={"size": 4}, legendgroup=label),
                          row=1, col=col)
        fig.update_xaxes(title_text=_lab(labels, "iterations"), row=1, col=col)
    fig.update_yaxes(title_text=_lab(labels, "error"), row=1, col=1, rangemode="tozero")
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig if runs else _empty(fig, labels)


# ----------------------------------------------------------------------------- gradients
def layer_profile(m: MetricsChunk, metric: str = "grad_norm", recent: float = 1.0) -> np.ndarray:
    """Per-layer median of ``metric`` over the last ``recent`` share of recorded steps; (L,)."""
    a = m.metric(metric)
    if len(a) == 0:
        return np.full(len(m.layers), np.nan)
    a = a[-max(1, int(math.ceil(len(a) * recent))):]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(a, axis=0)


def grad_profiles(runs: Sequence[tuple[str, MetricsChunk]], metric: str = "grad_norm",
                  labels: dict | None = None, height: int = 340) -> go.Figure:
    """One panel per run, side by side, shared log y axis; the head (last layer) is drawn hollow."""
    n = max(1, len(runs))
    fig = make_subplots(rows=1, cols=n, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[label for label, _ in runs] or [""])
    for col, (label, m) in enumerate(runs, start=1):
        prof = layer_profile(m, metric)
        x = np.arange(1, len(prof) + 1)
        ok = np.isfinite(prof) & (prof > 0)
        color = _color(label, col - 1)
        fig.add_trace(go.Scatter(x=x[:-1][ok[:-1]], y=prof[:-1][ok[:-1]], mode="lines+markers", name=label,
                                 line={"color": color}, marker={"size": 4},
                                 text=[m.layers[i] for i in np.flatnonzero(ok[:-1])],
                                 hovertemplate="%{text}: %{y:.3g}<extra></extra>"), row=1, col=col)
        if len(prof) and ok[-1]:
            fig.add_trace(go.Scatter(x=[x[-1]], y=[prof[-1]], mode="markers", showlegend=False,
                                     marker={"color": color, "symbol": "circle-open", "size": 9},
                                     text=[m.layers[-1]], hovertemplate="%{text}: %{y:.3g}<extra></extra>"),
                          row=1, col=col)
        fig.update_xaxes(title_text=_lab(labels, "layer"), row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=1, title_text=_lab(labels, metric if metric in LABELS else "grad_norm"))
    for col in range(2, n + 1):
        fig.update_yaxes(type="log", row=1, col=col)
    fig.update_layout(height=height, showlegend=False, margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig if runs else _empty(fig, labels)


# ----------------------------------------------------------------------------- Fig. 7
def response_std(runs: Sequence[tuple[str, MetricsChunk]], labels: dict | None = None,
                 height: int = 520) -> go.Figure:
    """Fig. 7: std of each conv layer's response; top in layer order, bottom sorted (descending).

    The classifier head and option-B projection shortcuts are left out, as in the paper (3x3
    layers only).
    """
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.12,
                        subplot_titles=[_lab(labels, "original"), _lab(labels, "sorted")])
    for i, (label, m) in enumerate(runs):
        keep = [j for j, name in enumerate(m.layers[:-1]) if not name.endswith(".proj")]
        std = layer_profile(m, "act_std", RECENT)[keep]
        color = _color(label, i)
        names = [m.layers[j] for j in keep]
        fig.add_trace(go.Scatter(x=np.arange(1, len(std) + 1), y=std, mode="lines", name=label,
                                 line={"color": color, "dash": "dash" if label.startswith("plain") else "solid"},
                                 text=names, hovertemplate="%{text}: %{y:.3g}<extra></extra>", legendgroup=label),
                      row=1, col=1)
        srt = np.sort(std[np.isfinite(std)])[::-1]
        fig.add_trace(go.Scatter(x=np.arange(1, len(srt) + 1), y=srt, mode="lines", name=label, showlegend=False,
                                 line={"color": color, "dash": "dash" if label.startswith("plain") else "solid"},
                                 legendgroup=label), row=2, col=1)
    # The subplot titles name the x axes ("layer (original order)", "layer (sorted by std)").
    fig.update_yaxes(title_text=_lab(labels, "std"), row=1, col=1)
    fig.update_yaxes(title_text=_lab(labels, "std"), row=2, col=1)
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig if runs else _empty(fig, labels)


# ----------------------------------------------------------------------------- top-k
def topk_frame(rows: Sequence[dict], labels: dict | None = None) -> pd.DataFrame:
    """``rows``: ``{"label", "model", "dataset", "top1", "top5"}`` (accuracies in [0, 1]).

    Returns our errors in % and, where the paper gives one, its own figure with its data set.
    """
    out = []
    for r in rows:
        ref = PAPER_REFERENCE.get(r["model"], {})

        def err(v):
            return None if v is None or not np.isfinite(v) else round(100 * (1 - v), 2)

        out.append({_lab(labels, "model"): r.get("label", r["model"]), _lab(labels, "dataset"): r["dataset"],
                    _lab(labels, "top1"): err(r.get("top1")), _lab(labels, "top5"): err(r.get("top5")),
                    _lab(labels, "paper_top1"): ref.get("top1_err"), _lab(labels, "paper_top5"): ref.get("top5_err"),
                    _lab(labels, "paper_dataset"): (f"{ref['dataset']} ({ref['source']})" if ref else None)})
    return pd.DataFrame(out)


def topk_table(rows: Sequence[dict], labels: dict | None = None, height: int = 260) -> go.Figure:
    """The :func:`topk_frame` as a table; the paper's columns are shaded and footnoted."""
    df = topk_frame(rows, labels)
    paper_cols = {_lab(labels, k) for k in ("paper_top1", "paper_top5", "paper_dataset")}
    fills = ["#fff4e0" if c in paper_cols else "white" for c in df.columns]
    cells = [["—" if v is None or (isinstance(v, float) and not np.isfinite(v)) else v for v in df[c]]
             for c in df.columns]
    # Header colours set here: under Streamlit's theme the default header was a dark band with
    # dark text (unreadable).
    fig = go.Figure(go.Table(header={"values": [f"{c} *" if c in paper_cols else c for c in df.columns],
                                     "fill_color": "#e8eef7", "font": {"color": "#111111", "size": 13},
                                     "line_color": "#c8d0dc"},
                             cells={"values": cells, "fill_color": [[f] * len(df) for f in fills]}))
    fig.update_layout(height=height, margin={"l": 5, "r": 5, "t": 5, "b": 30},
                      annotations=[{"text": "* " + _lab(labels, "paper_note"), "showarrow": False,
                                    "xref": "paper", "yref": "paper", "x": 0, "y": -0.08, "xanchor": "left"}])
    return fig
