"""Pay a process's first-training costs before its first Train click.

The first optimizer a process builds imports a long chain of torch modules (torch.distributed's
tensor ops among them: about 4 s on the 2-core machine), and the first steps warm the kernels;
a page's first Train, or a worker process's first run, should not wait for that.
"""
from __future__ import annotations

from dataclasses import replace


def warm_up_training() -> None:
    """Build and train two steps of the first preset on the CPU, and import the picture code."""
    from labcore.presets import list_presets
    from labcore.train import snapshot  # noqa: F401  (the pictures each chunk draws)
    from labcore.train.mlp import Trainer

    spec = list_presets()[0].spec
    Trainer(replace(spec, train=replace(spec.train, steps=2, device="cpu"))).steps(2)


__all__ = ["warm_up_training"]
