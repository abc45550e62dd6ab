"""What does watching the gradients cost? Probed training vs a bare loop, side by side.

For each model one network is trained on one batch stream three ways, taking turns on the same
model, optimizer and data tensors, in interleaved rounds so that machine noise hits all alike:

- ``bare``: a hand-written PyTorch loop (gather batch, forward, loss, backward, optimizer step);
- ``lab``: the lab's Trainer with every probe on (weight/gradient/update norms, backprop signal,
  activation mean/std/saturation/dead) at the given recording cadence, flushes included;
- ``logger``: the bare loop plus the usual "plot_grad_flow" logger, which reads
  ``p.grad.abs().mean().item()`` and ``.max().item()`` for every weight at every step.

- ``seq``: the bare loop on an ``nn.Sequential`` holding the very same Linear and activation
  modules (the fastest plain loop: no Python of ours at all; the optimizer is the lab's, fused on
  the CPU and CUDA).

``lab ÷ plain`` divides the lab's steps/s by the faster of ``bare`` and ``seq``. Each round runs
every loop for the same number of steps, sized so that one loop's round lasts about ``--seconds``
(timed over a growing number of steps, not one short burst). Ratios are medians over rounds, in
wall time and in the process's CPU time (what other people's jobs on a shared machine disturb
least).

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
from labcore.spec.mlp import TrainSpec  # noqa: E402
from labcore.nets.registry import OPTIMIZER_FNS  # noqa: E402
from labcore.train.syncs import SyncCounter  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402
from lean_model import sequential_twin  # noqa: E402
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
        self.net = self.model
        self.weights = [(n, p) for n, p in self.model.named_parameters() if "bias" not in n]
        self.log: list[tuple[float, float]] = []

    def steps(self, n: int) -> None:
        net = self.net
        for _ in range(n):
            idx = self.batches.next()
            loss = nn.functional.cross_entropy(net(self.data.x_train[idx]), self.data.y_train[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.log_items:  # plot_grad_flow: one host read per weight and statistic
                self.log = [(p.grad.abs().mean().item(), p.grad.abs().max().item()) for _, p in self.weights]
            self.opt.step()


def _rounds_of(run, device, seconds: float) -> int:
    """Steps per round so that a round lasts about ``seconds``: timed over growing bursts."""
    n = 5
    while True:
        _sync(device)
        t0 = time.perf_counter()
        run(n)
        _sync(device)
        dt = time.perf_counter() - t0
        if dt >= min(0.25, seconds / 2) or n >= 100_000:
            return max(20, int(n * seconds / max(dt, 1e-6)))
        n *= 2


def measure(name: str, spec, rounds: int, target_s: float) -> dict:
    spec = override(spec, steps=10**6, eval_every=10**6)  # probes on, no test-set evaluation
    lab = Trainer(spec)
    use_cpu_threads(lab)  # as the job manager and the CLI do
    device = lab.device
    runners = {"bare": BareLoop(spec, lab.data, device, share=lab),
               "logger": BareLoop(spec, lab.data, device, log_items=True, share=lab)}
    run = {"bare": runners["bare"].steps, "lab": lambda n: lab.steps(n), "logger": runners["logger"].steps}
    plain = all(b.norm is None and b.drop is None and b.skip is None for b in lab.model.blocks)
    if plain:
        runners["seq"] = BareLoop(spec, lab.data, device, share=lab)
        runners["seq"].net = sequential_twin(lab.model)
        run["seq"] = runners["seq"].steps
    for f in run.values():  # warm-up: allocations, optimizer state, probe grouping
        f(20)
    n = _rounds_of(run["bare"], device, target_s)
    wall = {k: [] for k in run}
    cpu = {k: [] for k in run}
    order = list(run)
    for r in range(rounds):
        for k in order[r % len(order):] + order[:r % len(order)]:  # rotate who goes first
            _sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            run[k](n)
            _sync(device)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    sps = {k: n / statistics.median(v) for k, v in wall.items()}
    fastest = max((k for k in ("bare", "seq") if k in run), key=lambda k: sps[k])

    def median_ratio(times, a, b):
        return round(statistics.median(tb / ta for ta, tb in zip(times[a], times[b])), 3)

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
        "threads": torch.get_num_threads(),
        "steps_per_round": n,
        "rounds": rounds,
        "bare_steps_per_s": round(sps["bare"], 1),
        "seq_steps_per_s": round(sps["seq"], 1) if "seq" in sps else None,
        "lab_steps_per_s": round(sps["lab"], 1),
        "logger_steps_per_s": round(sps["logger"], 1),
        "plain": fastest,
        "lab_vs_plain_wall": median_ratio(wall, "lab", fastest),
        "lab_vs_plain_cpu": median_ratio(cpu, "lab", fastest),
        "lab_vs_bare_cpu": median_ratio(cpu, "lab", "bare"),
        "logger_vs_plain_cpu": median_ratio(cpu, "logger", fastest),
        "lab_syncs_per_step": syncs_per_step(lambda k: [lab._train_step() for _ in range(k)]),
        "logger_syncs_per_step": syncs_per_step(runners["logger"].steps),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    ap.add_argument("--record-every", type=int, nargs="*", default=[TrainSpec().record_every, 1],
                    help="recording cadences to measure (default: the spec's default cadence, and every step)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seconds", type=float, default=1.0, help="about how long one loop's round lasts")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    rounds, target = (3, 0.2) if args.quick else (args.rounds, args.seconds)
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
                      "target_lab_vs_plain": {"default cadence": 0.97, "every step": 0.9}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
