"""Where a sweep's points run: ``local`` (a process pool, the default), ``ray`` (a Ray cluster)
or ``serial`` (in this process, one after another: the baseline the bench compares with).

A backend maps :func:`labcore.sweep.worker.run_point` over ``(spec dict, key)`` tasks and yields
each result as soon as it finishes (any order). When ``stop`` is set, tasks not started are
dropped; points already running finish and are yielded. Ray is an optional install
(``pip install .[ray]``); asking for it without it is one clear error.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import threading
import types
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Iterator

from labcore.core.errors import SpecError
from labcore.core.machine import usable_cores
from labcore.sweep.worker import init_worker, run_point

BACKENDS = ("local", "ray", "serial")
Task = tuple  # (spec dict, key)


def default_workers() -> int:
    return usable_cores()


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def run_tasks(tasks: list[Task], backend: str = "local", *, workers: int | None = None, address: str | None = None,
              stop: threading.Event | None = None) -> Iterator[dict]:
    """Yield one result dict per task as they finish."""
    if backend not in BACKENDS:
        raise SpecError("backend", backend, "one of " + ", ".join(BACKENDS))
    stop = stop or threading.Event()
    workers = workers or default_workers()
    if workers < 1:
        raise SpecError("workers", workers, "at least 1")
    if not tasks:
        return iter(())
    if backend == "serial":
        return _serial(tasks, stop)
    if backend == "local":
        return _local(tasks, workers, stop)
    return _ray(tasks, workers, address, stop)


def _serial(tasks, stop) -> Iterator[dict]:
    for spec, key in tasks:
        if stop.is_set():
            return
        yield run_point(spec, key)


@contextlib.contextmanager
def _bare_main():
    """Spawned workers re-run the parent's ``__main__`` unless it has no file. They need nothing
    from it (run_point lives in labcore), and re-running it is wrong for a script without an
    ``if __name__ == "__main__":`` guard, a notebook, or a page that AppTest ran as ``__main__``:
    show them an empty one while processes start."""
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def pool_context():
    """The local pool's start method: ``forkserver`` with torch and labcore preloaded, else ``spawn``.

    Not plain ``fork``: the caller may be a threaded Streamlit server or hold torch's thread pools.
    A forkserver is a fresh single-threaded process that imports torch, torch._dynamo and labcore
    once (:mod:`labcore.sweep.preload`) and forks every worker from that state: a pool's workers
    start in ~0.1 s instead of each importing torch (seconds; ten times that on a loaded machine),
    and the forkserver lives as long as this process, so later sweeps start at once. Where there
    is no forkserver (Windows), ``spawn``; workers then import torch in :func:`init_worker`.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["labcore.sweep.preload"])
        return ctx
    return mp.get_context("spawn")


def start_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` workers, all started now, in parallel, and ready (torch imported)."""
    ctx = pool_context()
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker)
    with _bare_main():  # submits start the worker processes
        for f in [ex.submit(_ready) for _ in range(workers)]:
            f.result()
    return ex


def _ready() -> int:
    return os.getpid()


def _local(tasks, workers, stop) -> Iterator[dict]:
    ctx = pool_context()
    n = min(workers, len(tasks))
    ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_worker)
    tries: dict[str, int] = {}
    try:
        # Keep only a few tasks queued ahead of the workers so a stop drops the rest at once.
        pending, todo = {}, list(reversed(tasks))
        while todo or pending:
            while todo and len(pending) < 2 * workers and not stop.is_set():
                task = todo.pop()
                with _bare_main():  # a submit may start a worker process
                    pending[ex.submit(run_point, *task)] = task
            if stop.is_set():
                todo.clear()
                for f in list(pending):
                    if f.cancel():
                        del pending[f]
                if not pending:
                    break
            done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                task = pending.pop(f)
                try:
                    yield f.result()
                except BrokenProcessPool:
                    # A worker died (killed, out of memory, a crash in native code). The pool is
                    # gone: its tasks are retried once in a new pool, then reported as failed.
                    broken = True
                    tries[task[1]] = tries.get(task[1], 0) + 1
                    if tries[task[1]] >= 2:
                        yield {**_failed(task[1]), "error": "the worker process running this point died"}
                    else:
                        todo.append(task)
            if broken:
                todo.extend(pending.values())
                pending.clear()
                ex.shutdown(wait=False, cancel_futures=True)
                ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_worker)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _failed(key: str) -> dict:
    return {"key": key, "status": "failed", "steps": 0, "first_bad_step": None, "grad_ratio": None,
            "signal_ratio_init": None, "final_loss": None, "test_acc": None, "test_loss": None, "error": None,
            "chunk": None, "summary": {}, "pid": None, "cpu_seconds": 0.0, "wall_seconds": 0.0}


_RAY_FN = None


def start_local_ray(workers: int = 2):
    """Start (or join) a Ray instance on this machine whose workers can import this labcore."""
    return _ray_init(workers, None)


def _ray_init(workers: int, address: str | None):
    try:
        import ray
    except ImportError:
        raise SpecError("backend", "ray", "Ray installed: pip install 'gradient-flow-lab[ray]' "
                                          "(or pip install -r requirements-ray.txt)") from None
    if not ray.is_initialized():
        root = str(Path(__file__).resolve().parents[2])
        if address:  # a cluster: ship this copy of labcore to its workers
            import labcore

            ray.init(address=address, runtime_env={"py_modules": [str(Path(labcore.__file__).parent)]},
                     log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                                               "OMP_NUM_THREADS": "1"}})
            _warm_ray(ray, workers)
    return ray


def _warm_ray(ray, workers: int) -> None:
    """Have each of the local instance's ``workers`` worker processes import torch and labcore now,
    side by side, so no sweep's first points pay it (Ray keeps its workers between sweeps)."""
    warm = ray.remote(num_cpus=1, max_retries=0)(_ray_warm)
    ray.get([warm.remote() for _ in range(workers)])


def _ray_warm() -> int:
    init_worker()
    import time

    time.sleep(0.2)  # hold the CPU a moment so the next warm-up task lands on another worker
    return os.getpid()


def _ray(tasks, workers, address, stop) -> Iterator[dict]:
    global _RAY_FN
    ray = _ray_init(workers, address)
    if _RAY_FN is None:
        _RAY_FN = ray.remote(num_cpus=1, max_retries=0)(run_point)
    # Ray schedules queued tasks itself; we still feed a bounded window so a stop is quick.
    window = max(2 * workers, int(ray.cluster_resources().get("CPU", workers)) * 2)
    pending, todo = [], list(reversed(tasks))
    try:
        while todo or pending:
            while todo and len(pending) < window and not stop.is_set():
                spec, key = todo.pop()
                pending.append(_RAY_FN.remote(spec, key))
            if stop.is_set() and todo:
                todo.clear()
            if not pending:
                break
            done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in done:
                yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


def shutdown_ray() -> None:
    """Disconnect from Ray (a local instance started by :func:`run_tasks` stops)."""
    global _RAY_FN
    if ray_available():
        import ray

        if ray.is_initialized():
            ray.shutdown()
    _RAY_FN = None
