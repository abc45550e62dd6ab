"""What a server's first page leaves for later: the training stack's imports, off the first paint.

A fresh server imports torch, the trainers and the job runner the first time someone presses
Train (seconds on a small machine). :func:`start` imports them once per process in a background
thread, called by app.py at the end of a script run, after the page has been sent: the first
page does not wait for it, and the first Train finds them loaded. ``LAB_WARMUP=0`` turns it off.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading

log = logging.getLogger(__name__)

MODULES = ("torch", "labcore.train.device", "labcore.data.tensors", "labcore.train.mlp", "labcore.train.jobs",
           "labcore.figures.plots", "labcore.figures.diagnose")

_lock = threading.Lock()
_started = False


def _run() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # a warm-up never breaks the app: the real import will say it
            log.warning("warm-up: cannot import %s (%s)", name, e)
            return


def start() -> bool:
    """Start the warm-up once per process; True if this call started it."""
    global _started
    if os.environ.get("LAB_WARMUP", "1") == "0":
        return False
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_run, name="lab-warmup", daemon=True).start()
    return True


__all__ = ["MODULES", "start"]
