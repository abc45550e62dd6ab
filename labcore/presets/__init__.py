"""Presets: TOML spec files shipped inside the package, each with a one-line description.

A preset may state its claim as data in a ``[claim]`` table (what its twin shows, in numbers a
test checks on several seeds); it is kept apart from the spec, in :attr:`Preset.claim`.
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
    claim: dict = field(default_factory=dict)  # the [claim] table, if any


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
