"""A toy network family, registered in this one module: it proves that a new family needs no edit
to the job manager, the store, the codecs or the CLI (tests/test_architecture.py drives it).

The toy "network" is one weight vector fit by gradient descent to a target; its probe layer is
the vector itself. Its trainer follows the run protocol (``steps``, ``stop``, ``status``,
``summary``, metric chunks) on top of the shared :class:`~labcore.train.loop.TrainLoop`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from labcore.core.errors import SpecError, check_float, check_int
from labcore.core.family import Family, Schedule, register
from labcore.core.metrics import LAYER_METRICS, MetricsChunk


@dataclass(frozen=True)
class ToySpec:
    steps: int = 30
    lr: float = 0.1
    size: int = 4
    seed: int = 0

    def __post_init__(self):
        check_int("steps", self.steps, 1, 10_000)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_int("size", self.size, 1, 1000)
        check_int("seed", self.seed, 0, 2**31 - 1)


def _from_dict(d: dict) -> ToySpec:
    d = {k: v for k, v in d.items() if k != "kind"}
    unknown = sorted(set(d) - {"steps", "lr", "size", "seed"})
    if unknown:
        raise SpecError(unknown[0], d[unknown[0]], "one of steps, lr, size, seed")
    return ToySpec(**d)


class ToyTrainer:
    """Gradient descent on 0.5·‖w - target‖², recorded every step, flushed every 10."""

    flush_every = 10

    def __init__(self, spec: ToySpec):
        from labcore.core.status import Status

        self.spec, self.step, self.total_steps, self.status = spec, 0, spec.steps, Status.READY
        rng = np.random.default_rng(spec.seed)
        self.w, self.target = rng.normal(size=spec.size), rng.normal(size=spec.size)
        self.layers = ["w"]
        self._stopped = False

    @property
    def done(self) -> bool:
        from labcore.core.status import TERMINAL

        return self.status in TERMINAL

    @property
    def steps_per_second(self) -> float:
        return 0.0

    def stop(self) -> None:
        self._stopped = True

    def steps(self, n: int | None = None) -> MetricsChunk:
        from labcore.core.status import Status

        n = self.total_steps - self.step if n is None else min(n, self.total_steps - self.step)
        rows, losses = [], []
        for _ in range(n):
            if self._stopped:
                break
            grad = self.w - self.target
            losses.append(0.5 * float(grad @ grad))
            row = np.zeros((len(LAYER_METRICS), 1))
            row[LAYER_METRICS.index("grad_norm"), 0] = np.linalg.norm(grad)
            row[LAYER_METRICS.index("weight_norm"), 0] = np.linalg.norm(self.w)
            self.w = self.w - self.spec.lr * grad
            self.step += 1
            rows.append(row)
        steps = np.arange(self.step - len(rows) + 1, self.step + 1, dtype=np.int64)
        loss = np.asarray(losses)
        chunk = MetricsChunk(self.layers, steps, loss, np.full(len(rows), np.nan),
                             np.asarray(rows).reshape(len(rows), len(LAYER_METRICS), 1),
                             np.zeros(0, np.int64), np.zeros(0), np.zeros(0), steps.copy(), loss.copy())
        self.status = (Status.STOPPED if self._stopped else
                       Status.FINISHED if self.step >= self.total_steps else Status.READY)
        return chunk

    def summary(self) -> dict:
        return {"status": str(self.status), "steps": self.step, "first_bad_step": None,
                "steps_per_second": 0.0, "device": "numpy", "params": self.spec.size, "layers": self.layers}


FAMILY = register(Family(
    name="toy", spec_type=ToySpec, from_dict=_from_dict,
    to_dict=lambda spec, *, drop_defaults=False: {"kind": "toy", **asdict(spec)},
    check=lambda spec: None, estimate=lambda spec: None,
    schedule=lambda spec: Schedule(spec.steps, 1, ToyTrainer.flush_every, spec.seed, "cpu"),
    make_trainer=lambda spec, **options: ToyTrainer(spec), label="toy"))
