"""Measure a run's peak memory in a fresh process: ``python tests/rss_probe.py '<spec json>'``.

Prints one JSON line: ``growth`` (peak RSS of the process, from getrusage, minus its RSS just
before the run, after a warm-up run of the same family has loaded every library and kernel) and
``estimate`` (the family's whole-run memory estimate). Used by tests/test_size_guard.py and the
README's table; it is a separate process so the test process's own memory does not blur it.
"""
from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import replace

import torch

import labcore  # noqa: F401  (registers the families)
from labcore.core.family import family_of
from labcore.spec import codec


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux: writing 5 to clear_refs) so the peak is the run's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak() -> int:
    """Peak RSS of this process image (VmHWM). Not getrusage's ru_maxrss: that one survives exec, so
    a probe started from a large test process would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def estimate_bytes(spec) -> int:
    fam = family_of(spec)
    est = fam.check(spec)
    if hasattr(est, "memory_bytes"):
        return est.memory_bytes
    from labcore.train.image import run_memory_bytes

    return run_memory_bytes(spec, est)


def warm_spec(spec):
    """A tiny run of the same family and choices: loads the libraries and kernels the run will use."""
    if fam_name(spec) == "mlp":
        t = spec.train
        small = replace(t, steps=2, eval_every=1, record_every=1, flush_every=2,
                        data=replace(t.data, n_samples=200) if t.data.name not in ("digits", "mnist1d") else t.data)
        return replace(spec, net=replace(spec.net, layers=tuple(replace(l, width=4) for l in spec.net.layers[:2])),
                       train=small)
    return replace(spec, n_train=16, batch_size=8, epochs=1, record_every=1, flush_every=2)


def fam_name(spec) -> str:
    return family_of(spec).name


def main() -> None:
    torch.set_num_threads(1)
    spec = codec.from_dict(json.loads(sys.argv[1]))
    snapshot = len(sys.argv) > 2 and sys.argv[2] == "snapshot"
    fam = family_of(spec)
    w = fam.make_trainer(warm_spec(spec))
    w.steps()
    if snapshot and fam.snapshot:
        fam.snapshot(w, None)
    del w
    before = rss()
    _reset_peak()
    trainer = fam.make_trainer(spec)
    trainer.steps()
    if snapshot and fam.snapshot:
        fam.snapshot(trainer, None)
    peak = _peak()
    print(json.dumps({"growth": peak - before, "estimate": estimate_bytes(spec), "status": str(trainer.status)}))


if __name__ == "__main__":
    main()
