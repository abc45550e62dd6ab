"""Record every lesson's runs (seed 0) into labcore/lessons/recorded/*.npz.

Run it after changing a lesson file: ``python scripts/record_lessons.py [lesson ...]``.
tests/test_lessons.py fails while a recorded file is stale.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labcore.lessons import load_lessons  # noqa: E402
from labcore.lessons import recorded  # noqa: E402


def main(only: list[str]) -> int:
    for lesson in load_lessons():
        if only and lesson.id not in only:
            continue
        if not only and recorded.is_current(lesson):
            print(f"{lesson.id}: current")
            continue
        t0 = time.perf_counter()
        recorded.record(lesson)
        size = recorded.path(lesson).stat().st_size
        print(f"{lesson.id}: recorded in {time.perf_counter() - t0:.1f}s ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
