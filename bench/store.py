"""What does the run store cost? Training with vs without the store sink, and loading a big run.

1. **Write overhead.** The same spec is trained to the end twice per round, once with a
   ``NullSink`` and once with the store's sink (a fresh run in a real SQLite file), in
   interleaved rounds so machine noise hits both alike. Reported: the median wall-time ratio
   (with / without - 1) and, more precisely, the time the training thread spends inside the
   sink's calls divided by its training time (the sink only queues chunks; the store's writer
   thread compresses and commits them), plus the writer thread's own busy time over the
   training time (the CPU it takes, in parallel, from a machine with spare cores).
2. **Load time.** A run of 100 layers x 5,000 recorded steps, written in chunks of 50 steps as
   a run would flush them, is read back into pandas: ``store.metrics`` (the MetricsChunk) and
   ``store.layer_frame`` (tidy per-(step, layer) frame, 500,000 rows). Best and first of N.

Prints one JSON document. Run: ``python bench/store.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from labcore.spec.edit import override  # noqa: E402
from labcore.core.metrics import LAYER_METRICS, MetricsChunk  # noqa: E402
from labcore.presets import load_preset  # noqa: E402
from labcore.core.sinks import NullSink  # noqa: E402
from labcore.store.db import RunStore  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402
from labcore.train.device import use_cpu_threads  # noqa: E402


class TimedSink:
    """Wraps a sink and adds up the seconds spent inside its calls."""

    def __init__(self, inner):
        self.inner, self.seconds, self.append_seconds = inner, 0.0, 0.0

    def _timed(self, f, *a, **kw):
        t = time.perf_counter()
        f(*a, **kw)
        dt = time.perf_counter() - t
        self.seconds += dt
        return dt

    def start(self, spec, *, name, summary):
        self._timed(self.inner.start, spec, name=name, summary=summary)

    def append(self, chunk, summary):
        self.append_seconds += self._timed(self.inner.append, chunk, summary)

    def finish(self, summary, error=None):
        self._timed(self.inner.finish, summary, error)


def train(spec, sink) -> tuple[float, float, float, float]:
    """Train ``spec`` to the end feeding ``sink`` like the CLI does.

    Returns (loop seconds, training seconds, seconds inside the sink, of which in appends).
    """
    tr = Trainer(spec)  # building the model and data is the same either way: not timed
    use_cpu_threads(tr)  # as the CLI does
    t0 = time.perf_counter()
    timed = TimedSink(sink)
    timed.start(spec, name="bench", summary=tr.summary())
    while not tr.done:
        timed.append(tr.steps(spec.train.flush_every), tr.summary())
    timed.finish(tr.summary())  # waits until the writer thread has committed everything
    return time.perf_counter() - t0, tr.train_seconds, timed.seconds, timed.append_seconds


def write_overhead(spec, rounds: int, folder: Path, synchronous: str = "FULL", with_control: bool = False) -> dict:
    store = RunStore(folder / f"overhead-{synchronous}.sqlite", synchronous=synchronous)
    train(spec, NullSink())  # warm-up: imports, data, allocator
    bare, stored, in_sink, in_append, trained, control = [], [], [], [], [], []
    for r in range(rounds):
        def with_store():
            total, tsec, ssec, asec = train(spec, store.sink())
            stored.append(total)
            in_sink.append(ssec)
            in_append.append(asec)
            trained.append(tsec)

        if r % 2:  # alternate which goes first, so a drift in machine load favours neither
            with_store()
            bare.append(train(spec, NullSink())[0])
        else:
            bare.append(train(spec, NullSink())[0])
            with_store()
        if with_control:  # A/A: the same bare run again, i.e. the noise floor of the wall ratio
            control.append(train(spec, NullSink())[0])
    writer_seconds = store.writer().busy_seconds
    store.close()
    return {
        "layers": spec.net.depth, "width": spec.net.layers[0].width, "steps": spec.train.steps,
        "record_every": spec.train.record_every, "flush_every": spec.train.flush_every,
        "synchronous": synchronous,
        "median_seconds_without_store": statistics.median(bare),
        "median_seconds_with_store": statistics.median(stored),
        # paired rounds (with / without, back to back): noisy on a shared machine
        "wall_ratio_minus_1_median_of_pairs": statistics.median(w / b for w, b in zip(stored, bare)) - 1,
        "wall_ratio_minus_1_best_vs_best": min(stored) / min(bare) - 1,
        **({"noise_floor_bare_vs_bare_median_of_pairs": statistics.median(c / b for c, b in zip(control, bare)) - 1}
           if control else {}),
        # the store writes on the training thread: its whole cost is the time inside the sink

        "sink_seconds_over_train_seconds": sum(in_sink) / sum(trained),  # start + appends + finish
        "append_seconds_over_train_seconds": sum(in_append) / sum(trained),
        "writer_thread_seconds_over_train_seconds": writer_seconds / sum(trained),
        "writer_ms_per_flush": 1000 * writer_seconds / (rounds * (spec.train.steps // spec.train.flush_every + 2)),
    }


def load_time(folder: Path, layers: int, steps: int, chunk: int, repeats: int) -> dict:
    store = RunStore(folder / "load.sqlite")
    names = [f"h{i + 1}" for i in range(layers - 1)] + ["out"]
    spec = override(load_preset("relu-he").spec, depth=layers - 1, steps=steps)
    rid = store.create_run(spec, name="big", summary={"layers": names, "device": "cpu"})
    rng = np.random.default_rng(0)
    for s0 in range(1, steps + 1, chunk):
        st = np.arange(s0, min(s0 + chunk, steps + 1))
        # float32 values, like the probe's buffers: lognormal norms, slowly drifting with depth
        layer = rng.lognormal(-2, 1, (len(st), len(LAYER_METRICS), layers)).astype(np.float32)
        loss = rng.random(len(st)).astype(np.float32)
        store.append(rid, MetricsChunk(names, st, loss, loss, layer, all_steps=st, step_loss=loss),
                     {"status": "ready", "steps": int(st[-1])})
    store.finish(rid, {"status": "finished", "steps": steps})
    store.close()
    metrics_s, frame_s = [], []
    for _ in range(repeats):
        fresh = RunStore(folder / "load.sqlite")  # a fresh connection, like a new page load
        t = time.perf_counter()
        m = fresh.metrics(rid)
        metrics_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        df = fresh.layer_frame(rid)
        frame_s.append(time.perf_counter() - t + metrics_s[-1])
        fresh.close()
    assert m.layer.shape == (steps, len(LAYER_METRICS), layers) and len(df) == steps * layers
    size = sum(p.stat().st_size for p in folder.glob("load.sqlite*"))
    return {"layers": layers, "recorded_steps": steps, "chunk_steps": chunk, "rows": len(df),
            "file_mb": round(size / 2**20, 1),
            "metrics_seconds_first": metrics_s[0], "metrics_seconds_best": min(metrics_s),
            "frame_seconds_first": frame_s[0], "frame_seconds_best": min(frame_s)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller load run")
    args = ap.parse_args()
    rounds = 2 if args.quick else 5
    base = load_preset("relu-he").spec
    specs = [
        override(base, steps=400 if args.quick else 1000, device="cpu"),  # the preset: 24 x 64, record every 5
        override(base, depth=100, width=32, record_every=1, steps=200 if args.quick else 500, device="cpu"),
    ]
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        out = {
            "python": platform.python_version(), "machine": platform.machine(),
            "write_overhead": [write_overhead(specs[0], rounds, folder, with_control=True),
                               write_overhead(specs[1], rounds, folder),
                               write_overhead(specs[1], rounds, folder, synchronous="NORMAL")],
            "load": load_time(folder, 100, 1000 if args.quick else 5000, 50, 3 if args.quick else 5),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
