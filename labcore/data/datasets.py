"""The embedded data sets, generated or read offline as numpy arrays.

Each entry of :data:`DATASETS` knows its input size and class count without loading anything
(the size guard and the builders need them first), and a loader that returns
``(x_train, y_train, x_test, y_test)`` as float32 / int64 numpy arrays. Moving them onto the
training device is :mod:`labcore.data.tensors`'s job.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from labcore.core.errors import _choice, _float, _int

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def lab_home() -> Path:
    """The lab's home folder: ``$LAB_HOME``, else ``~/.gradient-flow-lab``."""
    return Path(os.environ.get("LAB_HOME") or Path.home() / ".gradient-flow-lab")


# ----------------------------------------------------------------------------- synthetic 2-D
def _spirals(n: int, noise: float, k: int, rng: np.random.Generator):
    per = n // k
    xs, ys = [], []
    for c in range(k):
        r = np.linspace(0.05, 1.0, per)
        t = 1.75 * r * 2 * np.pi + c * 2 * np.pi / k
        pts = np.stack([r * np.sin(t), r * np.cos(t)], 1)
        xs.append(pts + rng.normal(0, noise * 0.5, pts.shape))
        ys.append(np.full(per, c))
    return np.concatenate(xs) * 2.0, np.concatenate(ys)


def _moons(n: int, noise: float, k: int, rng):
    h = n // 2
    t1, t2 = rng.uniform(0, np.pi, h), rng.uniform(0, np.pi, n - h)
    a = np.stack([np.cos(t1), np.sin(t1)], 1)
    b = np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], 1)
    x = np.concatenate([a, b]) + rng.normal(0, noise, (n, 2))
    return (x - [0.5, 0.25]) * 1.5, np.concatenate([np.zeros(h), np.ones(n - h)])


def _circles(n: int, noise: float, k: int, rng):
    h = n // 2
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.concatenate([np.full(h, 0.5), np.full(n - h, 1.0)])
    x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + rng.normal(0, noise * 0.5, (n, 2))
    return x * 1.5, np.concatenate([np.zeros(h), np.ones(n - h)])


def _xor(n: int, noise: float, k: int, rng):
    x = rng.uniform(-1, 1, (n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return (x + rng.normal(0, noise * 0.5, (n, 2))) * 1.5, y


def _gaussians(n: int, noise: float, k: int, rng):
    per = n // k
    centers = np.stack([np.cos(2 * np.pi * np.arange(k) / k), np.sin(2 * np.pi * np.arange(k) / k)], 1)
    x = np.concatenate([c + rng.normal(0, 0.25 + noise, (per, 2)) for c in centers])
    return x * 1.5, np.repeat(np.arange(k), per)


def _checkerboard(n: int, noise: float, k: int, rng):
    x = rng.uniform(-1, 1, (n, 2))
    cells = np.floor((x + 1) * 2).astype(int)  # 4 x 4 board
    y = (cells.sum(1) % 2).astype(np.int64)
    return (x + rng.normal(0, noise * 0.25, (n, 2))) * 1.5, y


def _synthetic(make) -> Callable:
    def load(spec, seed: int) -> Arrays:
        rng = np.random.default_rng(seed)
        x, y = make(spec.n_samples, spec.noise, spec.classes, rng)
        perm = rng.permutation(len(y))
        x, y = x[perm].astype(np.float32), y[perm].astype(np.int64)
        n_test = max(1, int(round(len(y) * spec.test_fraction)))
        return x[n_test:], y[n_test:], x[:n_test], y[:n_test]

    return load


# ----------------------------------------------------------------------------- real data
def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> Arrays:
    # A fixed split (seed 0) so the test set does not move when the training seed changes.
    perm = np.random.default_rng(0).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits (shipped inside scikit-learn), pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)  # (N, 8, 8), (N,)


def _digits(spec, seed: int) -> Arrays:
    img, y = load_digits_arrays()
    x = img.reshape(len(y), -1)  # (N, 64): flattened for MLPs
    x = (x - 0.3) / 0.4  # roughly zero-mean, unit-scale inputs
    return _split(x.astype(np.float32), y, spec.test_fraction, seed)


MNIST1D_ARGS = {"num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60],
                "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
                "iid_noise_scale": 2e-2, "shear_scale": 0.75, "shuffle_seq": False,
                "final_seq_length": 40, "seed": 42}


def mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D (4000 train / 1000 test, length 40), generated once and cached under LAB_HOME."""
    key = hashlib.sha1(json.dumps(MNIST1D_ARGS, sort_keys=True).encode()).hexdigest()[:10]
    path = lab_home() / "data" / f"mnist1d-{key}.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return z["x"], z["y"], z["x_test"], z["y_test"]
        except Exception:  # a truncated cache file: regenerate it
            pass
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    state = np.random.get_state()  # make_dataset reseeds numpy's global RNG; put it back
    try:
        d = make_dataset(ObjectView(dict(MNIST1D_ARGS)))
    finally:
        np.random.set_state(state)
    arrays = {"x": d["x"].astype(np.float32), "y": d["y"].astype(np.int64),
              "x_test": d["x_test"].astype(np.float32), "y_test": d["y_test"].astype(np.int64)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    return arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"]


def _mnist1d(spec, seed: int) -> Arrays:
    return mnist1d_arrays()


@dataclass(frozen=True)
class DatasetInfo:
    kind: str  # "2d" (synthetic, decision boundary), "image", "signal"
    description: str
    in_dim: Callable[[object], int]  # DataSpec -> flattened input size
    n_classes: Callable[[object], int]  # DataSpec -> classes
    load: Callable[[object, int], Arrays]  # (DataSpec, seed) -> arrays


def _two_d(make, desc: str, classes: Callable | None = None) -> DatasetInfo:
    return DatasetInfo("2d", desc, lambda s: 2, classes or (lambda s: 2), _synthetic(make))


DATASETS: dict[str, DatasetInfo] = {
    "spirals": _two_d(_spirals, "interleaved spirals (classes arms)", lambda s: s.classes),
    "moons": _two_d(_moons, "two interleaving half circles"),
    "circles": _two_d(_circles, "a ring around a disc"),
    "xor": _two_d(_xor, "XOR quadrants"),
    "gaussians": _two_d(_gaussians, "Gaussian blobs on a circle (classes blobs)", lambda s: s.classes),
    "checkerboard": _two_d(_checkerboard, "4x4 checkerboard"),
    "digits": DatasetInfo("image", "scikit-learn 8x8 handwritten digits (1,797)",
                          lambda s: 64, lambda s: 10, _digits),
    "mnist1d": DatasetInfo("signal", "MNIST-1D: 5,000 procedurally generated 1-D signals",
                           lambda s: 40, lambda s: 10, _mnist1d),
}


@dataclass(frozen=True)
class DataSpec:
    """Which data set, and how the synthetic ones are generated."""

    name: str = "spirals"  # key of DATASETS
    n_samples: int = 1000  # points for synthetic 2-D sets (train + test)
    noise: float = 0.1  # noise level of synthetic 2-D sets
    classes: int = 2  # classes of spirals / gaussians (the others have their own)
    test_fraction: float = 0.2  # share held out for testing

    def __post_init__(self):
        _choice("data.name", self.name, DATASETS)
        _int("data.n_samples", self.n_samples, 50, 200_000)
        _float("data.noise", self.noise, 0.0, 5.0)
        _int("data.classes", self.classes, 2, 10)
        _float("data.test_fraction", self.test_fraction, 0.05, 0.9)
