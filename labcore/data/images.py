"""Image and signal data for the full models: whole tensors on the device, batched augmentation.

:data:`IMAGE_DATASETS` says each set's shape, class count and training-set size without loading
anything (the spec and the size guard need them first). :func:`load_images` returns an
:class:`ImageData` of normalised ``(N, C, H, W)`` (or ``(N, C, L)``) tensors on the device:

* ``digits``: scikit-learn's 8x8 digits, the MLP runs' exact split, optionally upsampled
  (bilinear, once, at load) to 16x16 or 32x32;
* ``mnist1d``: MNIST-1D signals as ``(N, 1, 40)``;
* ``mnist``, ``fashion_mnist``, ``cifar10``: read from ``lab_home()/data/torchvision`` in the
  files torchvision downloads (MNIST's raw idx-ubyte files; CIFAR-10's python pickle batches).
  They are downloaded only with ``download=True`` (the CLI's ``--download``, the Models page's
  button); a missing set raises :class:`DatasetMissing`, which says how to get it.

:class:`Augment` is the standard augmentation (pad-and-crop by random translations, random
horizontal flip) as a handful of batched device ops on the gathered batch: no per-sample Python,
no host sync.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from labcore.core.errors import SpecError
from labcore.data.datasets import DataSpec, lab_home
from labcore.data.image_sets import IMAGE_DATASETS, UPSAMPLE_SIZES, ImageSetInfo, input_shape, torchvision_root  # noqa: F401


class DatasetMissing(SpecError):
    """A torchvision data set is not on disk; the message says how to get it."""

    def __init__(self, name: str, root: Path, detail: str = ""):
        self.field, self.value = "dataset", name
        self.allowed = "downloaded first"
        msg = (f"data set {name!r} was not found under {root}{f' ({detail})' if detail else ''}. "
               f"Download it once with `python -m labcore run --model resnet20 --dataset {name} --download "
               f"--epochs 1`, or with the 'Download' button on the Models page "
               f"(the files go to $LAB_HOME/data/torchvision).")
        ValueError.__init__(self, msg)


@dataclass
class ImageData:
    """Normalised train/test tensors on one device (channel-wise zero mean, unit std)."""

    name: str
    x_train: torch.Tensor  # (N, C, H, W) or (N, C, L) float32
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    pad: int  # augmentation translation range (in pixels at the loaded size)
    flip: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


# ----------------------------------------------------------------------------- readers
def _read_cifar10(root: Path):
    """CIFAR-10's python pickle batches, as torchvision downloads them (checksums are checked at
    download by torchvision; here a stand-in in the same format loads too)."""
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise DatasetMissing("cifar10", root, f"missing {folder / missing[0]}")

    def read(name):
        with open(folder / name, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)  # rows are R, G, B planes
        return x, np.asarray(entry["labels"], dtype=np.int64)

    parts = [read(n) for n in names[:5]]
    xte, yte = read("test_batch")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), xte, yte


def _read_mnist(name: str, root: Path):
    from torchvision.datasets import MNIST, FashionMNIST

    cls = MNIST if name == "mnist" else FashionMNIST
    try:
        tr, te = cls(str(root), train=True), cls(str(root), train=False)
    except RuntimeError as e:  # torchvision: "Dataset not found. You can use download=True ..."
        raise DatasetMissing(name, root, f"no raw files in {root / cls.__name__ / 'raw'}") from e
    # (N, 28, 28) uint8 -> (N, 1, 28, 28)
    return (tr.data.numpy()[:, None], tr.targets.numpy().astype(np.int64),
            te.data.numpy()[:, None], te.targets.numpy().astype(np.int64))


def download(name: str, root: Path | None = None) -> Path:
    """Fetch a torchvision data set into the lab's folder (the only place that downloads)."""
    from torchvision.datasets import CIFAR10, MNIST, FashionMNIST

    root = root or torchvision_root()
    root.mkdir(parents=True, exist_ok=True)
    cls = {"mnist": MNIST, "fashion_mnist": FashionMNIST, "cifar10": CIFAR10}.get(name)
    if cls is None:
        raise SpecError("dataset", name, "mnist, fashion_mnist or cifar10 (the others are built in)")
    for train in (True, False):
        cls(str(root), train=train, download=True)
    return root


def is_available(name: str, root: Path | None = None) -> bool:
    """Whether a data set can load without a download (embedded sets always can)."""
    if IMAGE_DATASETS[name].source == "embedded":
        return True
    root = root or torchvision_root()
    if name == "cifar10":
        return all((root / "cifar-10-batches-py" / n).exists()
                   for n in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    folder = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    return all((folder / f"{p}-{k}").exists() for p in ("train", "t10k")
               for k in ("images-idx3-ubyte", "labels-idx1-ubyte"))


def image_arrays(name: str, *, download_missing: bool = False, root: Path | None = None):
    """``(x_train, y_train, x_test, y_test)`` numpy arrays; images unnormalised (uint8 or float)."""
    from labcore.data.tensors import load_arrays

    if name not in IMAGE_DATASETS:
        raise SpecError("dataset", name, "one of " + ", ".join(IMAGE_DATASETS))
    if name in ("digits", "mnist1d"):
        xtr, ytr, xte, yte = load_arrays(DataSpec(name), 0)  # the MLP runs' split, flattened
        shape = IMAGE_DATASETS[name].shape
        return xtr.reshape(-1, *shape), ytr, xte.reshape(-1, *shape), yte  # (N, F) -> (N, C, H, W)
    root = root or torchvision_root()
    if download_missing and not is_available(name, root):
        download(name, root)
    return _read_cifar10(root) if name == "cifar10" else _read_mnist(name, root)


def load_images(name: str, device: torch.device, *, upsample: int = 0, download_missing: bool = False,
                root: Path | None = None, n_train: int = 0) -> ImageData:
    """Load, normalise per channel with the training set's statistics, move to ``device``.

    ``n_train`` > 0 keeps only the first ``n_train`` training examples (quick classroom runs).
    """
    info = IMAGE_DATASETS.get(name)
    if info is None:
        raise SpecError("dataset", name, "one of " + ", ".join(IMAGE_DATASETS))
    if upsample and len(info.shape) != 3:
        raise SpecError("upsample", upsample, "0 for signals (upsampling is for images)")
    xtr, ytr, xte, yte = image_arrays(name, download_missing=download_missing, root=root)
    if n_train:
        xtr, ytr = xtr[:n_train], ytr[:n_train]
    xtr_t = torch.from_numpy(np.ascontiguousarray(xtr)).to(device=device, dtype=torch.float32)
    xte_t = torch.from_numpy(np.ascontiguousarray(xte)).to(device=device, dtype=torch.float32)
    pad = info.pad
    if upsample and upsample != info.shape[1]:
        pad = max(1, round(info.pad * upsample / info.shape[1]))
        xtr_t = F.interpolate(xtr_t, size=(upsample, upsample), mode="bilinear", align_corners=False)
        xte_t = F.interpolate(xte_t, size=(upsample, upsample), mode="bilinear", align_corners=False)
    dims = [0] + list(range(2, xtr_t.dim()))  # every dim but the channel
    mean = xtr_t.mean(dim=dims, keepdim=True)
    std = xtr_t.std(dim=dims, keepdim=True).clamp_min(1e-6)
    xtr_t, xte_t = (xtr_t - mean) / std, (xte_t - mean) / std
    return ImageData(name, xtr_t, torch.from_numpy(ytr).to(device), xte_t, torch.from_numpy(yte).to(device),
                     info.n_classes, pad, info.flip)


# ----------------------------------------------------------------------------- augmentation
class Augment:
    """Random translation by up to ``pad`` pixels (zero fill: pad-and-crop) and optional flips.

    Works on a whole batch ``(B, C, H, W)`` or ``(B, C, L)`` with gathers driven by random
    offsets drawn on the device from a seeded generator.
    """

    def __init__(self, pad: int, flip: bool, seed: int, device: torch.device,
                 generator: torch.Generator | None = None):
        self.pad, self.flip, self.device = pad, flip, device
        if generator is None:  # a stream of its own (a trainer passes the run's augment generator)
            generator = torch.Generator(device=device)
            generator.manual_seed(seed + 7)
        self.gen = generator

    def _shift(self, xp: torch.Tensor, dim: int, size: int) -> torch.Tensor:
        """Crop ``size`` entries along ``dim`` of the padded batch at a random offset per example."""
        b = xp.shape[0]
        off = torch.randint(0, 2 * self.pad + 1, (b,), generator=self.gen, device=xp.device)
        idx = off[:, None] + torch.arange(size, device=xp.device)  # (B, size)
        view = [b] + [1] * (xp.dim() - 1)
        view[dim] = size
        shape = list(xp.shape)
        shape[dim] = size
        return xp.gather(dim, idx.view(view).expand(shape))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad > 0:
            p = self.pad
            spatial = x.shape[2:]
            xp = F.pad(x, (p, p) * len(spatial))  # (B, C, H + 2p, W + 2p)
            for d, size in enumerate(spatial):
                xp = self._shift(xp, 2 + d, size)
            x = xp
        if self.flip:
            coin = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), generator=self.gen, device=x.device) < 0.5
            x = torch.where(coin, x.flip(-1), x)
        return x
