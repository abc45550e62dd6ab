"""The one-sentence diagnosis of a run, computed from its recorded per-layer statistics.

:func:`diagnose` returns a :class:`Diagnosis`: a ``kind`` (a translation key suffix), a
``severity`` and the numbers the sentence quotes. The UI turns it into English or French text;
:func:`sentence` gives the English one for the CLI and logs. Every threshold lives in
:data:`THRESHOLDS`, so the page, the CLI and the tests agree on what "vanishing" means.

Gradient figures are the weight-gradient L2 norms of the hidden layers (the classifier head,
the last probe point, is left out), taken as the median over the last few recorded steps so
one noisy batch does not flip the verdict.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from labcore.core.metrics import MetricsChunk


@dataclass(frozen=True)
class Thresholds:
    """Where each verdict starts. Ratios are first hidden layer / last hidden layer."""

    window: int = 5  # recorded steps whose median is judged
    healthy_spread: float = 10.0  # max/min gradient norm across depth for "healthy"
    vanishing_ratio: float = 1e-3  # first/last below this: vanishing
    exploding_ratio: float = 1e3  # first/last above this: exploding
    exploding_norm: float = 1e4  # any layer's gradient norm above this: exploding
    dead_fraction: float = 0.5  # a ReLU-family layer with this share of dead units
    saturated_fraction: float = 0.5  # a sigmoid/tanh layer with this share of saturated outputs
    update_ratio_guide: float = 1e-3  # the usual healthy ‖ΔW‖/‖W‖ per step (the chart's guide line)


THRESHOLDS = Thresholds()

SEVERITY = {"waiting": "info", "failed": "error", "diverged": "error", "zero": "error",
            "vanishing": "warning", "exploding": "error", "dead": "warning", "saturated": "warning",
            "uneven": "warning", "healthy": "ok"}

_ENGLISH = {
    "waiting": "Waiting for the first recorded step.",
    "failed": "The run failed: {error}",
    "diverged": "Exploding: the run diverged at step {step}.",
    "zero": "No gradient reaches the hidden layers: every weight gradient is zero.",
    "vanishing": "Vanishing gradients: the first hidden layer receives {ratio:.0e}× the gradient of the last one.",
    "exploding": "Exploding gradients: the first hidden layer receives {ratio:.0e}× the gradient of the last one.",
    "dead": "Dying ReLUs: {pct:.0f}% of the units of layer {layer} are dead.",
    "saturated": "Saturation: {pct:.0f}% of the outputs of layer {layer} sit at the activation's bounds.",
    "uneven": "Uneven but flowing: the first hidden layer receives {ratio:.2g}× the gradient of the last one; norms vary {spread:.0f}× across depth.",
    "healthy": "Healthy: gradient norms stay within {limit:.0f}× across depth.",
}


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # one of SEVERITY's keys
    severity: str  # info | ok | warning | error
    numbers: dict = field(default_factory=dict)  # values the sentence quotes
    step: int | None = None  # the recorded step judged (latest)
    notes: tuple = ()  # secondary findings (dead units, saturation), each a Diagnosis

    @property
    def key(self) -> str:
        """Translation key of the sentence (``diag.<kind>``)."""
        return f"diag.{self.kind}"


def _make(kind: str, at: int | None = None, **numbers) -> Diagnosis:
    return Diagnosis(kind, SEVERITY[kind], numbers, at)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN; an all-NaN column stays NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=0)


def hidden_profile(metrics: MetricsChunk, window: int = THRESHOLDS.window) -> tuple[np.ndarray, list[str]]:
    """Median weight-gradient norm per hidden layer over the last ``window`` recorded steps."""
    g = metrics.metric("grad_norm")  # (R, L)
    names = list(metrics.layers)
    if g.shape[1] > 1:  # the last probe point is the classifier head
        g, names = g[:, :-1], names[:-1]
    recent = g[-window:]
    if recent.size == 0 or np.isnan(recent).all():
        return np.zeros(0), names
    return _nanmedian(recent), names


def _worst(metrics: MetricsChunk, name: str, window: int) -> tuple[float, str] | None:
    v = metrics.metric(name)[-window:, :]
    if v.size == 0 or np.isnan(v).all():
        return None
    med = _nanmedian(v)
    if np.isnan(med).all():
        return None
    i = int(np.nanargmax(med))
    return float(med[i]), metrics.layers[i]


def diagnose(metrics: MetricsChunk, status: str | None = None, first_bad_step: int | None = None,
             error: str | None = None, th: Thresholds = THRESHOLDS) -> Diagnosis:
    """Judge a run from its metrics and (optionally) its status, most severe finding first."""
    step = int(metrics.steps[-1]) if len(metrics.steps) else None
    if status == "failed":
        return _make("failed", step, error=error or "")
    if status == "diverged" or first_bad_step is not None:
        return _make("diverged", step, step=first_bad_step if first_bad_step is not None else (step or 0))
    g, names = hidden_profile(metrics, th.window)
    if g.size == 0 or np.isnan(g).all():
        return _make("waiting", step)
    finite = g[np.isfinite(g)]
    if finite.size == 0 or finite.max() <= 0:
        return _make("zero", step)
    first, last = g[0], g[-1]
    tiny = np.finfo(np.float64).tiny
    ratio = float(first / max(last, tiny)) if np.isfinite(first) and np.isfinite(last) else float("nan")
    spread = float(finite.max() / max(finite.min(), tiny))
    nums = {"ratio": ratio, "spread": spread, "first": names[0], "last": names[-1],
            "first_norm": float(first), "last_norm": float(last)}
    if len(g) > 1 and ratio < th.vanishing_ratio:  # first: the lab's main lesson
        return _make("vanishing", step, **nums)
    if (len(g) > 1 and ratio > th.exploding_ratio) or finite.max() > th.exploding_norm:
        return _make("exploding", step, **nums)
    # Gradient flow is the headline; dead units and saturation are told as notes beside it.
    notes = []
    dead = _worst(metrics, "dead", th.window)
    if dead and dead[0] >= th.dead_fraction:
        notes.append(_make("dead", step, pct=100 * dead[0], layer=dead[1]))
    sat = _worst(metrics, "saturated", th.window)
    if sat and sat[0] >= th.saturated_fraction:
        notes.append(_make("saturated", step, pct=100 * sat[0], layer=sat[1]))
    if spread <= th.healthy_spread:
        d = _make("healthy", step, limit=th.healthy_spread, **nums)
    else:
        d = _make("uneven", step, **nums)
    return replace(d, notes=tuple(notes))


def sentence(d: Diagnosis, notes: bool = True) -> str:
    """The English sentence, notes appended (the UI uses its translation table instead)."""
    text = _ENGLISH[d.kind].format(**d.numbers)
    return " ".join([text] + [_ENGLISH[n.kind].format(**n.numbers) for n in d.notes]) if notes else text


__all__ = ["Diagnosis", "THRESHOLDS", "Thresholds", "diagnose", "hidden_profile", "sentence"]
