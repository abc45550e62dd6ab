"""The transformer family: a small Post-LN / Pre-LN encoder on synthetic token tasks (gradients through depth).

Its probe points are sublayers (``1.attn``, ``1.mlp``, ...), so its runs use the depth charts, the
run store, Compare and the CLI like MLP runs (see :mod:`labcore.train.transformer`).
"""
from __future__ import annotations

from labcore.core.family import Family, Schedule, register
from labcore.spec import transformer


def _schedule(spec: transformer.TransformerSpec) -> Schedule:
    return Schedule(spec.steps, spec.record_every, spec.flush_every, spec.seed, spec.device)


def _estimate(spec: transformer.TransformerSpec) -> dict:
    d = spec.d_model
    params = spec.layers * (12 * d * d + 13 * d) + 2 * spec.vocab * d + spec.seq_len * d
    return {"params": params, "activation_bytes": spec.batch_size * spec.seq_len * d * spec.layers * 16 * 4}


def _make_trainer(spec: transformer.TransformerSpec, **options):
    from labcore.train.transformer import TransformerTrainer

    return TransformerTrainer(spec)


FAMILY = register(Family(
    name="transformer", spec_type=transformer.TransformerSpec, from_dict=transformer.from_dict,
    to_dict=transformer.to_dict, check=_estimate, estimate=_estimate, schedule=_schedule,
    make_trainer=_make_trainer, label="transformer", page="transformers"))
