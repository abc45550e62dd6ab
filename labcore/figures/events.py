"""Live-surgery events drawn on charts: a labelled vertical marker at each event's step.

:func:`mark_events` adds the markers to a chart's plain dict (the ``raw=True`` form of
:mod:`labcore.figures.plots`) on every x axis of its layout, so call it on charts whose x axes
are steps: the loss/accuracy curves, the layer x step heatmap, the update ratios, the Compare
overlays. An event at step ``s`` happened between steps ``s`` and ``s + 1``; its marker sits at
``s + 0.5``. Pure data -> dict; no torch.
"""
from __future__ import annotations

from typing import Sequence

EVENT_COLOR = "#e4572e"
MAX_MARKERS = 40  # more than this and the labels would hide the chart: the rest are drawn unlabelled


def _x_axes(spec: dict) -> list[tuple[str, str]]:
    """(xref, yref) of every x axis in the layout, in order ("x", "y"), ("x2", "y2")..."""
    lay = spec.setdefault("layout", {})
    names = sorted((k for k in lay if k.startswith("xaxis")), key=lambda k: int(k[5:] or 1)) or ["xaxis"]
    out = []
    for k in names:
        sx = k[5:]
        anchor = (lay.get(k) or {}).get("anchor") or f"y{sx}"
        out.append((f"x{sx}", anchor))
    return out


def mark_events(spec: dict, events: Sequence[dict], *, color: str = EVENT_COLOR, prefix: str = "",
                dash: str = "dash", axes: Sequence[tuple[str, str]] | None = None) -> dict:
    """Add one vertical line per event on every x axis (or on ``axes``, (xref, yref) pairs),
    labelled on the first: ``prefix`` + the event's label.

    ``events`` are the records of :meth:`labcore.train.mlp.Trainer.apply` (``step``, ``label``).
    Returns ``spec`` (changed in place).
    """
    if not events:
        return spec
    lay = spec.setdefault("layout", {})
    shapes, notes = lay.setdefault("shapes", []), lay.setdefault("annotations", [])
    axes = list(axes) if axes else _x_axes(spec)
    for i, e in enumerate(events):
        x = float(e["step"]) + 0.5
        for j, (xref, yref) in enumerate(axes):
            shapes.append({"type": "line", "xref": xref, "yref": f"{yref} domain", "x0": x, "x1": x,
                           "y0": 0, "y1": 1, "line": {"color": color, "width": 2, "dash": dash},
                           "name": f"event:{e['step']}"})
            if j == 0 and i < MAX_MARKERS:
                notes.append({"x": x, "xref": xref, "y": 1 - 0.09 * (i % 4), "yref": f"{yref} domain", "yanchor": "top",
                              "xanchor": "left", "showarrow": False, "text": f"{prefix}{e.get('label', '')}",
                              "font": {"size": 11, "color": color}, "bgcolor": "rgba(255,255,255,0.75)",
                              "name": f"event:{e['step']}"})
    return spec


def event_steps(spec: dict) -> list[float]:
    """The x positions of the event markers in a chart dict (tests, the browser check)."""
    return [s["x0"] for s in (spec.get("layout") or {}).get("shapes", []) if str(s.get("name", "")).startswith("event:")]


__all__ = ["EVENT_COLOR", "event_steps", "mark_events"]
