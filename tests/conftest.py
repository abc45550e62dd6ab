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
