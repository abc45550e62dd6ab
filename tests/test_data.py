"""Embedded data sets and device batching."""
import numpy as np
import torch

from labcore.data import datasets
from labcore.data.tensors import BatchStream, load_arrays, load_data
from labcore.spec.mlp import DataSpec


def test_synthetic_sets_are_seeded_and_split():
    spec = DataSpec("spirals", n_samples=500, noise=0.2, classes=3, test_fraction=0.2)
    a, b = datasets.DATASETS["spirals"].load(spec, 1), datasets.DATASETS["spirals"].load(spec, 1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    xtr, ytr, xte, yte = a
    assert len(xtr) + len(xte) == 498 and len(xte) == round(498 * 0.2)  # 3 arms of 166
    assert set(np.unique(ytr)) == {0, 1, 2} and xtr.shape[1] == 2 and xtr.dtype == np.float32
    other = datasets.DATASETS["spirals"].load(spec, 2)[0]
    assert not np.array_equal(xtr, other)


def test_noise_moves_the_points():
    clean = datasets.DATASETS["circles"].load(DataSpec("circles", noise=0.0), 0)[0]
    radii = np.sort(np.unique(np.round(np.linalg.norm(clean, axis=1), 4)))
    assert np.allclose(radii, [0.75, 1.5])  # two exact rings without noise
    noisy = datasets.DATASETS["circles"].load(DataSpec("circles", noise=0.3), 0)[0]
    assert len(np.unique(np.round(np.linalg.norm(noisy, axis=1), 4))) > 100


def test_digits_are_the_real_scikit_learn_digits():
    xtr, ytr, xte, yte = load_arrays(DataSpec("digits"), 0)
    assert len(ytr) + len(yte) == 1797 and xtr.shape[1] == 64 and set(np.unique(ytr)) == set(range(10))


def test_mnist1d_is_generated_once_and_cached_in_lab_home():
    state = np.random.get_state()[1].copy()
    x, y, xt, yt = datasets.mnist1d_arrays()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40) and set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG left alone
    cached = list((datasets.lab_home() / "data").glob("mnist1d-*.npz"))
    assert len(cached) == 1
    again = datasets.mnist1d_arrays()
    np.testing.assert_array_equal(again[0], x)


def test_device_data_and_batch_stream_cover_each_epoch_once():
    data = load_data(DataSpec("moons", n_samples=100), 0, torch.device("cpu"))
    assert data.x_train.device.type == "cpu" and data.n_classes == 2
    stream = BatchStream(80, 16, seed=0, device=torch.device("cpu"))
    epoch = torch.cat([stream.next() for _ in range(5)])
    assert sorted(epoch.tolist()) == list(range(80))
    again = BatchStream(80, 16, seed=0, device=torch.device("cpu"))
    assert torch.equal(again.next(), epoch[:16])  # same seed, same stream
