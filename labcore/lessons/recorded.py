"""Recorded lesson runs: each lesson's runs on seed 0, shipped as small ``.npz`` files.

A lesson opens with its result drawn at once (no training on the page's first draw): the Lessons
page reads ``recorded/<lesson>.npz``. ``python scripts/record_lessons.py`` writes them; each file
carries the fingerprint of the specs it was made from, so a file whose lesson changed is *stale*
and is not used (the page trains the runs instead, once, and keeps them), and a test fails until
the script is re-run.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from labcore.core.family import family_of
from labcore.core.metrics import MetricsChunk
from labcore.lessons.claims import RunResult, train
from labcore.lessons.model import Lesson, spec_dict

FOLDER = Path(__file__).resolve().parent / "recorded"
SEED = 0
_FIELDS = ("steps", "loss", "acc", "layer", "eval_steps", "test_loss", "test_acc", "all_steps", "step_loss")


def fingerprint(lesson: Lesson) -> str:
    """A hash of the lesson's run specs (seed 0): what a recorded file must match."""
    text = json.dumps({k: spec_dict(lesson.spec(k, SEED)) for k in sorted(lesson.runs)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def path(lesson: Lesson, folder: Path = FOLDER) -> Path:
    return folder / f"{lesson.id}.npz"


def record(lesson: Lesson, folder: Path = FOLDER) -> dict[str, RunResult]:
    """Train the lesson's runs on seed 0 and write its file."""
    results = {k: train(lesson.spec(k, SEED)) for k in sorted(lesson.runs)}
    arrays = {"fingerprint": np.array(fingerprint(lesson))}
    for k, r in results.items():
        arrays[f"{k}.status"] = np.array(str(r.status.value if hasattr(r.status, "value") else r.status))
        arrays[f"{k}.layers"] = np.array(r.metrics.layers)
        for f in _FIELDS:
            arrays[f"{k}.{f}"] = np.asarray(getattr(r.metrics, f), dtype=np.float32 if f == "layer" else None)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path(lesson, folder), **arrays)
    return results


def load(lesson: Lesson, folder: Path = FOLDER) -> dict[str, RunResult] | None:
    """The lesson's recorded runs, or None when its file is missing or stale."""
    p = path(lesson, folder)
    if not p.exists():
        return None
    with np.load(p, allow_pickle=False) as z:
        if str(z["fingerprint"]) != fingerprint(lesson):
            return None
        out = {}
        for k in lesson.runs:
            m = MetricsChunk([str(x) for x in z[f"{k}.layers"]], *(z[f"{k}.{f}"] for f in _FIELDS))
            out[k] = RunResult(str(z[f"{k}.status"]), m, family_of(lesson.spec(k)).head_points)
    return out


def is_current(lesson: Lesson, folder: Path = FOLDER) -> bool:
    return load(lesson, folder) is not None
