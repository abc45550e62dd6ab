"""Content keys of runs, so that identical runs are trained once and watched by many.

A run is deterministic given its family, its spec (seed and planned surgery events included) and
the device it trains on: each trainer draws from its own generators (:mod:`labcore.train.rng`).
:func:`run_key` hashes exactly that, for a batch of specs (a run, or twins A and B), so the
:class:`~labcore.train.jobs.JobManager` can attach a second submit of the same batch to the
jobs already training it (``share=True``), or hand back a finished one (``reuse_done=True``).
"""
from __future__ import annotations

import functools
import hashlib
import json

from labcore.core.family import family_of


@functools.lru_cache(maxsize=16)
def _resolved(device: str) -> str:
    """``auto`` -> the device it means on this machine (torch is imported only for "auto")."""
    if device != "auto":
        return device
    try:
        from labcore.train.device import resolve_device

        return resolve_device(device).type
    except Exception:
        return device


def _devices(d, found: list) -> list:
    if isinstance(d, dict):
        for k, v in d.items():
            if k == "device" and isinstance(v, str):
                found.append(_resolved(v))
            else:
                _devices(v, found)
    elif isinstance(d, (list, tuple)):
        for v in d:
            _devices(v, found)
    return found


def run_key(specs) -> str:
    """A hex key equal for batches of the same family, spec (all fields) and resolved device."""
    parts = []
    for s in specs:
        fam = family_of(s)
        d = fam.to_dict(s)
        parts.append({"family": fam.name, "spec": d, "device": _devices(d, [])})
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


__all__ = ["run_key"]
