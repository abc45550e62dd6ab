"""Device resolution, human labels and the CPU thread-count choice.

A trainer only *states* the thread count it would like (``trainer.cpu_threads``); whoever runs it
applies that with :func:`use_cpu_threads` (the job manager's worker, the CLI), since the count is
a setting of the process (of the calling thread, with OpenMP) and not of one run.
"""
from __future__ import annotations

import contextlib

import torch

from labcore.core.machine import usable_cores
from labcore.spec.mlp import SpecError

# Below this many multiply-adds per layer per step (batch x fan_in x fan_out), one CPU thread
# beats several: each op is too small to amortise the thread pool's wake-ups. Measured here:
# 20x64 and 100x64 MLPs at batch 64 (262k) run faster on 1 thread, 20x256 (4.2M) on 2.
ONE_THREAD_BELOW_MACS = 1_000_000


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA, else MPS, else CPU. An unavailable explicit choice is a SpecError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SpecError("train.device", name, "auto or cpu: no CUDA GPU is visible to PyTorch here")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SpecError("train.device", name, "auto or cpu: Apple MPS is not available here")
    return torch.device(name)


def cpu_threads_for(macs_per_layer_step: int) -> int:
    """Threads for a CPU run: 1 for small layers, else every core we may use."""
    return 1 if macs_per_layer_step < ONE_THREAD_BELOW_MACS else max(1, usable_cores())


def use_cpu_threads(trainer) -> None:
    """Apply the CPU thread count ``trainer`` asks for (``cpu_threads``; nothing when it asks none)."""
    n = getattr(trainer, "cpu_threads", None)
    if n and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextlib.contextmanager
def denormals_flushed(device: torch.device):
    """Denormal floats flushed to zero on the CPU while the block runs (this thread), cleared after.

    Vanishing signals (a recurrent net's early time steps, a deep tanh stack) fill the CPU's
    arithmetic with denormals, which cost it several times per op; values below 1.2e-38 read 0.
    """
    on = device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if on:
            torch.set_flush_denormal(False)


def device_label(device: torch.device, threads: int | None = None) -> str:
    """``CUDA: <name>``, ``MPS: Apple GPU`` or ``CPU (n threads)`` (``threads``, else the current count)."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "MPS: Apple GPU"
    n = threads or torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"
