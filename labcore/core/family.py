"""The run protocol: what every family of networks (MLP stacks, full models, ...) provides.

A *family* is registered once, by the module that defines it (:func:`register`), and from then on
the job manager, the codecs, the run store, the CLI and the pages handle its runs without knowing
it: they look it up here, by the spec's type (:func:`family_of`) or by the ``kind`` written in a
spec's dict form (:func:`family_named`). Adding a family is one new module that calls
:func:`register`; the built-in ones are listed in :mod:`labcore.families`.

A family gives:

* ``name``: its ``kind`` in dict/JSON/TOML form and in the store (the MLP family's dicts carry no
  ``kind``: :data:`DEFAULT_FAMILY`);
* ``from_dict`` / ``to_dict``: the plain-dict form; ``from_dict`` validates and raises
  :class:`~labcore.core.errors.SpecError` naming the field;
* ``check``: cross-field validation and the size guard, before anything is allocated (raises a
  SpecError naming the field, or a size error);
* ``estimate``: the run's size (parameters, bytes) without allocating;
* ``schedule``: the step counts a scheduler needs before a trainer exists;
* ``make_trainer``: a :class:`Trainer` for the spec;
* ``snapshot`` (optional): extra pictures of a live trainer (decision boundary, histograms);
* ``head_points``: how many trailing probe points are not hidden layers (1: the classifier head;
  0 for a recurrent run, whose points are all time steps). Lessons' claims and charts read the
  hidden points only.

Nothing here imports torch: families import their trainers lazily, inside ``make_trainer``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Protocol, runtime_checkable

from labcore.core.errors import SpecError
from labcore.core.metrics import MetricsChunk

DEFAULT_FAMILY = "mlp"  # a dict without "kind" is an MLP spec (the lab's first form, kept readable)


class Schedule(NamedTuple):
    """The numbers a scheduler reads from a spec before its trainer exists."""

    total_steps: int
    record_every: int
    flush_every: int
    seed: int
    device: str


@runtime_checkable
class Trainer(Protocol):
    """One run. Not thread-safe except for :meth:`stop`."""

    spec: Any
    layers: list[str]  # probe point names, input side first
    step: int  # steps trained so far
    total_steps: int
    flush_every: int
    status: str  # a labcore.core.status.Status value

    # Optional: ``cpu_threads`` (int | None), the CPU thread count the trainer would like; whoever
    # runs it applies it (labcore.train.device.use_cpu_threads). A constructor has no side effects.

    def steps(self, n: int | None = None) -> MetricsChunk:
        """Train up to ``n`` more steps (default: to the end); return their metrics."""

    def stop(self) -> None:
        """Ask the loop to stop after the current step (any thread)."""

    def summary(self) -> dict:
        """status, steps, first_bad_step, steps_per_second, device, params, layers, ..."""

    @property
    def done(self) -> bool: ...

    @property
    def steps_per_second(self) -> float: ...

    # Optional: ``apply(change) -> dict`` and ``check(change) -> list[dict]`` for live surgery
    # (labcore.spec.events; the MLP trainer has them). Job.apply refuses runs whose trainer has none.


@dataclass(frozen=True)
class Family:
    name: str
    spec_type: type
    from_dict: Callable[[dict], Any]
    to_dict: Callable[..., dict]  # (spec, *, drop_defaults=False) -> dict, with "kind" unless DEFAULT_FAMILY
    check: Callable[[Any], Any]  # (spec) -> size estimate; raises SpecError
    estimate: Callable[[Any], Any]  # (spec) -> size estimate, never raises for a valid spec
    schedule: Callable[[Any], Schedule]
    make_trainer: Callable[..., Trainer]  # (spec, **options) -> Trainer
    snapshot: Callable[[Any, str | None], dict] | None = None  # (trainer, focus layer) -> pictures
    label: str = ""  # a short human name
    page: str = "lab"  # the app page that sets up and shows its runs ("lab", "models", ...)
    head_points: int = 1  # trailing probe points that are not hidden layers (the head)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family (its name and spec type must be new). Returns it, for module-level use."""
    if family.name in FAMILIES and FAMILIES[family.name] is not family:
        raise ValueError(f"a family named {family.name!r} is already registered")
    for other in FAMILIES.values():
        if other.spec_type is family.spec_type and other.name != family.name:
            raise ValueError(f"{family.spec_type.__name__} already belongs to family {other.name!r}")
    FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family (tests that register a toy one clean up with this)."""
    FAMILIES.pop(name, None)


def family_of(spec: Any) -> Family:
    """The family a spec object belongs to (by its type)."""
    for fam in FAMILIES.values():
        if isinstance(spec, fam.spec_type):
            return fam
    raise SpecError("spec", type(spec).__name__, "a spec of a known family: " + ", ".join(FAMILIES))


def family_named(kind: Any) -> Family:
    """The family for a dict's ``kind`` (a SpecError naming ``kind`` if there is none)."""
    if isinstance(kind, str) and kind in FAMILIES:
        return FAMILIES[kind]
    raise SpecError("kind", kind, "one of " + ", ".join(FAMILIES))


def kind_of(d: dict) -> str:
    return d.get("kind", DEFAULT_FAMILY)
