"""What does watching the gradients cost? Probed training vs a bare loop, side by side.

For each model one network is trained on one batch stream three ways, taking turns on the same
model, optimizer and data tensors, in interleaved rounds so that machine noise hits all alike:

- ``bare``: a hand-written PyTorch loop (gather batch, forward, loss, backward, optimizer step);
- ``lab``: the lab's Trainer with every probe on (weight/gradient/update norms, backprop signal,
  activation mean/std/saturation/dead) at the given recording cadence, flushes included;
- ``logger``: the bare loop plus the usual "plot_grad_flow" logger, which reads
  ``p.grad.abs().mean().item()`` and ``.max().item()`` for every weight at every step.

It also counts host syncs per training step (``aten._local_scalar_dense`` and friends under a
TorchDispatchMode). Prints one JSON document. Run: ``python bench/overhead.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from labcore.data.tensors import BatchStream  # noqa: E402
from labcore.spec.edit import override  # noqa: E402
from labcore.nets import build_mlp  # noqa: E402
from labcore.presets import load_preset  # noqa: E402
from labcore.nets.registry import OPTIMIZER_FNS  # noqa: E402
from labcore.train.syncs import SyncCounter  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402
from labcore.train.device import use_cpu_threads  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class BareLoop:
    """The hand-written loop the lab is measured against (optionally with a per-step .item() logger).

    Given a trainer, it drives that trainer's own model, optimizer and batch stream: all loops
    then train the very same tensors, so no loop wins by a luckier memory layout (separate model
    instances differ by up to ~5% here on their own).
    """

    def __init__(self, spec, data, device, log_items: bool = False, share=None):
        t = spec.train
        if share is not None:
            self.model, self.opt, self.batches = share.model, share.opt, share.batches
        else:
            self.model = build_mlp(spec.net, data.in_dim, data.n_classes, seed=t.seed).to(device)
            self.opt = OPTIMIZER_FNS[t.optimizer](self.model.parameters(), t.lr, t.momentum, t.weight_decay, device)
            self.batches = BatchStream(len(data.y_train), t.batch_size, t.seed, device)
        self.data, self.log_items = data, log_items
        self.weights = [(n, p) for n, p in self.model.named_parameters() if "bias" not in n]
        self.log: list[tuple[float, float]] = []

    def steps(self, n: int) -> None:
        for _ in range(n):
            idx = self.batches.next()
            loss = nn.functional.cross_entropy(self.model(self.data.x_train[idx]), self.data.y_train[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.log_items:  # plot_grad_flow: one host read per weight and statistic
                self.log = [(p.grad.abs().mean().item(), p.grad.abs().max().item()) for _, p in self.weights]
            self.opt.step()


def measure(name: str, spec, rounds: int, target_s: float) -> dict:
    spec = override(spec, steps=10**6, eval_every=10**6)  # probes on, no test-set evaluation
    lab = Trainer(spec)
    use_cpu_threads(lab)  # as the job manager and the CLI do
    device = lab.device
    runners = {"bare": BareLoop(spec, lab.data, device, share=lab), "lab": lab,
               "logger": BareLoop(spec, lab.data, device, log_items=True, share=lab)}
    run = {"bare": runners["bare"].steps, "lab": lambda n: lab.steps(n), "logger": runners["logger"].steps}
    for f in run.values():  # warm-up: allocations, optimizer state, probe grouping
        f(20)
    _sync(device)
    t0 = time.perf_counter()
    run["bare"](20)
    _sync(device)
    n = max(20, int(target_s * 20 / max(1e-6, time.perf_counter() - t0)))
    totals = {k: 0.0 for k in run}
    per_round = []
    order = list(run)
    for r in range(rounds):
        times = {}
        for k in order[r % 3:] + order[:r % 3]:  # rotate who goes first
            _sync(device)
            t0 = time.perf_counter()
            run[k](n)
            _sync(device)
            times[k] = time.perf_counter() - t0
            totals[k] += times[k]
        per_round.append(times["bare"] / times["lab"])
    sps = {k: rounds * n / v for k, v in totals.items()}

    def syncs_per_step(f, k=20):
        with SyncCounter() as c:
            f(k)
        return c.count / k

    return {
        "model": name,
        "depth": spec.net.depth,
        "width": spec.net.layers[0].width,
        "batch_size": spec.train.batch_size,
        "record_every": spec.train.record_every,
        "device": lab.device_label,
        "steps_per_round": n,
        "rounds": rounds,
        "bare_steps_per_s": round(sps["bare"], 1),
        "lab_steps_per_s": round(sps["lab"], 1),
        "logger_steps_per_s": round(sps["logger"], 1),
        "lab_vs_bare": round(sps["lab"] / sps["bare"], 3),
        "lab_vs_bare_median_round": round(statistics.median(per_round), 3),
        "logger_vs_bare": round(sps["logger"] / sps["bare"], 3),
        "lab_syncs_per_step": syncs_per_step(lambda k: [lab._train_step() for _ in range(k)]),
        "logger_syncs_per_step": syncs_per_step(runners["logger"].steps),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    ap.add_argument("--record-every", type=int, nargs="*", default=[10, 1],
                    help="recording cadences to measure (default: 10, the default cadence, and 1)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    rounds, target = (3, 0.2) if args.quick else (9, 1.0)
    base = override(load_preset("relu-he").spec, device=args.device)
    cases = {"relu-he": base,
             "mlp-100x64": override(base, depth=100, width=64),
             "mlp-20x256": override(base, depth=20, width=256)}
    results = []
    for every in args.record_every:
        for name, spec in cases.items():
            results.append(measure(name, override(spec, record_every=every, flush_every=max(100, every)),
                                   rounds, target))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"bench": "overhead", "torch": torch.__version__, "python": platform.python_version(),
                      "target_lab_vs_bare": 0.97, "results": results}, indent=2))


if __name__ == "__main__":
    main()
