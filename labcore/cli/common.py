"""What every CLI command shares: exit codes, number formatting, the progress bar, JSON output."""
from __future__ import annotations

import json
import math
import sys

EXIT_BAD_INPUT, EXIT_FAILED = 2, 1


def _num(x: float):
    """JSON number or null for NaN/Inf."""
    return float(x) if x is not None and math.isfinite(x) else None


def _fmt(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.3g}"


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse otherwise)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        self.total, self.width = total, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1.0

    def update(self, done: int, extra: str = "") -> None:
        frac = min(1.0, done / max(1, self.total))
        if not self.tty and frac < 1.0 and frac - self._last < 0.1:
            return
        self._last = frac
        bar = "#" * int(frac * self.width)
        line = f"[{bar:<{self.width}}] {done}/{self.total} {extra}"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def write_json(path: str | None, result: dict) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, allow_nan=False)
