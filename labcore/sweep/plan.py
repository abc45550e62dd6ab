"""What a sweep runs: a base spec, the axes it varies, and the budget of steps per point.

``SweepPlan`` is frozen and round-trips through a plain dict (stored with the sweep, so a sweep
can be resumed from the store alone). Axes name the flat fields of
:func:`labcore.spec.edit.override` (depth, width, activation, init, gain, norm, skip, lr,
optimizer, seed, ...). ``grid`` takes every combination; ``random`` draws ``samples`` points
from the axes' values with the plan's own seed. Each point is a dict of settings, and its key
(the canonical JSON of that dict) identifies it in the store: a resume skips keys already done.
"""
from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, field

from labcore.core.errors import SpecError
from labcore.spec.codec import from_dict, to_dict
from labcore.spec.edit import KNOWN, override
from labcore.spec.mlp import DataSpec, NetSpec, RunSpec, TrainSpec

MAX_POINTS = 100_000  # a plan larger than this is a typo, not a sweep
MODES = ("grid", "random")
PHASE_DATASET = "digits"  # real 8x8 digits: 64 inputs, 10 classes, offline


def parse_values(text: str, name: str = "values") -> list:
    """``"5:60:5"`` -> 5, 10, ..., 60 (inclusive); ``"0.5:3:0.25"`` likewise; ``"a,b,c"`` -> a list.

    Numbers stay ints where they are ints. A bad range raises a SpecError naming ``name``.
    """
    text = str(text).strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise SpecError(name, text, "start:stop:step, e.g. 5:60:5")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise SpecError(name, text, "numbers in start:stop:step, e.g. 0.5:3:0.25") from None
        start, stop = nums[0], nums[1]
        step = nums[2] if len(parts) == 3 else 1.0
        if not all(math.isfinite(x) for x in nums) or step <= 0 or stop < start:
            raise SpecError(name, text, "finite start <= stop and a step > 0")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > MAX_POINTS:
            raise SpecError(name, text, f"at most {MAX_POINTS} values")
        vals = [start + i * step for i in range(n)]
        if all(float(p).is_integer() for p in nums):
            return [int(round(v)) for v in vals]
        return [round(v, 10) for v in vals]
    out = []
    for p in text.split(","):
        p = p.strip()
        if not p:
            continue
        try:
            out.append(int(p))
        except ValueError:
            try:
                out.append(float(p))
            except ValueError:
                out.append(p)
    if not out:
        raise SpecError(name, text, "a comma-separated list or a start:stop:step range")
    return out


@dataclass(frozen=True)
class SweepPlan:
    """A sweep: ``base`` spec, ``axes`` ((field, values), ...), ``steps`` per point."""

    base: RunSpec = field(default_factory=RunSpec)  # every point starts from this spec
    axes: tuple = ()  # ((field name, (value, ...)), ...), outermost first
    steps: int = 300  # training steps per point (the budget)
    mode: str = "grid"  # grid | random
    samples: int = 0  # points drawn in random mode
    seed: int = 0  # seeds the random draw (each point's training seed is its own field)
    name: str = ""  # shown in lists
    meta: tuple = ()  # ((key, value), ...): what figures need, e.g. the σ_b of a phase diagram

    def __post_init__(self):
        if not isinstance(self.base, RunSpec):
            raise SpecError("base", self.base, "an MLP run spec")
        axes = tuple((str(k), tuple(v)) for k, v in (self.axes.items() if isinstance(self.axes, dict) else self.axes))
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "meta", tuple(sorted(dict(self.meta).items())))
        if not axes:
            raise SpecError("axes", "", "at least one axis, e.g. depth=5:60:5")
        for k, vals in axes:
            if k not in KNOWN:
                raise SpecError(k, "", "a spec field: " + ", ".join(KNOWN))
            if not vals:
                raise SpecError(k, "", "at least one value")
        if len({k for k, _ in axes}) != len(axes):
            raise SpecError("axes", [k for k, _ in axes], "each field once")
        if self.mode not in MODES:
            raise SpecError("mode", self.mode, "grid or random")
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 1_000_000:
            raise SpecError("steps", self.steps, "from 1 to 1000000")
        if self.mode == "random" and not 1 <= self.samples <= MAX_POINTS:
            raise SpecError("samples", self.samples, f"from 1 to {MAX_POINTS} in random mode")
        if self.mode == "grid" and math.prod(len(v) for _, v in axes) > MAX_POINTS:
            raise SpecError("axes", "x".join(str(len(v)) for _, v in axes), f"at most {MAX_POINTS} points")

    # ------------------------------------------------------------------ points
    def points(self) -> list[dict]:
        """Every point's settings, in a stable order (grid: row-major over the axes)."""
        names = [k for k, _ in self.axes]
        if self.mode == "grid":
            return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]
        rng = random.Random(self.seed)
        pts, seen = [], set()
        for _ in range(self.samples * 20):
            p = {k: rng.choice(v) for k, v in self.axes}
            key = point_key(p)
            if key not in seen:
                seen.add(key)
                pts.append(p)
            if len(pts) == self.samples:
                break
        return pts

    def spec_for(self, point: dict) -> RunSpec:
        """The run spec of one point (a SpecError names the offending field)."""
        return override(self.base, **point, steps=self.steps)

    def check(self) -> list[str]:
        """Validate every point's spec before anything runs; returns their keys."""
        keys = []
        for p in self.points():
            self.spec_for(p)
            keys.append(point_key(p))
        return keys

    # ------------------------------------------------------------------ dict form
    def to_dict(self) -> dict:
        return {"base": to_dict(self.base), "axes": [[k, list(v)] for k, v in self.axes], "steps": self.steps,
                "mode": self.mode, "samples": self.samples, "seed": self.seed, "name": self.name,
                "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: dict) -> "SweepPlan":
        if not isinstance(d, dict):
            raise SpecError("plan", d, "a table")
        return cls(base=from_dict(d.get("base", {})), axes=tuple((k, tuple(v)) for k, v in d.get("axes", [])),
                   steps=int(d.get("steps", 300)), mode=d.get("mode", "grid"), samples=int(d.get("samples", 0)),
                   seed=int(d.get("seed", 0)), name=d.get("name", ""), meta=tuple(d.get("meta", {}).items()))

    @property
    def size(self) -> int:
        return self.samples if self.mode == "random" else math.prod(len(v) for _, v in self.axes)


def point_key(point: dict) -> str:
    """The canonical JSON of a point's settings: its identity in the store."""
    return json.dumps(point, sort_keys=True, separators=(",", ":"))


def phase_base(activation: str = "tanh", width: int = 64, lr: float = 0.01, seed: int = 0,
               optimizer: str = "momentum", dataset: str = PHASE_DATASET) -> RunSpec:
    """The base of a phase diagram: LeCun-normal init (σ_w = gain, σ_b = 0), SGD with momentum.

    Gradients are recorded at step 1 (init) and every 25th step; the test set is scored at the end.
    """
    net = NetSpec.uniform(10, width, activation, init="lecun_normal", gain=1.0)
    train = TrainSpec(data=DataSpec(name=dataset), optimizer=optimizer, lr=lr, batch_size=64, seed=seed,
                      device="cpu", record_every=25, flush_every=100_000, eval_every=1_000_000)
    return RunSpec(net, train)


def phase_plan(activation: str = "tanh", depths=(5, 10, 20, 30), gains=(0.5, 1.0, 1.5, 2.0), steps: int = 300,
               *, width: int = 64, lr: float = 0.01, seeds=(0,), optimizer: str = "momentum",
               dataset: str = PHASE_DATASET, name: str = "") -> SweepPlan:
    """depth × σ_w (= gain of LeCun-normal init), σ_b = 0: Schoenholz et al.'s phase diagram."""
    base = phase_base(activation, width, lr, seeds[0], optimizer, dataset)
    axes = [("depth", tuple(depths)), ("gain", tuple(gains))]
    if len(seeds) > 1:
        axes.append(("seed", tuple(seeds)))
    return SweepPlan(base, tuple(axes), steps, name=name or f"phase {activation}",
                     meta=(("kind", "phase"), ("activation", activation), ("sigma_b2", 0.0), ("x", "gain"), ("y", "depth")))


def lr_plan(activation: str = "relu", depths=(5, 10, 20, 30), lrs=(1e-3, 1e-2, 1e-1), steps: int = 300, *,
            gain: float | None = None, width: int = 64, optimizer: str = "momentum", seeds=(0,),
            dataset: str = PHASE_DATASET, name: str = "") -> SweepPlan:
    """depth × learning rate at a fixed init (He's σ_w = √2 for ReLU-like, 1 otherwise)."""
    if gain is None:
        gain = math.sqrt(2.0) if activation in ("relu", "leaky_relu", "gelu", "elu") else 1.0
    base = override(phase_base(activation, width, 0.01, seeds[0], optimizer, dataset), gain=gain)
    axes = [("depth", tuple(depths)), ("lr", tuple(lrs))]
    if len(seeds) > 1:
        axes.append(("seed", tuple(seeds)))
    return SweepPlan(base, tuple(axes), steps, name=name or f"lr {activation}",
                     meta=(("kind", "lr"), ("activation", activation), ("gain", gain), ("x", "lr"), ("y", "depth")))
