"""One point of a sweep, run where a backend puts it (a pool process, a Ray worker, or inline).

:func:`run_point` takes the spec's plain dict and returns a plain dict (picklable, so the same
function serves every backend): the point's summary metrics, its recorded metrics chunk for the
run store, and its CPU and wall time. It never raises: an error becomes a ``failed`` result, so a
bad point never stops the sweep. Torch gets one thread per worker: points run side by side.
"""
from __future__ import annotations

import math
import os
import time


_READY = False


def init_worker() -> None:
    """Pool initializer: one torch thread, and the imports every point needs done once per process
    (torch, torch._dynamo, the families, scikit-learn's data loader), so a point's time is its own.
    The local pool runs it once in its forkserver (:mod:`labcore.sweep.preload`), so its workers
    are forks that already have all this; it runs no torch op (nothing starts a thread pool)."""
    global _READY
    if _READY:
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    try:  # torch.optim's first Optimizer imports torch._dynamo lazily (and sympy with it): ~3 CPU-s
        import torch._dynamo  # noqa: F401  that every worker's first point would pay
    except Exception:  # noqa: BLE001 - only a warm-up
        pass
    import labcore.families  # noqa: F401  (registers the families)
    import labcore.train.mlp  # noqa: F401  (the MLP trainer, imported lazily by its family)
    try:
        import sklearn.datasets  # noqa: F401  (the digits data set)
    except ImportError:
        pass
    _READY = True


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _last(a) -> float | None:
    vals = [float(v) for v in a if math.isfinite(float(v))]
    return vals[-1] if vals else None


def run_point(spec_dict: dict, key: str) -> dict:
    """Train one point to its budget; summarise it. Never raises.

    Vanishing nets (tanh at a small gain) fill with denormal floats, which cost the CPU ~5x per op:
    flushed to zero for the point, every point costs about what its size says. The flag is set for
    each point and cleared after it, on every backend alike (same results), so a point run in the
    caller's own process (serial backend, dry-run calibration) leaves that process as it was.
    """
    import torch

    torch.set_flush_denormal(True)
    try:
        return _run_point(spec_dict, key)
    finally:
        torch.set_flush_denormal(False)


def _run_point(spec_dict: dict, key: str) -> dict:
    try:
        init_worker()
    except Exception:  # noqa: BLE001 - reported below, as this point's error
        pass
    t0, c0 = time.perf_counter(), time.process_time()
    out = {"key": key, "status": "failed", "steps": 0, "first_bad_step": None, "grad_ratio": None,
           "signal_ratio_init": None, "final_loss": None, "test_acc": None, "test_loss": None,
           "error": None, "chunk": None, "summary": {}, "pid": os.getpid()}
    try:
        init_worker()
        import torch

        from labcore.core.family import family_named, kind_of
        from labcore.core.metrics import MetricsChunk

        fam = family_named(kind_of(spec_dict))
        spec = fam.from_dict(spec_dict)
        fam.check(spec)
        trainer = fam.make_trainer(spec)
        torch.set_num_threads(1)  # the trainer picks threads by model size; a sweep runs one per core
        chunks = []
        while not trainer.done:
            chunks.append(trainer.steps())
        m = MetricsChunk.concat(chunks, trainer.layers)
        s = trainer.summary()
        sig = m.metric("out_grad_norm") if len(m) else None
        out.update(status=str(s["status"]), steps=int(s["steps"]), first_bad_step=s.get("first_bad_step"),
                   grad_ratio=_finite(m.first_last_ratio()) if len(m) else None,
                   signal_ratio_init=_finite(sig[0, 0] / sig[0, -2]) if sig is not None and sig.shape[1] > 2 else None,
                   final_loss=_last(m.step_loss) if len(m.step_loss) else _last(m.loss),
                   test_acc=_last(m.test_acc), test_loss=_last(m.test_loss), chunk=m,
                   summary={k: v for k, v in s.items() if k in ("status", "steps", "first_bad_step",
                                                                  "steps_per_second", "device", "params", "layers")})
    except Exception as e:  # noqa: BLE001 - a failed point is a result, not a crash
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        out["error"] = f"{type(e).__name__}: {msg}"[:500]
        out["status"] = "failed"
    out["cpu_seconds"] = time.process_time() - c0
    out["wall_seconds"] = time.perf_counter() - t0
    return out


def worker_info() -> dict:
    """This process's pid, torch thread count and start method (a check that pool workers are set up)."""
    import multiprocessing as mp

    import torch

    return {"pid": os.getpid(), "threads": torch.get_num_threads(), "start_method": mp.get_start_method(allow_none=True)}
