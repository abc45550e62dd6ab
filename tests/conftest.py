"""Shared test setup: every test session gets its own LAB_HOME, so nothing touches ~/."""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Set before any labcore import reads it; subprocesses started by tests inherit it.
os.environ.setdefault("LAB_HOME", tempfile.mkdtemp(prefix="lab-home-"))

import ui.pyfixes  # noqa: E402,F401  (AppTest parses page scripts with ast.parse from several threads)
# Pages re-raise what the router would otherwise catch (ui/recover.py), so page tests see their
# errors; the router's own tests unset it.
os.environ.setdefault("LAB_STRICT_PAGES", "1")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="run the long variants: more fuzz examples (tests/test_fuzz.py)")
