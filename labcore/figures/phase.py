"""The trainability phase diagram: a sweep's points as a heatmap, with the theory's k·ξ curve.

Rows are one setting (depth), columns another (σ_w or the learning rate); each cell is coloured
by the test accuracy after the budget or by the log₁₀ of the first/last backprop-signal ratio at
initialisation, with the median over seeds where a cell has several. A cell carries its run id
(``customdata``) so the page can open it. For a depth × σ_w diagram, the line depth = k·ξ_c(σ_w²,
σ_b²) from :mod:`labcore.figures.theory` is drawn over it and, on the chaotic side, the line
depth = k·|ξ_∇| over which backprop signals grow by e^k: with a short step budget that, not ξ_c,
bounds the trainable depth there (measured: see the README's sweeps section). Cells still running are blank: the
figure is redrawn as points arrive.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from labcore.figures.plots import _spec, chart
from labcore.figures.theory import depth_scale, gradient_depth_scale

COLOURS = ("test_acc", "signal_ratio_init", "grad_ratio", "final_loss")
LOG_COLOURS = ("signal_ratio_init", "grad_ratio")
LABELS = {
    "test_acc": "test accuracy", "signal_ratio_init": "log₁₀ first/last ‖∂L/∂h‖ at init",
    "grad_ratio": "log₁₀ first/last ‖∇W‖", "final_loss": "final training loss",
    "depth": "depth (hidden layers)", "gain": "σ_w (init gain)", "lr": "learning rate",
    "theory": "depth = {k:g}·ξ (mean-field)", "theory_grad": "depth = {k:g}·|ξ_∇| (gradients explode)",
    "title": "{what}: {activation}, σ_b = {sigma_b:g}",
    "failed": "failed", "diverged": "diverged",
}


def _lab(labels: dict | None, key: str, **fmt) -> str:
    text = (labels or {}).get(key) or LABELS.get(key, key)
    return text.format(**fmt) if fmt else text


def cell_table(points: pd.DataFrame, x: str, y: str, colour: str) -> tuple[list, list, np.ndarray, np.ndarray]:
    """(x values, y values, Z (len y × len x), run ids) with the median over repeated cells."""
    xs = sorted(points[x].dropna().unique().tolist()) if len(points) else []
    ys = sorted(points[y].dropna().unique().tolist()) if len(points) else []
    z = np.full((len(ys), len(xs)), np.nan)
    ids = np.full((len(ys), len(xs)), -1, dtype=np.int64)
    if not len(points):
        return xs, ys, z, ids
    vals = pd.to_numeric(points[colour], errors="coerce").astype(float) if colour in points else pd.Series(np.nan, index=points.index)
    if colour in LOG_COLOURS:
        with np.errstate(divide="ignore", invalid="ignore"):
            vals = np.log10(vals.where(vals > 0))
            vals = vals.clip(-12, 12)
    if colour == "test_acc":  # a diverged run learned nothing: count it as chance, not as blank
        vals = vals.where(~(points["status"] == "diverged"), 0.0)
    df = points.assign(_v=vals)
    xi, yi = {v: i for i, v in enumerate(xs)}, {v: i for i, v in enumerate(ys)}
    for (xv, yv), g in df.groupby([x, y]):
        v = g["_v"].dropna()
        z[yi[yv], xi[xv]] = float(np.median(v)) if len(v) else np.nan
        if "run_id" in g:
            ids[yi[yv], xi[xv]] = int(g["run_id"].iloc[0])
    return xs, ys, z, ids


def theory_line(activation: str, sigma_b2: float, sigma_ws, k: float = 6.0) -> tuple[list, list]:
    """σ_w on a fine grid and the depth k·ξ_c there (capped, so the pole at criticality stays drawable)."""
    lo, hi = float(min(sigma_ws)), float(max(sigma_ws))
    grid = np.linspace(lo, hi, 121)
    depth = [k * depth_scale(activation, g * g, sigma_b2) for g in grid]
    return grid.tolist(), [d if math.isfinite(d) else 1e6 for d in depth]


def gradient_line(activation: str, sigma_b2: float, sigma_ws, k: float = 6.0) -> tuple[list, list]:
    """σ_w on a fine grid and k·|ξ_∇| on the chaotic side (χ1 > 1); None (a gap) on the ordered side."""
    lo, hi = float(min(sigma_ws)), float(max(sigma_ws))
    grid = np.linspace(lo, hi, 121)
    depth = []
    for g in grid:
        xi = gradient_depth_scale(activation, g * g, sigma_b2)
        depth.append(k * -xi if math.isfinite(xi) and xi < 0 else None)
    return grid.tolist(), depth


@chart
def phase_diagram(points: pd.DataFrame, x: str = "gain", y: str = "depth", colour: str = "test_acc", *,
                  activation: str = "tanh", sigma_b2: float = 0.0, k: float | None = 6.0, total_shape=None,
                  labels: dict | None = None, height: int = 460) -> dict:
    """Heatmap of ``points`` (one row per run: the swept settings, status, metrics, run_id)."""
    xs, ys, z, ids = cell_table(points, x, y, colour)
    if total_shape is not None:  # the plan's full grid, so empty cells show as blank from the start
        xs_all, ys_all = sorted(total_shape[0]), sorted(total_shape[1])
        zz = np.full((len(ys_all), len(xs_all)), np.nan)
        ii = np.full((len(ys_all), len(xs_all)), -1, dtype=np.int64)
        for a, xv in enumerate(xs):
            for b, yv in enumerate(ys):
                if xv in xs_all and yv in ys_all:
                    zz[ys_all.index(yv), xs_all.index(xv)] = z[b, a]
                    ii[ys_all.index(yv), xs_all.index(xv)] = ids[b, a]
        xs, ys, z, ids = xs_all, ys_all, zz, ii
    what = _lab(labels, colour)
    spec = _spec(height, _lab(labels, "title", what=what, activation=activation, sigma_b=math.sqrt(sigma_b2)),
                 xaxis={"title": {"text": _lab(labels, x)}, **({"type": "log"} if x == "lr" else {})},
                 yaxis={"title": {"text": _lab(labels, y)}})
    zmin, zmax = (0.0, 1.0) if colour == "test_acc" else (None, None)
    heat = {"type": "heatmap", "x": xs, "y": ys, "z": [[None if not math.isfinite(v) else v for v in row] for row in z],
            "customdata": ids.tolist(), "colorscale": "Viridis", "name": what,
            "colorbar": {"title": {"text": what, "side": "right"}},
            "hovertemplate": f"{x}=%{{x}}<br>{y}=%{{y}}<br>{what}=%{{z:.3g}}<br>run %{{customdata}}<extra></extra>"}
    if zmin is not None:
        heat.update(zmin=zmin, zmax=zmax)
    spec["data"].append(heat)
    if k and x == "gain" and y == "depth" and xs:
        gx, gy = theory_line(activation, sigma_b2, xs, k)
        spec["data"].append({"type": "scatter", "mode": "lines", "x": gx, "y": gy, "name": _lab(labels, "theory", k=k),
                             "line": {"color": "white", "dash": "dash", "width": 3}, "hoverinfo": "skip"})
        hx, hy = gradient_line(activation, sigma_b2, xs, k)
        if any(v is not None for v in hy):
            spec["data"].append({"type": "scatter", "mode": "lines", "x": hx, "y": hy, "connectgaps": False,
                                 "name": _lab(labels, "theory_grad", k=k), "hoverinfo": "skip",
                                 "line": {"color": "orange", "dash": "dot", "width": 3}})
        step = (ys[1] - ys[0]) / 2 if len(ys) > 1 else 1
        spec["layout"]["yaxis"]["range"] = [ys[0] - step, ys[-1] + step]
        spec["layout"]["xaxis"]["range"] = [xs[0] - 0.125, xs[-1] + 0.125] if len(xs) > 1 else None
    return spec


def measured_boundary(points: pd.DataFrame, threshold: float = 0.5, x: str = "gain", y: str = "depth") -> dict:
    """For each x (σ_w): the deepest depth whose median test accuracy is ≥ ``threshold`` (None if none)."""
    xs, ys, z, _ = cell_table(points, x, y, "test_acc")
    out = {}
    for j, xv in enumerate(xs):
        ok = [ys[i] for i in range(len(ys)) if np.isfinite(z[i, j]) and z[i, j] >= threshold]
        out[xv] = max(ok) if ok else None
    return out
