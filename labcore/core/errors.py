"""The error every layer raises for a bad value, and the field checks that raise it.

:class:`SpecError` names the field (a dotted path), the value and what is allowed. The checks
(:func:`check_int`, :func:`check_float`, :func:`check_choice`) are shared by every spec family.
"""
from __future__ import annotations

import math
from typing import Any


class SpecError(ValueError):
    """A spec field has a value that is not allowed. ``field`` is its dotted path."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{field} = {shown} is not allowed: {allowed}")


def check_int(name: str, v: Any, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise SpecError(name, v, f"an integer from {lo} to {hi}")
    if not lo <= v <= hi:
        raise SpecError(name, v, f"an integer from {lo} to {hi}")


def check_float(name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    rng = f"a number {'>' if lo_open else '≥'} {lo:g} and ≤ {hi:g}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(name, v, rng)
    if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
        raise SpecError(name, v, rng)


def check_choice(name: str, v: Any, table) -> None:
    if not isinstance(v, str) or v not in table:
        raise SpecError(name, v, "one of " + ", ".join(table))



# Short names used inside labcore.
_int, _float, _choice = check_int, check_float, check_choice
