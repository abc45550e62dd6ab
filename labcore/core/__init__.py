"""The vocabulary every layer shares: :class:`~labcore.core.errors.SpecError` and the field checks,
the :class:`~labcore.core.status.Status` enum, metric chunks (:mod:`labcore.core.metrics`), the
run-sink protocol (:mod:`labcore.core.sinks`) and the run protocol with its family registry
(:mod:`labcore.core.family`).

Owns: nothing that runs a network. May import: the standard library and numpy only (no torch,
no pandas at import time, nothing else from labcore).
"""
