"""Work-arounds for bugs of the Python this app runs on. Imported first by app.py and by the tests.

CPython before 3.12 keeps the AST constructor's recursion depth in per-interpreter state, so two
threads calling :func:`ast.parse` at once can fail with ``SystemError: AST constructor recursion
depth mismatch`` (CPython gh-106905). Streamlit parses every page script with ``ast.parse`` (its
"magic") on each session's script thread, so two sessions rerunning at once can hit it; it was seen
once in this project's test suite. On those versions ``ast.parse`` is serialised with a lock.
"""
from __future__ import annotations

import ast
import functools
import sys
import threading


def serialise_ast_parse() -> None:
    if sys.version_info >= (3, 12) or getattr(ast.parse, "_gfl_locked", False):
        return
    lock = threading.RLock()
    original = ast.parse

    @functools.wraps(original)
    def parse(*args, **kwargs):
        with lock:
            return original(*args, **kwargs)

    parse._gfl_locked = True
    ast.parse = parse


serialise_ast_parse()
