"""The error every layer raises for a bad value, and the field checks that raise it.

:class:`SpecError` names the field (a dotted path), the value and what is allowed. The checks
(:func:`check_int`, :func:`check_float`, :func:`check_choice`) are shared by every spec family.
They never convert a value before bounding it, so a 5,000-digit integer or a float given as a
400-digit integer is refused with a SpecError, not an OverflowError; and :func:`check_tree`
bounds the nesting depth and key types of a parsed spec before any field is read.
"""
from __future__ import annotations

import math
import reprlib
from typing import Any

MAX_NESTING = 16  # levels of tables/lists in a spec's dict form (the deepest real spec has 4)
MAX_SHOWN = 60  # characters of a value quoted in an error message

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict = 2, 50, 50, 4, 4


class HugeNumber:
    """Stands for a number literal too long to convert (the codecs parse to this, the checks refuse it)."""

    def __init__(self, text: str):
        self.digits = len(text)

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits>"


def shown(value: Any) -> str:
    """A short, safe repr of any value: bounded in length and depth, never raising."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
            return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
        text = _repr.repr(value)
    except Exception:  # a hostile __repr__, an int past Python's digit limit inside a list, ...
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


class SpecError(ValueError):
    """A spec field has a value that is not allowed. ``field`` is its dotted path."""

    def __init__(self, field: str, value: Any, allowed: str):
        field = field if isinstance(field, str) else shown(field)
        if not field.strip():  # an empty or blank key typed as a field name: still name it
            field = repr(field)
        if len(field) > 2 * MAX_SHOWN:  # a 100,000-character key
            field = field[:2 * MAX_SHOWN - 3] + "..."
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {shown(value)} is not allowed: {allowed}")

    def __repr__(self) -> str:
        return f"SpecError({self.field!r}, {shown(self.value)}, {self.allowed!r})"

    def __reduce__(self):
        """Pickled as it is (the message and fields), whatever a subclass's constructor takes: a
        trainer in a worker process raises it to the pages' process (labcore.train.remote)."""
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))


def _rebuilt(cls, args, state):
    e = cls.__new__(cls, *args)
    e.args = args
    e.__dict__.update(state)
    return e


def check_int(name: str, v: Any, lo: int, hi: int) -> None:
    # Python compares ints of any size without converting them: no overflow here.
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise SpecError(name, v, f"an integer from {lo} to {hi}")


def check_float(name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    rng = f"a number {'>' if lo_open else '≥'} {lo:g} and ≤ {hi:g}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(name, v, rng)
    # Compare before any conversion: int-float comparisons are exact for any int (10**400 > 1e2),
    # while math.isfinite(10**400) would raise OverflowError.
    if isinstance(v, float) and not math.isfinite(v):
        raise SpecError(name, v, rng)
    if v > hi or v < lo or (lo_open and v == lo):
        raise SpecError(name, v, rng)


def check_choice(name: str, v: Any, table) -> None:
    if not isinstance(v, str) or v not in table:
        raise SpecError(name, v, "one of " + ", ".join(table))


def check_tree(obj: Any, where: str = "", max_depth: int = MAX_NESTING) -> None:
    """Refuse a parsed spec nested deeper than ``max_depth`` or with a non-text key.

    Iterative (no recursion, so no RecursionError) and bounded by the depth, so a cyclic or
    100,000-deep structure is refused after at most ``max_depth`` levels.
    """
    stack = [(obj, where, 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            children = []
            for k, v in node.items():
                if not isinstance(k, str):
                    raise SpecError(path or "spec", k, "text field names")
                children.append((v, f"{path}.{k}" if path else k))
        elif isinstance(node, (list, tuple)):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            continue
        if depth >= max_depth:
            raise SpecError(path or "spec", "...", f"at most {max_depth} levels of nested tables and lists")
        stack.extend((v, p, depth + 1) for v, p in children)


# Short names used inside labcore.
_int, _float, _choice = check_int, check_float, check_choice
