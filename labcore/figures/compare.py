"""Figures of the Compare page: 2-6 stored runs side by side. Data -> plotly Figure, nothing else.

Every chart takes ``runs``, a list of ``(label, MetricsChunk)`` pairs, and the ``step`` chosen on
the page's one step slider, which each chart marks, so all of them move together. Runs of
different depths are aligned by **relative depth** (input layer at 0, classifier head at 1) or,
with ``align="absolute"``, by layer number. Like :mod:`labcore.figures.plots`, charts are built as plain
dicts (``raw=True`` returns the dict) and bounded in size: heatmaps are block-averaged in log
space to at most ``MAX_LAYERS x MAX_STEPS`` cells.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from labcore.core.metrics import MetricsChunk
from labcore.figures.plots import RUN_COLORS, _log10, _nanmean_blocks, chart, loss_curves
from labcore.figures.text import plot_text

MAX_LAYERS = 100  # heatmap rows
MAX_STEPS = 200  # heatmap columns (per run: up to 6 side by side)
MAX_DEPTH_POINTS = 500
ALIGNS = ("relative", "absolute")

LABELS = {
    "grad_norm": "weight-gradient norm ‖∇W‖", "out_grad_norm": "backprop signal ‖∂L/∂h‖",
    "relative": "relative depth (0 = input, 1 = output)", "absolute": "layer number (input → output)",
    "step": "step", "step_at": "step {step}", "log10": "log₁₀ ‖∇W‖", "diff": "log₁₀ ratio {a} / {b}",
    "no_data": "nothing recorded at this step", "loss": "loss", "accuracy": "accuracy",
    "train": "train", "test": "test", "chosen": "step {step}",
}

Runs = Sequence[tuple[str, MetricsChunk]]


def _lab(labels: dict | None, key: str, **fmt) -> str:
    text = (labels or {}).get(key) or LABELS.get(key, key)
    return text.format(**fmt) if fmt else text


def depth_axis(n_layers: int, align: str = "relative") -> np.ndarray:
    """x position of each probe point: 0..1 (relative) or 1..n (absolute)."""
    if align not in ALIGNS:
        raise ValueError(f"align must be one of {ALIGNS}, not {align!r}")
    if align == "absolute":
        return np.arange(1, n_layers + 1, dtype=np.float64)
    return np.linspace(0.0, 1.0, n_layers) if n_layers > 1 else np.zeros(n_layers)


def step_bounds(runs: Runs) -> tuple[int, int]:
    """(first, last) recorded step over all runs: the step slider's range."""
    firsts = [int(m.steps[0]) for _, m in runs if len(m.steps)]
    lasts = [int(m.steps[-1]) for _, m in runs if len(m.steps)]
    return (min(firsts), max(lasts)) if firsts else (0, 0)


def row_at(m: MetricsChunk, step: int) -> int | None:
    """Index of the last recorded step at or before ``step`` (the first one if ``step`` is earlier)."""
    if len(m.steps) == 0:
        return None
    i = int(np.searchsorted(m.steps, step, side="right")) - 1
    return max(i, 0)


def _vline(x: float, xref: str = "x", yref: str = "y") -> dict:
    return {"type": "line", "x0": x, "x1": x, "xref": xref, "y0": 0, "y1": 1,
            "yref": f"{yref} domain", "line": {"color": "#444", "width": 1.5, "dash": "dash"}}


def _named(runs: Runs) -> list:
    """The runs with their names (user text) escaped for plotly's HTML-like labels."""
    return [(plot_text(name), m) for name, m in runs]


def _layout(height: int, title: str | None = None) -> dict:
    lay = {"height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}}
    if title:
        lay["title"] = {"text": title, "x": 0.01, "font": {"size": 13}}
    return lay


# ----------------------------------------------------------------------------- charts
@chart
def profiles_at_step(runs: Runs, step: int, metric: str = "grad_norm", align: str = "relative",
                     labels: dict | None = None, height: int = 380, title: str | None = None) -> dict:
    """Each run's per-layer ``metric`` at ``step`` (its last recorded step at or before it), overlaid."""
    runs = _named(runs)
    spec = {"data": [], "layout": _layout(height, title)}
    for r, (name, m) in enumerate(runs):
        i = row_at(m, step)
        if i is None:
            continue
        vals = m.metric(metric)[i]
        x = depth_axis(len(m.layers), align)
        cols = np.unique(np.linspace(0, len(x) - 1, min(len(x), MAX_DEPTH_POINTS)).round().astype(int))
        y = np.where(np.isfinite(vals) & (vals > 0), vals, np.nan)[cols]
        spec["data"].append({
            "type": "scatter", "mode": "lines+markers", "x": x[cols], "y": y,
            "text": [m.layers[c] for c in cols], "name": f"{name} · {_lab(labels, 'step_at', step=int(m.steps[i]))}",
            "line": {"color": RUN_COLORS[r % len(RUN_COLORS)], "width": 3}, "marker": {"size": 5},
            "hovertemplate": "%{text}: %{y:.2e}<extra>%{fullData.name}</extra>"})
    lay = spec["layout"]
    lay["yaxis"] = {"type": "log", "exponentformat": "power", "title": {"text": _lab(labels, metric)}}
    lay["xaxis"] = {"title": {"text": _lab(labels, align)}}
    if align == "relative":
        lay["xaxis"]["range"] = [-0.02, 1.02]
    if not spec["data"]:
        lay["annotations"] = [{"text": _lab(labels, "no_data"), "showarrow": False, "xref": "paper",
                               "yref": "paper", "x": 0.5, "y": 0.5}]
    return spec


@chart
def curves(runs: Runs, step: int, labels: dict | None = None, height: int = 320) -> dict:
    """Loss (log) and accuracy overlaid, train solid and test dotted, the chosen step marked."""
    runs = _named(runs)
    spec = loss_curves(runs, labels={k: _lab(labels, k) for k in ("loss", "accuracy", "train", "test", "step")},
                       height=height, raw=True)
    spec["layout"]["shapes"] = [_vline(step, "x", "y"), _vline(step, "x2", "y2")]
    return spec


def _heat(m: MetricsChunk, metric: str, align: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z (rows x cols) log10, row positions, column steps), block-averaged to bounded size."""
    z = _log10(m.metric(metric)).T  # (R, L) -> (L, R): one row per layer
    y = depth_axis(len(m.layers), align)
    z = _nanmean_blocks(_nanmean_blocks(z, MAX_LAYERS, 0), MAX_STEPS, 1)
    y = _nanmean_blocks(y[:, None], MAX_LAYERS, 0)[:, 0]
    x = _nanmean_blocks(m.steps[None, :].astype(np.float64), MAX_STEPS, 1)[0].round()
    return z, y, x


def shared_range(zs: list[np.ndarray]) -> tuple[float, float] | None:
    vals = [z[np.isfinite(z)] for z in zs]
    vals = [v for v in vals if v.size]
    if not vals:
        return None
    allv = np.concatenate(vals)
    return float(np.percentile(allv, 1)), float(np.percentile(allv, 99))


@chart
def heatmaps(runs: Runs, step: int, metric: str = "grad_norm", align: str = "relative",
             labels: dict | None = None, height: int = 360) -> dict:
    """Layer x step heatmaps of log10 ``metric``, side by side, one colour scale, the step marked."""
    runs = _named(runs)
    n = max(1, len(runs))
    gap = 0.04
    w = (1 - gap * (n - 1)) / n
    lay = _layout(height)
    lay["annotations"], lay["shapes"] = [], []
    spec = {"data": [], "layout": lay}
    heats = [_heat(m, metric, align) if len(m.steps) else None for _, m in runs]
    zr = shared_range([h[0] for h in heats if h is not None])
    for i, ((name, m), h) in enumerate(zip(runs, heats)):
        sx = "" if i == 0 else str(i + 1)
        lo = i * (w + gap)
        lay[f"xaxis{sx}"] = {"domain": [lo, lo + w], "anchor": f"y{sx}", "title": {"text": _lab(labels, "step")}}
        lay[f"yaxis{sx}"] = {"anchor": f"x{sx}", "title": {"text": _lab(labels, align) if i == 0 else ""},
                             "showticklabels": i == 0}
        if i:
            lay[f"yaxis{sx}"]["matches"] = "y"  # same depth scale in every panel
        lay["annotations"].append({"text": name, "x": lo + w / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                                   "xanchor": "center", "yanchor": "bottom", "showarrow": False})
        if h is None:
            continue
        z, y, x = h
        trace = {"type": "heatmap", "z": np.round(z, 2), "x": x, "y": y, "xaxis": f"x{sx}", "yaxis": f"y{sx}",
                 "colorscale": "Viridis", "showscale": i == n - 1, "name": name,
                 "hovertemplate": f"{name}<br>%{{y:.3g}} · %{{x}}: %{{z:.2f}}<extra></extra>",
                 "colorbar": {"title": {"text": _lab(labels, "log10"), "side": "right"}, "thickness": 12}}
        if zr:
            trace["zmin"], trace["zmax"] = zr
        spec["data"].append(trace)
        lay["shapes"].append(_vline(step, f"x{sx}", f"y{sx}"))
    return spec


def common_grid(a: MetricsChunk, b: MetricsChunk, metric: str = "grad_norm", align: str = "relative"):
    """log10(a) - log10(b) on a shared (depth x step) grid: (diff, depth positions, steps).

    Steps: at most MAX_STEPS points over the span both runs recorded, each run read at its last
    recorded step at or before the grid step. Depth: relative positions (nearest layer of each
    run) or layer numbers (NaN where one run has no such layer).
    """
    if not len(a.steps) or not len(b.steps):
        return np.zeros((0, 0)), np.zeros(0), np.zeros(0)
    lo, hi = max(a.steps[0], b.steps[0]), min(a.steps[-1], b.steps[-1])
    if hi < lo:  # no overlap in time: nothing to subtract
        return np.zeros((0, 0)), np.zeros(0), np.zeros(0)
    n_steps = int(min(MAX_STEPS, len(np.union1d(a.steps[(a.steps >= lo) & (a.steps <= hi)],
                                                b.steps[(b.steps >= lo) & (b.steps <= hi)]))))
    grid = np.unique(np.linspace(lo, hi, max(1, n_steps)).round().astype(np.int64))
    la, lb = len(a.layers), len(b.layers)
    if align == "relative":
        depth = np.linspace(0, 1, min(max(la, lb), MAX_LAYERS)) if max(la, lb) > 1 else np.zeros(1)
        ia = (depth * (la - 1)).round().astype(int)
        ib = (depth * (lb - 1)).round().astype(int)
        ok = np.ones(len(depth), bool)
    else:
        depth = np.arange(1, max(la, lb) + 1, dtype=np.float64)
        ok = depth <= min(la, lb)
        ia = np.minimum(np.arange(len(depth)), la - 1)
        ib = np.minimum(np.arange(len(depth)), lb - 1)
    ra = np.searchsorted(a.steps, grid, side="right") - 1
    rb = np.searchsorted(b.steps, grid, side="right") - 1
    za = _log10(a.metric(metric))[np.ix_(ra, ia)].T  # (depth, steps)
    zb = _log10(b.metric(metric))[np.ix_(rb, ib)].T
    diff = np.where(ok[:, None], za - zb, np.nan)
    if align == "absolute" and len(depth) > MAX_LAYERS:
        diff = _nanmean_blocks(diff, MAX_LAYERS, 0)
        depth = _nanmean_blocks(depth[:, None], MAX_LAYERS, 0)[:, 0]
    return diff, depth, grid


@chart
def difference(a: tuple[str, MetricsChunk], b: tuple[str, MetricsChunk], step: int,
               metric: str = "grad_norm", align: str = "relative", labels: dict | None = None,
               height: int = 360) -> dict:
    """Heatmap of log10(a / b): red where run a gets more gradient, blue where b does."""
    (na, ma), (nb, mb) = _named([a, b])
    diff, depth, steps = common_grid(ma, mb, metric, align)
    lay = _layout(height, _lab(labels, "diff", a=na, b=nb))
    lay["xaxis"] = {"title": {"text": _lab(labels, "step")}}
    lay["yaxis"] = {"title": {"text": _lab(labels, align)}}
    spec = {"data": [], "layout": lay}
    if diff.size == 0:
        lay["annotations"] = [{"text": _lab(labels, "no_data"), "showarrow": False, "xref": "paper",
                               "yref": "paper", "x": 0.5, "y": 0.5}]
        return spec
    finite = np.abs(diff[np.isfinite(diff)])
    lim = float(np.percentile(finite, 99)) if finite.size else 1.0
    lim = max(lim, 1e-3)
    spec["data"].append({
        "type": "heatmap", "z": np.round(diff, 2), "x": steps, "y": depth, "colorscale": "RdBu",
        "reversescale": True, "zmid": 0, "zmin": -lim, "zmax": lim,
        "hovertemplate": "%{y:.3g} · %{x}: %{z:+.2f}<extra></extra>",
        "colorbar": {"title": {"text": "log₁₀", "side": "right"}, "thickness": 12}})
    lay["shapes"] = [_vline(step)]
    return spec


__all__ = ["ALIGNS", "common_grid", "curves", "depth_axis", "difference", "heatmaps", "profiles_at_step",
           "row_at", "shared_range", "step_bounds"]
