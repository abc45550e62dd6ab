"""Pictures of a configuration, not of a run: the stack diagram and the data-set preview.

Pure functions like :mod:`labcore.figures.plots` (whose layout helpers and colours they share):
they take layer specs or numpy arrays and return a plotly figure (``raw=True``: the plain dict).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from labcore.figures.plots import CLASS_COLORS, _axes, _lab, _scatter, _spec, chart, pick


@chart
def stack_diagram(layers: Sequence, labels: dict | None = None, max_boxes: int = 48,
                  height: int = 170, names: dict | None = None) -> dict:
    """The stack left to right: input, one box per layer (colour = activation, size ~ log width,
    thick outline = a norm), arcs above for residual skips, arcs below for dense skips; a layer
    that differs from the most common one gets a red mark above it (one changed layer among 24
    is otherwise a box a pixel wider).

    ``layers`` are LayerSpec-like objects. Above ``max_boxes`` layers the middle is elided.
    ``names`` translates the legend's choice names (``{"sigmoid": "sigmoïde", ...}``).
    """
    names = names or {}
    n = len(layers)
    if n > max_boxes:
        half = max_boxes // 2
        shown = list(range(half)) + [None] + list(range(n - half, n))
    else:
        shown = list(range(n))
    acts = sorted({l.activation for l in layers})
    palette = {a: CLASS_COLORS[i % len(CLASS_COLORS)] for i, a in enumerate(acts)}
    spec = _spec(height, showlegend=True)
    spec["layout"].update(margin={"l": 0, "r": 0, "t": 8, "b": 0},
                          legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0})
    xs = np.arange(len(shown)) + 1
    hmax = math.log2(max(2, max(l.width for l in layers)))
    end = len(shown) + 1
    spec["data"].append(_scatter([0, end], [0, 0], mode="lines", showlegend=False, hoverinfo="skip",
                                 line={"color": "#bbb", "width": 1}))
    for a in acts:
        sel = [(x, i) for x, i in zip(xs, shown) if i is not None and layers[i].activation == a]
        ls = [layers[i] for _, i in sel]
        spec["data"].append(_scatter(
            [int(x) for x, _ in sel], [0] * len(sel), mode="markers", name=names.get(a, a), hoverinfo="text",
            text=[f"{i + 1}: {l.width} · {names.get(l.activation, l.activation)} · {names.get(l.norm, l.norm)}"
                  f" · {names.get(l.skip, l.skip)}" for (_, i), l in zip(sel, ls)],
            marker={"symbol": "square", "color": palette[a],
                    "size": [8 + 18 * math.log2(max(2, l.width)) / hmax for l in ls],
                    "line": {"color": "#333", "width": [2.5 if l.norm != "none" else 0.5 for l in ls]}}))
    t = np.linspace(0, np.pi, 12)
    arcs = {"residual": ([], [], 1), "dense": ([], [], -1)}
    for x, i in zip(xs, shown):
        if i is not None and layers[i].skip in arcs:
            ax, ay, sign = arcs[layers[i].skip]
            ax += list(x - 0.5 - 0.5 * np.cos(t)) + [None]  # from the block's input to its output
            ay += list(sign * (0.35 + 0.45 * np.sin(t))) + [None]
    for kind, color, dash in (("residual", "#2ca02c", "solid"), ("dense", "#9467bd", "dot")):
        ax, ay, _ = arcs[kind]
        if ax:
            spec["data"].append(_scatter(ax, ay, mode="lines", name=names.get(kind, kind), hoverinfo="skip",
                                         line={"color": color, "width": 2, "dash": dash}))
    common = max(set(layers), key=list(layers).count) if n > 2 else None
    changed = [int(x) for x, i in zip(xs, shown) if i is not None and common is not None and layers[i] != common]
    if changed:
        spec["data"].append(_scatter(changed, [0.62] * len(changed), mode="markers", name=names.get("changed", "changed layer"),
                                     hoverinfo="skip", marker={"symbol": "triangle-down", "size": 13, "color": "#d62728"}))
    gaps = [int(x) for x, i in zip(xs, shown) if i is None]
    spec["data"].append(_scatter([0, end] + gaps, [0] * (2 + len(gaps)), mode="text", showlegend=False,
                                 text=[_lab(labels, "input"), _lab(labels, "output")] + ["…"] * len(gaps),
                                 textposition=["middle left", "middle right"] + ["middle center"] * len(gaps),
                                 hoverinfo="skip", textfont={"size": 12}))
    pad = 2 + 0.12 * len(shown)  # room for the "input" / "output" words
    spec["layout"]["xaxis"] = {"visible": False, "range": [-pad, end + pad]}
    spec["layout"]["yaxis"] = {"visible": False, "range": [-1, 1]}
    return spec


@chart
def data_preview(kind: str, x: np.ndarray, y: np.ndarray, labels: dict | None = None,
                 height: int = 240, max_points: int = 800) -> dict:
    """A look at the data: a 2-D scatter, digit thumbnails, or a few MNIST-1D signals."""
    spec = _spec(height)
    if kind == "2d":
        sel = pick(len(y), max_points)
        for c in np.unique(y):
            s = sel[y[sel] == c]
            spec["data"].append(_scatter(x[s, 0], x[s, 1], mode="markers", name=_lab(labels, "class", k=int(c)),
                                         marker={"size": 4, "color": CLASS_COLORS[int(c) % len(CLASS_COLORS)]}))
        spec["layout"].update(showlegend=False, yaxis={"scaleanchor": "x", "scaleratio": 1})
    elif kind == "image":
        side = int(round(math.sqrt(x.shape[1])))
        # One example of each class in a row of thumbnails, separated by a blank column.
        idx = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)[:10]]
        tiles = [np.pad(x[i].reshape(side, side), ((0, 0), (0, 1)), constant_values=np.nan) for i in idx]
        spec["data"].append({"type": "heatmap", "z": np.concatenate(tiles, 1)[::-1], "colorscale": "Greys",
                             "showscale": False, "hoverinfo": "skip"})
        spec["layout"].update(height=max(90, height // 2), xaxis={"visible": False},
                              yaxis={"visible": False, "scaleanchor": "x", "scaleratio": 1})
    else:
        for c in np.unique(y)[:4]:
            i = int(np.flatnonzero(y == c)[0])
            spec["data"].append(_scatter(np.arange(x.shape[1]), x[i], mode="lines", name=_lab(labels, "class", k=int(c)),
                                         line={"width": 1.5, "color": CLASS_COLORS[int(c) % len(CLASS_COLORS)]}))
        _axes(spec, "x", title={"text": _lab(labels, "signal")})
    return spec
