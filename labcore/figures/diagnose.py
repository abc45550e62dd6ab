"""The one-sentence diagnosis of a run, computed from its recorded per-layer statistics.

:func:`diagnose` returns a :class:`Diagnosis`: a ``kind`` (a translation key suffix), a
``severity``, the numbers the sentence quotes, and ``notes`` (dead units, saturation) kept on
every verdict. The UI turns it into English or French text; :func:`sentence` gives the English
one for the CLI and logs. Every threshold lives in :data:`THRESHOLDS`, so the page, the CLI and
the tests agree on what "vanishing" means.

What is judged (design.md §8, issue 10): the **backprop signal** ‖∂L/∂h‖ of each hidden layer
(the gradient with respect to its activation output) and the **forward growth** of the
activation std, not the weight gradient ‖∇W‖ alone. ‖∇W‖ is the product of the backward signal
and the forward activation, so in a ReLU net a uniform scale error cancels between the two (He
init × 1.5 reads *less* ‖∇W‖ at the input while its signal grows 2e3× toward it). Runs recorded
without the signal (older stores) fall back to ‖∇W‖, and the sentence names which was read.

Order: a failed or diverged run first; then the flow from the signal (vanishing / exploding /
forward / large / uneven / healthy); dead units (a ReLU unit, ``zero_below``, that passes no
gradient) and saturation are checked before a flow failure is named, because they cause one (a
dead layer zeroes the signal below it). Values are medians over the last few recorded steps, so one
noisy batch does not flip the verdict. The head (the last probe point) is left out.
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
    healthy_spread: float = 10.0  # max/min backprop signal across depth for "healthy"
    vanishing_ratio: float = 1e-2  # signal first/last below this: vanishing
    exploding_ratio: float = 1e2  # signal first/last above this: exploding
    forward_growth: float = 1e2  # activation std last/first above this: exploding activations
    exploding_norm: float = 1e4  # any signal or weight-gradient norm above this: exploding
    dead_fraction: float = 0.5  # a ReLU layer with this share of dead units
    saturated_fraction: float = 0.5  # a sigmoid/tanh layer with this share of saturated outputs
    update_ratio_guide: float = 1e-3  # the usual healthy ‖ΔW‖/‖W‖ per step (the chart's guide line)


THRESHOLDS = Thresholds()

SEVERITY = {"waiting": "info", "failed": "error", "diverged": "error", "zero": "error",
            "vanishing": "warning", "exploding": "error", "large": "error", "forward": "error",
            "dead": "warning", "saturated": "warning", "uneven": "warning", "healthy": "ok"}

# Flow verdicts that dead units or saturation can cause; with either present, they lead instead.
FLOW_FAILURES = ("vanishing", "exploding", "forward", "large")

SIGNAL, WEIGHT = "‖∂L/∂h‖", "‖∇W‖"  # the quantity a flow sentence quotes (numbers["q"])

_ENGLISH = {
    "waiting": "Waiting for the first recorded step.",
    "failed": "The run failed: {error}",
    "diverged": "Exploding: the run diverged at step {step}.",
    "zero": "No gradient reaches the hidden layers: every weight gradient is zero.",
    "vanishing": "Vanishing gradients: the gradient {q} at the first hidden layer is {ratio:.0e}× its value at the last one.",
    "exploding": "Exploding gradients: the gradient {q} at the first hidden layer is {ratio:.0e}× its value at the last one.",
    "large": "Exploding gradients: the gradient {q} reaches {norm:.0e} at layer {layer}.",
    "forward": "Exploding activations: their std grows {growth:.0e}× from the first hidden layer to the last.",
    "dead": "Dying ReLUs: {pct:.0f}% of the units of layer {layer} are dead (they pass no gradient).",
    "saturated": "Saturation: {pct:.0f}% of the outputs of layer {layer} sit at the activation's bounds.",
    "uneven": "Uneven but flowing: the gradient {q} at the first hidden layer is {ratio:.2g}× its value at the last one; "
              "it varies {spread:.0f}× across depth.",
    "healthy": "Healthy: the gradient {q} stays within {spread:.2g}× across depth (limit {limit:.0f}×).",
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

    def to_dict(self) -> dict:
        """``{kind, severity, sentence, numbers, notes}``: the CLI JSON's ``diagnosis``."""
        return {"kind": self.kind, "severity": self.severity, "sentence": sentence(self),
                "numbers": {k: _plain(v) for k, v in self.numbers.items()},
                "notes": [{"kind": n.kind, "sentence": sentence(n)} for n in self.notes]}


def _plain(v):
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    return v


def _make(kind: str, at: int | None = None, **numbers) -> Diagnosis:
    return Diagnosis(kind, SEVERITY[kind], numbers, at)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN; an all-NaN column stays NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=0)


def _recent(metrics: MetricsChunk, name: str, window: int) -> np.ndarray:
    """Median of ``name`` per hidden layer over the last ``window`` recorded steps."""
    m = metrics.metric(name)  # (R, L)
    if m.shape[1] > 1:  # the last probe point is the classifier head
        m = m[:, :-1]
    recent = m[-window:]
    if recent.size == 0 or np.isnan(recent).all():
        return np.zeros(0)
    return _nanmedian(recent)


def hidden_profile(metrics: MetricsChunk, window: int = THRESHOLDS.window,
                   metric: str = "grad_norm") -> tuple[np.ndarray, list[str]]:
    """Median ``metric`` per hidden layer over the last ``window`` recorded steps."""
    names = list(metrics.layers)
    return _recent(metrics, metric, window), (names[:-1] if len(names) > 1 else names)


def _worst(metrics: MetricsChunk, name: str, window: int) -> tuple[float, str] | None:
    v = metrics.metric(name)[-window:, :]
    if v.size == 0 or np.isnan(v).all():
        return None
    med = _nanmedian(v)
    if np.isnan(med).all():
        return None
    i = int(np.nanargmax(med))
    return float(med[i]), metrics.layers[i]


def _notes(metrics: MetricsChunk, step, th: Thresholds) -> tuple:
    """Dead units (only where the probe counts them: activations whose gradient is 0 below 0)
    and saturation, worst layer each, when past their thresholds."""
    notes = []
    dead = _worst(metrics, "dead", th.window)
    if dead and dead[0] >= th.dead_fraction:
        notes.append(_make("dead", step, pct=100 * dead[0], layer=dead[1]))
    sat = _worst(metrics, "saturated", th.window)
    if sat and sat[0] >= th.saturated_fraction:
        notes.append(_make("saturated", step, pct=100 * sat[0], layer=sat[1]))
    return tuple(notes)


def _flow(metrics: MetricsChunk, step, th: Thresholds) -> Diagnosis:
    """The gradient-flow verdict from the backprop signal (else ‖∇W‖) and forward growth."""
    s = _recent(metrics, "out_grad_norm", th.window)
    q = SIGNAL
    if s.size == 0 or not np.isfinite(s).any():
        s, q = _recent(metrics, "grad_norm", th.window), WEIGHT
    if s.size == 0 or np.isnan(s).all():
        return _make("waiting", step)
    g = _recent(metrics, "grad_norm", th.window)
    g_fin = g[np.isfinite(g)] if g.size else g
    if g_fin.size and g_fin.max() <= 0:
        return _make("zero", step)
    finite = s[np.isfinite(s)]
    if finite.size == 0 or finite.max() <= 0:
        return _make("zero", step)
    names = list(metrics.layers[:len(s)])
    tiny = np.finfo(np.float64).tiny
    first, last = s[0], s[-1]
    ratio = float(first / max(last, tiny)) if np.isfinite(first) and np.isfinite(last) else float("nan")
    spread = float(finite.max() / max(finite.min(), tiny))
    nums = {"q": q, "ratio": ratio, "spread": spread, "first": names[0], "last": names[-1],
            "first_norm": float(first), "last_norm": float(last)}
    a = _recent(metrics, "act_std", th.window)
    growth = float(a[-1] / max(a[0], tiny)) if a.size > 1 and np.isfinite(a[[0, -1]]).all() and a[0] > 0 \
        else float("nan")
    nums["growth"] = growth
    deep = len(s) > 1
    if deep and ratio < th.vanishing_ratio:
        return _make("vanishing", step, **nums)
    if deep and ratio > th.exploding_ratio:
        return _make("exploding", step, **nums)
    if deep and growth > th.forward_growth:
        return _make("forward", step, **nums)
    # An absolute blow-up (flat but huge): the largest signal or weight gradient.
    big = [(float(v), names[i], SIGNAL if q == SIGNAL else WEIGHT) for i, v in enumerate(s) if np.isfinite(v)]
    big += [(float(v), names[i], WEIGHT) for i, v in enumerate(g) if np.isfinite(v)] if q == SIGNAL else []
    norm, layer, bq = max(big, key=lambda b: b[0])  # the first of equals: input side, signal first
    if norm > th.exploding_norm:
        return _make("large", step, **{**nums, "q": bq, "norm": norm, "layer": layer})
    if spread <= th.healthy_spread:
        return _make("healthy", step, limit=th.healthy_spread, **nums)
    return _make("uneven", step, **nums)


def diagnose(metrics: MetricsChunk, status: str | None = None, first_bad_step: int | None = None,
             error: str | None = None, th: Thresholds = THRESHOLDS) -> Diagnosis:
    """Judge a run from its metrics and (optionally) its status, most severe finding first.

    Dead units and saturation are checked before the flow is called vanishing or exploding: when
    the flow looks broken and either is present, it is the verdict and the flow finding becomes a
    note. A healthy or uneven flow stays the verdict (a saturated branch of a residual net passes
    its gradient along the skip). Every verdict, a diverged run's included, keeps the notes.
    """
    step = int(metrics.steps[-1]) if len(metrics.steps) else None
    if status == "failed":
        return _make("failed", step, error=error or "")
    notes = _notes(metrics, step, th)
    if status == "diverged" or first_bad_step is not None:
        d = _make("diverged", step, step=first_bad_step if first_bad_step is not None else (step or 0))
        flow = _flow(metrics, step, th)  # what the steps before the divergence showed, if telling
        return replace(d, notes=notes + ((flow,) if flow.kind in FLOW_FAILURES else ()))
    flow = _flow(metrics, step, th)
    if flow.kind not in FLOW_FAILURES or not notes:
        return replace(flow, notes=notes)
    # The flow looks broken and units are dead or saturated: they are the cause to name first (a
    # dead layer zeroes the signal below it). The flow finding stays, as a note, with its numbers.
    head, rest = notes[0], notes[1:]  # dead before saturated
    return replace(head, notes=(*rest, flow))


def sentence(d: Diagnosis, notes: bool = True) -> str:
    """The English sentence, notes appended (the UI uses its translation table instead)."""
    text = _ENGLISH[d.kind].format(**d.numbers)
    return " ".join([text] + [_ENGLISH[n.kind].format(**n.numbers) for n in d.notes]) if notes else text


__all__ = ["Diagnosis", "SIGNAL", "THRESHOLDS", "Thresholds", "WEIGHT", "diagnose", "hidden_profile", "sentence"]
