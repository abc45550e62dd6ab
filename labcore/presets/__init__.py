"""Presets: TOML spec files (of any family: the spec's "kind") shipped inside the package, each with
a one-line description and a claim.

The ``[claim]`` table is the preset's promise as data (design.md §8), checked on every listed
seed by tests/test_claims.py: ``test_acc`` bounds on the final test accuracy (``median_at_least``,
``each_at_least``, ``median_at_most``, ``each_at_most``), the allowed ``verdict`` kinds of
:func:`labcore.figures.diagnose.diagnose`, for a diverging preset ``first_bad_step`` bounds and the
growth of the backprop signal toward the input at step 1 (``signal_growth_at_least``), and in
``[claim.twins]`` the accuracy bounds of each "Compare with" twin (:mod:`labcore.spec.twins`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources

from labcore.core.family import DEFAULT_FAMILY, kind_of
from labcore.spec.codec import from_dict
from labcore.spec.mlp import RunSpec, SpecError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    spec: RunSpec  # a spec of any family (its "kind")
    claim: dict = field(default_factory=dict)  # the [claim] table: what the preset promises


def _files():
    return sorted((f for f in resources.files(__package__).iterdir() if f.name.endswith(".toml")),
                  key=lambda f: f.name)


ORDER = ("sigmoid-deep", "exploding", "relu-he", "batchnorm", "residual")


def list_presets(family: str | None = DEFAULT_FAMILY) -> list[Preset]:
    """The shipped presets of one family (by default the Lab's MLP ones; ``None``: every family's),
    the five teaching presets first."""
    out = []
    for f in _files():
        d = tomllib.loads(f.read_text(encoding="utf-8"))
        if family is not None and kind_of(d) != family:
            continue
        desc = d.pop("description", "")
        claim = d.pop("claim", {})
        out.append(Preset(f.name[:-5], desc, from_dict(d), claim))
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(out, key=lambda p: (rank.get(p.name, len(ORDER)), p.name))


def load_preset(name: str) -> Preset:
    presets = {p.name: p for p in list_presets(None)}
    if name not in presets:
        raise SpecError("preset", name, "one of " + ", ".join(presets))
    return presets[name]
