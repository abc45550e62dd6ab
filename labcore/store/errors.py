"""The store's one error type, shared by the store and its writer thread."""
from __future__ import annotations

from pathlib import Path


class StoreError(RuntimeError):
    """The store file cannot be used. ``kind``: corrupt | foreign | newer | locked | io."""

    def __init__(self, kind: str, path: Path, message: str):
        super().__init__(message)
        self.kind, self.path = kind, Path(path)
