"""``python -m labcore ...``: see :mod:`labcore.cli`."""
from labcore.cli import console

console()
