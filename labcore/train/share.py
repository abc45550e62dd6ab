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
import logging

from labcore.core.family import family_of
from labcore.core.status import Status
from labcore.train.job import _Batch

log = logging.getLogger("labcore.train.jobs")


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


class _SharedRuns:
    """Mixed into JobManager: the batches a submit may join (``_live``: queued or training;
    ``_finished``: ended on their own, newest last) and the run store's finished runs."""

    def _shared_batch(self, key: str, reuse_done: bool) -> _Batch | None:
        """A batch with this content that a new submit may join (holding the lock)."""
        b = self._live.get(key)
        if b is not None:
            if not b.done and not any(j._stop.is_set() or j._paused or j._changes for j in b.jobs):
                return b
            if not b.done:
                return None
            self._live.pop(key, None)
            if b.jobs and all(j.status in (Status.FINISHED, Status.DIVERGED) for j in b.jobs):
                self._finished[key] = b
        if reuse_done and key in self._finished:
            self._finished.move_to_end(key)
            return self._finished[key]
        return None

    def _from_store(self, batch: _Batch) -> bool:
        """Fill a new batch from finished stored runs of its specs (no training); False if none."""
        if self.stored_runs is None:
            return False
        try:
            found = self.stored_runs([j.spec for j in batch.jobs])
        except Exception as e:  # a store that cannot answer: the run trains
            log.warning("looking up stored runs failed: %s", e)
            return False
        if not found or len(found) != len(batch.jobs):
            return False
        for job, (metrics, summary) in zip(batch.jobs, found):
            job._load_finished(metrics, summary)
        batch.started = True
        with self._cond:
            if self._live.get(batch.key) is batch:
                self._live.pop(batch.key)
            self._finished[batch.key] = batch
            while len(self._finished) > self.keep_finished:
                self._finished.popitem(last=False)
        return True

    def _remember_finished(self, batch: _Batch) -> None:
        """A shared batch that ended on its own: kept (a few) for later submits of it."""
        with self._cond:
            if batch.key is None or self._live.get(batch.key) is not batch:
                return
            self._live.pop(batch.key, None)
            if all(j.status in (Status.FINISHED, Status.DIVERGED) for j in batch.jobs):
                self._finished[batch.key] = batch
                while len(self._finished) > self.keep_finished:
                    self._finished.popitem(last=False)


__all__ = ["run_key"]
