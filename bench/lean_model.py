"""Does the lab's MLP train as fast as a plain ``nn.Sequential`` holding the same weights?

For each size, the lab's MLP (``build_mlp``) and an ``nn.Sequential(Linear, act, ..., Linear)``
that *shares its very Linear modules* (same weights, same memory) are trained on the same batch
stream with the same kind of optimizer, in interleaved rounds (who goes first rotates). Steps/s
come from the process's CPU time as well as wall time: on a shared machine CPU time is the figure
that other people's jobs disturb least. Prints one JSON document; the ratio is lab ÷ sequential
(>= 1.0 is the aim). Run: ``python bench/lean_model.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from labcore.data.tensors import BatchStream  # noqa: E402
from labcore.nets import build_mlp  # noqa: E402
from labcore.spec.mlp import NetSpec  # noqa: E402

SIZES = {"24x64": (24, 64), "100x64": (100, 64), "20x256": (20, 256)}


def sequential_twin(model) -> nn.Sequential:
    """The same Linear and activation modules, in an ``nn.Sequential`` (plain layers only)."""
    mods = []
    for b in model.blocks:
        assert b.norm is None and b.drop is None and b.skip is None, "plain layers only"
        mods += [b.linear, b.act]
    return nn.Sequential(*mods, model.head)


def measure(name: str, depth: int, width: int, seconds: float, rounds: int) -> dict:
    torch.manual_seed(0)
    x_all, y_all = torch.randn(2048, 2), torch.randint(0, 2, (2048,))
    model = build_mlp(NetSpec.uniform(depth, width, "relu", init="he_normal"), 2, 2, seed=0)
    seq = sequential_twin(model)
    batches = BatchStream(len(y_all), 64, 0, torch.device("cpu"))
    # One optimizer per net (same parameters); the fused CPU Adam is the fastest plain loop here.
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-4, fused=True) for k, m in (("lab", model), ("seq", seq))}
    nets = {"lab": model, "seq": seq}

    def run(k: str, n: int) -> None:
        net, opt = nets[k], opts[k]
        for _ in range(n):
            idx = batches.next()
            loss = nn.functional.cross_entropy(net(x_all[idx]), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    for k in nets:
        run(k, 10)
    t0 = time.perf_counter()
    run("seq", 10)
    n = max(20, int(seconds * 10 / max(1e-6, time.perf_counter() - t0)))  # steps per round: a time budget
    wall = {k: [] for k in nets}
    cpu = {k: [] for k in nets}
    order = list(nets)
    for r in range(rounds):
        for k in order[r % 2:] + order[:r % 2]:
            w0, c0 = time.perf_counter(), time.process_time()
            run(k, n)
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    ratio_wall = statistics.median(s / l for s, l in zip(wall["seq"], wall["lab"]))
    ratio_cpu = statistics.median(s / l for s, l in zip(cpu["seq"], cpu["lab"]))
    return {"model": name, "steps_per_round": n, "rounds": rounds, "threads": torch.get_num_threads(),
            "seq_steps_per_s": round(n / statistics.median(wall["seq"]), 1),
            "lab_steps_per_s": round(n / statistics.median(wall["lab"]), 1),
            "lab_vs_seq_wall_median_round": round(ratio_wall, 3),
            "lab_vs_seq_cpu_median_round": round(ratio_cpu, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short rounds (a smoke run)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seconds, rounds = (0.2, 3) if args.quick else (1.0, 9)
    results = []
    for name, (d, w) in SIZES.items():
        results.append(measure(name, d, w, seconds, rounds))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"bench": "lean_model", "torch": torch.__version__, "target_lab_vs_seq": 1.0,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
