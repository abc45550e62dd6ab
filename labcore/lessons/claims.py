"""Claims measured: a run's metrics -> the quantities lessons make claims about, and the check.

:func:`measure` reads one quantity from a finished (or diverged) run; :func:`check_lesson` trains
each of a lesson's runs on every seed (:data:`~labcore.lessons.model.SEEDS`) and says, for each
claim, the value on every seed and whether it held on all of them. A claim that holds on some
seeds only fails: a claim that needs a lucky seed is not a claim.

When every claim of a lesson reads the first step (``at = "init"``), its runs train one step only.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from labcore.core.family import family_of
from labcore.core.metrics import MetricsChunk
from labcore.core.status import Status
from labcore.lessons.model import SEEDS, Claim, Lesson


@dataclass
class RunResult:
    status: str
    metrics: MetricsChunk
    head: int = 1  # trailing probe points that are not hidden layers (Family.head_points)


def _row(m: MetricsChunk, at: str) -> int:
    return 0 if at == "init" else len(m.steps) - 1


def _hidden(r: RunResult, metric: str, at: str) -> np.ndarray:
    """The metric on the hidden layers (without the ``r.head`` trailing points: the classifier head)."""
    m, n = r.metrics, len(r.metrics.layers) - r.head
    if len(m.steps) == 0:
        return np.full(max(0, n), np.nan)
    return m.metric(metric)[_row(m, at), :n]


def measure(r: RunResult, c: Claim) -> float:
    """One claim's quantity for one run (NaN when the run has nothing finite to read)."""
    m, q = r.metrics, c.quantity
    if q == "diverged":
        return 1.0 if r.status == Status.DIVERGED else 0.0
    if q == "test_acc":
        acc = m.test_acc[np.isfinite(m.test_acc)]
        return float(acc[-1]) if len(acc) else (0.0 if r.status == Status.DIVERGED else math.nan)
    if q == "train_loss":
        tail = m.step_loss[-max(1, len(m.step_loss) // 10):]
        return float(np.nanmean(tail)) if np.isfinite(tail).any() else math.nan
    if q == "ratio":
        v = _hidden(r, c.metric, c.at)
        return float(v[0] / v[-1]) if len(v) >= 2 and v[-1] > 0 else math.nan
    if q == "act_std_ratio":
        v = _hidden(r, "act_std", c.at)
        return float(v[-1] / v[0]) if len(v) >= 2 and v[0] > 0 else math.nan
    v = _hidden(r, q, c.at)  # dead, saturated: the mean fraction over hidden layers
    return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


def claim_value(results: dict[str, RunResult], c: Claim) -> float:
    v = measure(results[c.run], c)
    return v - measure(results[c.minus], c) if c.minus else v


def train(spec: Any, steps: int | None = None) -> RunResult:
    """Train a spec of any family to its end (or ``steps``); the metrics of the whole run."""
    family = family_of(spec)
    trainer = family.make_trainer(spec)
    chunks = [trainer.steps(steps)]
    return RunResult(trainer.status, MetricsChunk.concat(chunks), family.head_points)


@dataclass
class ClaimReport:
    lesson: str
    claim: Claim
    values: list[float] = field(default_factory=list)  # one per seed

    @property
    def passed(self) -> bool:
        return bool(self.values) and all(self.claim.holds(v) for v in self.values)

    def as_dict(self) -> dict:
        finite = [v for v in self.values if math.isfinite(v)]
        return {"lesson": self.lesson, "claim": self.claim.text["en"], "quantity": self.claim.quantity,
                "bound": self.claim.bound_text(), "seeds": list(SEEDS[:len(self.values)]),
                "values": [v if math.isfinite(v) else None for v in self.values],
                "median": float(np.median(finite)) if finite else None,
                "min": min(finite) if finite else None, "max": max(finite) if finite else None,
                "passed": self.passed}


def check_lesson(lesson: Lesson, seeds=SEEDS, progress: Callable[[str], None] | None = None) -> list[ClaimReport]:
    """Train the lesson's runs on every seed; one report per claim."""
    reports = [ClaimReport(lesson.id, c) for c in lesson.claims]
    needed = {c.run for c in lesson.claims} | {c.minus for c in lesson.claims if c.minus}
    init_only = all(c.at == "init" and c.quantity not in ("test_acc", "train_loss", "diverged")
                    for c in lesson.claims)
    for seed in seeds:
        t0 = time.perf_counter()
        results = {k: train(lesson.spec(k, seed), 1 if init_only else None) for k in sorted(needed)}
        for rep in reports:
            rep.values.append(claim_value(results, rep.claim))
        if progress:
            progress(f"{lesson.id} seed {seed}: {time.perf_counter() - t0:.1f}s")
    return reports
