"""One status vocabulary for trainers, jobs, the run store and the pages.

:class:`Status` is a ``str`` enum, so a status compares equal to its stored text
(``Status.FINISHED == "finished"``) and writes into JSON and SQLite as that text. The sets say
which statuses may still change (:data:`ACTIVE`) and which are final (:data:`TERMINAL`).
"""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    READY = "ready"  # a trainer between chunks
    QUEUED = "queued"  # a job waiting for a worker
    STARTING = "starting"  # a job building its trainer
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    DIVERGED = "diverged"  # the loss or a gradient became NaN/Inf
    STOPPED = "stopped"  # stopped by the user
    FAILED = "failed"  # an error ended it
    INTERRUPTED = "interrupted"  # a stored run whose process died before it ended

    def __str__(self) -> str:
        return self.value


ACTIVE: frozenset[Status] = frozenset({Status.QUEUED, Status.STARTING, Status.RUNNING, Status.PAUSED})
TERMINAL: frozenset[Status] = frozenset({Status.FINISHED, Status.DIVERGED, Status.STOPPED, Status.FAILED})
TRAINER_STATUSES = (Status.READY, Status.RUNNING, Status.FINISHED, Status.DIVERGED, Status.STOPPED, Status.FAILED)
# What a stored run can read as, in the order the Runs page lists them.
STORED_STATUSES = (Status.RUNNING, Status.FINISHED, Status.DIVERGED, Status.STOPPED, Status.INTERRUPTED,
                   Status.FAILED)

# A job that trains now or will (paused ones excluded): the pages keep polling while one is.
RUNNING_OR_WAITING: frozenset[Status] = frozenset({Status.QUEUED, Status.STARTING, Status.RUNNING})


def is_active(status) -> bool:
    return status in ACTIVE


def is_terminal(status) -> bool:
    return status in TERMINAL
