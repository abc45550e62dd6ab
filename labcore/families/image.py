"""The full-model family: plain/ResNet, VGG and AlexNet on images (the Models page's networks)."""
from __future__ import annotations

from labcore.core.family import Family, Schedule, register
from labcore.spec import model


def _schedule(spec: model.ModelRunSpec) -> Schedule:
    return Schedule(spec.total_steps, spec.record_every, spec.flush_every, spec.seed, spec.device)


def _check(spec: model.ModelRunSpec):
    from labcore.train.image import check_model_size  # measures the model on torch's meta device

    return check_model_size(spec)


def _make_trainer(spec: model.ModelRunSpec, **options):
    from labcore.train.image import ImageTrainer  # torch loads only when a run starts

    return ImageTrainer(spec, **options)


FAMILY = register(Family(
    name="model", spec_type=model.ModelRunSpec, from_dict=model.from_dict,
    to_dict=lambda spec, *, drop_defaults=False: spec.to_dict(drop_defaults=drop_defaults),
    check=_check, estimate=_check, schedule=_schedule, make_trainer=_make_trainer, label="full model", page="models"))
