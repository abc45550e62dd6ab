"""Pay a process's first-training costs before its first Train click.

The first optimizer a process builds imports a long chain of torch modules (torch.distributed's
tensor ops among them: about 4 s on the 2-core machine), and the first steps warm the kernels;
a page's first Train, or a worker process's first run, should not wait for that.
"""
from __future__ import annotations


def warm_up_training() -> None:
    """Build and train two steps of a preset-sized MLP on the CPU, and import the picture code."""
    from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec
    from labcore.train import snapshot  # noqa: F401  (the pictures each chunk draws)
    from labcore.train.mlp import Trainer

    spec = RunSpec(NetSpec.uniform(24, 64, "sigmoid"), TrainSpec(DataSpec("circles"), optimizer="adam", steps=2,
                                                                  record_every=1, device="cpu"))
    Trainer(spec).steps(2)


__all__ = ["warm_up_training"]
