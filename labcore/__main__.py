"""``python -m labcore ...``: see :mod:`labcore.cli`."""
import sys

from .cli import main

sys.exit(main())
