"""The dict form of a flat spec (one frozen dataclass of plain fields, with a family ``kind``).

The recurrent and transformer specs share it: ``to_dict`` writes ``{"kind": ..., **fields}``
(optionally without the defaults), ``from_dict`` refuses unknown fields by name and accepts
TOML/JSON integers where a float is due. No torch here.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Callable

from labcore.core.errors import SpecError


def flat_codec(cls: type, kind: str, float_fields: tuple[str, ...], what: str
               ) -> tuple[Callable[..., dict], Callable[[Any], Any]]:
    """``(to_dict, from_dict)`` for the dataclass ``cls`` whose dicts carry ``kind``."""
    names = {f.name for f in fields(cls)}
    defaults = cls()

    def to_dict(spec, *, drop_defaults: bool = False) -> dict:
        d = asdict(spec)
        if drop_defaults:
            d = {k: v for k, v in d.items() if v != getattr(defaults, k)}
        return {"kind": kind, **d}

    def from_dict(d: Any):
        if not isinstance(d, dict):
            raise SpecError("spec", d, f"a table of {what} fields")
        d = {k: v for k, v in d.items() if k != "kind"}
        for k in d:
            if k not in names:
                raise SpecError(k, d[k], "one of " + ", ".join(sorted(names)))
        for k in float_fields:  # TOML/JSON ints are fine as floats
            if isinstance(d.get(k), int) and not isinstance(d.get(k), bool):
                d[k] = float(d[k])
        return cls(**d)

    return to_dict, from_dict


__all__ = ["flat_codec"]
