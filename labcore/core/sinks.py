"""Where a run's metrics go as it trains: the protocol shared by the CLI, the job runner and the store.

A sink is told when the run starts, receives every flushed chunk together with the trainer's
summary at that moment, and is told how the run ended. The run store implements it; so can a
test or a notebook. Sinks are called from the training thread, so they must be quick.
"""
from __future__ import annotations

from typing import Protocol

from labcore.core.metrics import MetricsChunk



class RunSink(Protocol):
    def start(self, spec, *, name: str, summary: dict) -> None:
        """The run begins; ``summary`` is ``Trainer.summary()`` (device, params, layers...)."""

    def append(self, chunk: MetricsChunk, summary: dict) -> None:
        """A flushed chunk and the summary right after it (status, steps, steps/s...)."""

    def finish(self, summary: dict, error: str | None = None) -> None:
        """The run ended (finished / diverged / stopped / failed); ``error`` says why it failed."""


class NullSink:
    """Keeps nothing."""

    def start(self, spec, *, name, summary):
        pass

    def append(self, chunk, summary):
        pass

    def finish(self, summary, error=None):
        pass


class MemorySink:
    """Keeps every chunk in memory (used by the CLI's --json and by tests)."""

    def __init__(self):
        self.spec, self.name, self.chunks = None, "", []
        self.summary: dict = {}
        self.error: str | None = None

    def start(self, spec, *, name, summary):
        self.spec, self.name, self.summary = spec, name, dict(summary)

    def append(self, chunk, summary):
        self.chunks.append(chunk)
        self.summary = dict(summary)

    def finish(self, summary, error=None):
        self.summary, self.error = dict(summary), error

    def metrics(self) -> MetricsChunk:
        return MetricsChunk.concat(self.chunks, self.summary.get("layers"))


def train_into(trainer, sink: RunSink, *, name: str, finish: bool = True) -> list[MetricsChunk]:
    """Train ``trainer`` to the end, one flush at a time, feeding ``sink``; returns the chunks.

    The plain loop behind a headless recorded run (notebooks, tests, benchmarks). The CLI adds a
    progress bar and Ctrl-C handling on top (:func:`labcore.cli.run.drive`). ``finish=False`` leaves
    the run open, as a process killed before its end would.
    """
    sink.start(trainer.spec, name=name, summary=trainer.summary())
    chunks = []
    while not trainer.done:
        chunks.append(trainer.steps(trainer.flush_every))
        sink.append(chunks[-1], trainer.summary())
    if finish:
        sink.finish(trainer.summary())
    return chunks
