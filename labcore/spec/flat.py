"""The dict form of a flat spec (one frozen dataclass of plain fields, with a family ``kind``).

The recurrent and transformer specs share it, and :func:`check_run_control`: ``to_dict`` writes ``{"kind": ..., **fields}``
(optionally without the defaults), ``from_dict`` refuses unknown fields by name and accepts
TOML/JSON integers where a float is due. No torch here.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Callable

from labcore.core.errors import SpecError, check_choice, check_float, check_int
from labcore.spec.choices import DEVICES


def check_run_control(spec: Any) -> None:
    """The fields every flat spec shares: clipping, batch, steps, evaluation, seed, device, cadence."""
    check_float("clip_norm", spec.clip_norm, 0.0, 1e6)
    check_int("batch_size", spec.batch_size, 1, 8192)
    check_int("steps", spec.steps, 1, 1_000_000)
    check_int("eval_every", spec.eval_every, 1, 1_000_000)
    check_int("seed", spec.seed, 0, 2**31 - 1)
    check_choice("device", spec.device, DEVICES)
    check_int("record_every", spec.record_every, 1, 100_000)
    check_int("flush_every", spec.flush_every, 1, 100_000)
    if spec.flush_every < spec.record_every:
        raise SpecError("flush_every", spec.flush_every, f"at least record_every ({spec.record_every})")


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


__all__ = ["check_run_control", "flat_codec"]
