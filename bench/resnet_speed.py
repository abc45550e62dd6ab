"""ResNet-20 on CIFAR-10-shaped data (3x32x32, 10 classes, batch 128): training images/s with and
without channels_last, autocast (bf16) and torch.compile, on one device, in interleaved rounds.

The data are random device-resident tensors (the shape is what costs, not the pixels), so it
needs no data set. Prints one JSON document with a row per variant and its ratio to the plain
float32 NCHW eager run. ``python bench/resnet_speed.py [--device cuda] [--steps 50] [--rounds 3]``.
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

from labcore.nets.zoo import build_model  # noqa: E402

VARIANTS = {  # name: (channels_last, autocast, compile)
    "fp32 NCHW eager": (False, False, False),
    "channels_last": (True, False, False),
    "autocast bf16": (False, True, False),
    "channels_last + autocast": (True, True, False),
    "channels_last + autocast + compile": (True, True, True),
}


def make_runner(device, channels_last: bool, autocast: bool, compiled: bool, batch: int):
    model = build_model("resnet20", (3, 32, 32), 10, seed=0).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    net = torch.compile(model) if compiled else model
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=device)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast)

    def steps(n: int) -> None:
        for _ in range(n):
            with amp:
                loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return steps


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    variants = {k: v for k, v in VARIANTS.items() if not (v[2] and args.no_compile)}
    runners = {}
    for name, (cl, ac, co) in variants.items():
        try:
            runners[name] = make_runner(device, cl, ac, co, args.batch)
            runners[name](5)  # warm-up (and compilation)
        except Exception as e:  # e.g. no compiler toolchain: report it, measure the rest
            print(json.dumps({"variant": name, "error": f"{type(e).__name__}: {e}"[:300]}), file=sys.stderr)
            runners.pop(name, None)
    times = {k: [] for k in runners}
    for r in range(args.rounds):
        for k, run in runners.items():
            _sync(device)
            t0 = time.perf_counter()
            run(args.steps)
            _sync(device)
            times[k].append(time.perf_counter() - t0)
    ips = {k: args.steps * args.batch / statistics.median(v) for k, v in times.items()}
    base = ips.get("fp32 NCHW eager")
    rows = [{"variant": k, "images_per_s": round(v), "vs_fp32_eager": round(v / base, 2) if base else None}
            for k, v in ips.items()]
    print(json.dumps({"bench": "resnet_speed", "device": str(device), "torch": torch.__version__,
                      "batch": args.batch, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
