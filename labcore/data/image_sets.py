"""What each image/signal set of the full models is, without loading it or importing torch.

The spec and the size guard read shapes, class counts and training-set sizes from here first;
:mod:`labcore.data.images` loads the tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labcore.data.datasets import lab_home


@dataclass(frozen=True)
class ImageSetInfo:
    shape: tuple[int, ...]  # (C, H, W) or (C, L), before upsampling
    n_classes: int
    n_train: int  # training examples (the epoch length)
    source: str  # "embedded" or "torchvision"
    description: str
    pad: int  # translation range of the crop augmentation
    flip: bool  # whether horizontal flips keep the label (not for digits)
    n_test: int = 10000  # test examples (evaluated at each epoch end)


IMAGE_DATASETS: dict[str, ImageSetInfo] = {
    "digits": ImageSetInfo((1, 8, 8), 10, 1438, "embedded", "scikit-learn 8x8 handwritten digits", 1, False, 359),
    "mnist1d": ImageSetInfo((1, 40), 10, 4000, "embedded", "MNIST-1D signals (length 40)", 2, False, 1000),
    "mnist": ImageSetInfo((1, 28, 28), 10, 60000, "torchvision", "MNIST handwritten digits", 2, False),
    "fashion_mnist": ImageSetInfo((1, 28, 28), 10, 60000, "torchvision", "Fashion-MNIST clothing", 2, True),
    "cifar10": ImageSetInfo((3, 32, 32), 10, 50000, "torchvision", "CIFAR-10 colour images", 4, True),
}
UPSAMPLE_SIZES = (0, 16, 32)  # digits only: 0 keeps 8x8


def torchvision_root() -> Path:
    return lab_home() / "data" / "torchvision"


def input_shape(name: str, upsample: int = 0) -> tuple[int, ...]:
    shape = IMAGE_DATASETS[name].shape
    return (shape[0], upsample, upsample) if upsample else shape
