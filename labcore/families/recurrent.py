"""The recurrent family: tanh RNN / LSTM / GRU on synthetic long-range tasks (gradients through time).

Its probe points are time steps, so its runs go through the job manager, the run store, Compare
and the CLI like any other family's (see :mod:`labcore.train.recurrent`).
"""
from __future__ import annotations

from labcore.core.family import Family, Schedule, register
from labcore.spec import recurrent


def _schedule(spec: recurrent.RecurrentSpec) -> Schedule:
    return Schedule(spec.steps, spec.record_every, spec.flush_every, spec.seed, spec.device)


def _estimate(spec: recurrent.RecurrentSpec) -> dict:
    from labcore.nets.recurrent import _GATES

    g, h, n = _GATES[spec.cell], spec.hidden, spec.layers
    params = n * g * h * (h + h + 2) + h * 40  # recurrent + input weights (an upper bound) and the head
    return {"params": params, "activation_bytes": spec.batch_size * spec.seq_len * h * n * (g + 2) * 4}


def _make_trainer(spec: recurrent.RecurrentSpec, **options):
    from labcore.train.recurrent import RecurrentTrainer  # torch loads only when a run starts

    return RecurrentTrainer(spec)


FAMILY = register(Family(
    name="rnn", spec_type=recurrent.RecurrentSpec, from_dict=recurrent.from_dict, to_dict=recurrent.to_dict,
    check=_estimate, estimate=_estimate, schedule=_schedule, make_trainer=_make_trainer,
    label="recurrent", page="sequences", head_points=0))
