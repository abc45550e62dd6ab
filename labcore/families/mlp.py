"""The MLP family: stacks of Linear layers on the embedded data sets (the Lab's networks)."""
from __future__ import annotations

from labcore.core.family import Family, Schedule, register
from labcore.spec import mlp
from labcore.spec.size import check_size, estimate


def _schedule(spec: mlp.RunSpec) -> Schedule:
    t = spec.train
    return Schedule(t.steps, t.record_every, t.flush_every, t.seed, t.device)


def _make_trainer(spec: mlp.RunSpec, **options):
    from labcore.train.mlp import Trainer  # torch loads only when a run starts

    return Trainer(spec, **options)


def _snapshot(trainer, focus: str | None) -> dict:
    from labcore.train.snapshot import take

    return take(trainer, focus)


FAMILY = register(Family(
    name="mlp", spec_type=mlp.RunSpec, from_dict=mlp.from_dict, to_dict=mlp.to_dict, check=check_size,
    estimate=estimate, schedule=_schedule, make_trainer=_make_trainer, snapshot=_snapshot, label="MLP"))
