"""The built-in families of networks, each registered by its own module (see :mod:`labcore.core.family`).

Owns: the wiring from a family's spec to its trainer, size guard and pictures. May import every
layer below it (core, data, spec, nets, train, figures) but is imported only by the CLI, the app
and :mod:`labcore` itself. A new family is one new module here, added to the list below (or any
module anywhere that calls :func:`labcore.core.family.register`).
"""
from labcore.families import image, mlp, recurrent, transformer  # noqa: F401  (each registers itself)
