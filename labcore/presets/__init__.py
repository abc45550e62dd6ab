"""Presets: TOML spec files shipped inside the package, each with a one-line description."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from labcore.spec.codec import from_dict
from labcore.spec.mlp import RunSpec, SpecError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    spec: RunSpec


def _files():
    return sorted((f for f in resources.files(__package__).iterdir() if f.name.endswith(".toml")),
                  key=lambda f: f.name)


ORDER = ("sigmoid-deep", "exploding", "relu-he", "batchnorm", "residual")


def list_presets() -> list[Preset]:
    """Every shipped preset, the five teaching presets first."""
    out = []
    for f in _files():
        d = tomllib.loads(f.read_text(encoding="utf-8"))
        desc = d.pop("description", "")
        out.append(Preset(f.name[:-5], desc, from_dict(d)))
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(out, key=lambda p: (rank.get(p.name, len(ORDER)), p.name))


def load_preset(name: str) -> Preset:
    presets = {p.name: p for p in list_presets()}
    if name not in presets:
        raise SpecError("preset", name, "one of " + ", ".join(presets))
    return presets[name]
