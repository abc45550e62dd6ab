"""ResNet-20 training throughput on ``digits``: device-resident data vs a standard DataLoader loop.

Same model (ResNet-20, 1x8x8 inputs, He init), same optimiser (SGD momentum 0.9, wd 1e-4,
lr 0.1), same batch (128), same augmentation (translate by up to 1 pixel with zero fill,
random horizontal flip), same thread count. Only the input pipeline differs:

* ``device``: the lab's path — the whole normalised set on the device, a batch is an index
  gather from a device-side permutation, augmentation is a few batched device ops
  (:class:`labcore.data.images.Augment`);
* ``dataloader``: the standard torchvision recipe — a ``Dataset`` of uint8 images whose
  ``__getitem__`` applies ``RandomCrop(8, padding=1)``, ``RandomHorizontalFlip``, ``ToTensor``,
  ``Normalize`` per sample to a PIL image (what ``torchvision.datasets.CIFAR10`` + the usual
  transforms do), batched by ``torch.utils.data.DataLoader(shuffle=True, drop_last=True)``;
* ``dataloader_tensor``: the same DataLoader with the per-sample transforms applied to
  tensors (``transforms.v2``), a leaner variant some codebases use.

The two are timed in alternation (``--rounds``), after a warm-up; the ratio is of medians.
Prints one JSON object. ``python bench/models.py [--steps 40] [--rounds 3] [--threads 1]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from labcore.data.tensors import BatchStream  # noqa: E402
from labcore.data.images import Augment, image_arrays, load_images  # noqa: E402
from labcore.nets.zoo import build_model  # noqa: E402
from labcore.nets.registry import OPTIMIZER_FNS  # noqa: E402

BATCH = 128


def make_model(device):
    model = build_model("resnet20", (1, 8, 8), 10, seed=0).to(device)
    opt = OPTIMIZER_FNS["momentum"](model.parameters(), 0.1, 0.9, 1e-4, device)
    return model, opt


def train_step(model, opt, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def device_loop(device, steps: int) -> float:
    """Images per second of the lab's device-resident pipeline."""
    data = load_images("digits", device)
    model, opt = make_model(device)
    batches = BatchStream(len(data.y_train), BATCH, 0, device)
    aug = Augment(1, True, 0, device)

    def run(n):
        for _ in range(n):
            idx = batches.next()
            train_step(model, opt, aug(data.x_train[idx]), data.y_train[idx])

    return images_per_second(run, steps, device)


def images_per_second(run, steps: int, device) -> float:
    """Time ``run(steps)`` after a 3-step warm-up; waits for the GPU before reading the clock."""
    run(3)
    start = time.perf_counter()
    run(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * BATCH / (time.perf_counter() - start)


class DigitsImages(torch.utils.data.Dataset):
    """uint8 8x8 digits served one by one, transformed per sample (torchvision's dataset style)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, transform, pil: bool):
        lo, hi = x.min(), x.max()
        self.x = ((x - lo) / (hi - lo) * 255).round().astype(np.uint8)[:, 0]  # (N, 8, 8)
        self.y, self.transform, self.pil = y, transform, pil

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.fromarray(self.x[i], mode="L") if self.pil else torch.from_numpy(self.x[i])[None]
        return self.transform(img), int(self.y[i])


def loader_loop(device, steps: int, pil: bool) -> float:
    """Images per second of a standard DataLoader pipeline feeding the same model."""
    from torchvision import transforms as T
    from torchvision.transforms import v2

    xtr, ytr, _, _ = image_arrays("digits")
    if pil:
        tf = T.Compose([T.RandomCrop(8, padding=1), T.RandomHorizontalFlip(), T.ToTensor(),
                        T.Normalize((0.5,), (0.25,))])
    else:
        tf = v2.Compose([v2.RandomCrop(8, padding=1), v2.RandomHorizontalFlip(),
                         v2.ToDtype(torch.float32, scale=True), v2.Normalize((0.5,), (0.25,))])
    loader = torch.utils.data.DataLoader(DigitsImages(xtr, ytr, tf, pil), batch_size=BATCH, shuffle=True,
                                         drop_last=True, num_workers=0,
                                         generator=torch.Generator().manual_seed(0))
    model, opt = make_model(device)

    def batches():
        while True:
            yield from loader

    it = batches()

    def run(n):
        for _ in range(n):
            x, y = next(it)
            train_step(model, opt, x.to(device, non_blocking=True), y.to(device, non_blocking=True))

    return images_per_second(run, steps, device)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="CPU threads for both (default 1, the lab's choice)")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    dev, pil, ten = [], [], []
    for _ in range(a.rounds):  # alternate, so load changes hit both
        dev.append(device_loop(device, a.steps))
        pil.append(loader_loop(device, a.steps, pil=True))
        ten.append(loader_loop(device, a.steps, pil=False))
    d, l1, l2 = statistics.median(dev), statistics.median(pil), statistics.median(ten)
    print(json.dumps({"model": "resnet20", "dataset": "digits (1x8x8)", "batch": BATCH, "steps": a.steps,
                      "rounds": a.rounds, "threads": a.threads, "device": str(device),
                      "device_images_per_s": round(d, 1), "dataloader_images_per_s": round(l1, 1),
                      "dataloader_tensor_images_per_s": round(l2, 1),
                      "ratio": round(d / l1, 3), "ratio_vs_tensor_transforms": round(d / l2, 3),
                      "target": 1.3}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
