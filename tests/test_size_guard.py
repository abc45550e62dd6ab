"""The size guard bounds the whole run: its estimate is at least the peak memory a run really takes.

Each sample spec runs in a fresh process (tests/rss_probe.py): peak RSS (getrusage) minus the RSS
just before the run, after a warm-up run of the same family. The sample includes issue 13's
evaluation case (a 90% test split of 200,000 points through a wide layer, batch 1), which used to
pass the guard and then allocate the whole test set's activations at once; evaluation now runs in
bounded chunks, and the measured growth stays far below one unchunked activation of the test set.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import labcore  # noqa: F401
from labcore.spec import codec
from labcore.spec.mlp import RunSpec
from labcore.spec.size import EVAL_FLOATS, SizeBudget, SizeError, check_size, estimate, eval_rows
from labcore.train.mlp import Trainer

ROOT = Path(__file__).resolve().parents[1]
EVAL_CASE = {"net": {"depth": 1, "layer": {"width": 4096}},
             "train": {"batch_size": 1, "steps": 2, "eval_every": 1,
                       "data": {"n_samples": 200_000, "test_fraction": 0.9}}}
SAMPLE = [
    EVAL_CASE,
    {"net": {"depth": 4, "layer": {"width": 2048}},
     "train": {"batch_size": 512, "steps": 3, "record_every": 1, "flush_every": 3, "data": {"name": "digits"}}},
    {"net": {"depth": 6, "layer": {"width": 64, "skip": "dense", "norm": "batchnorm"}},
     "train": {"batch_size": 256, "steps": 3, "optimizer": "sgd", "data": {"name": "mnist1d"}}},
    {"kind": "model", "model": "resnet20", "dataset": "digits", "n_train": 256, "batch_size": 128, "epochs": 1,
     "record_every": 1, "flush_every": 2},
]


def measure(d: dict) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "rss_probe.py"), json.dumps(d), "snapshot"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("d", SAMPLE, ids=["eval-90%-of-200k", "2048x4-batch512", "dense-bn-mnist1d", "resnet20"])
def test_estimate_covers_the_measured_peak(d):
    r = measure(d)
    assert r["status"] == "finished"
    assert r["growth"] > 0
    assert r["estimate"] >= r["growth"], f"estimate {r['estimate'] / 2**20:.0f} MiB < measured {r['growth'] / 2**20:.0f} MiB"
    if d is EVAL_CASE:  # evaluation is chunked: far less than one activation of the whole test set
        whole_test_set = 180_000 * 4096 * 4
        assert r["growth"] < whole_test_set / 4 and r["estimate"] < whole_test_set


def test_the_budget_refuses_a_run_over_its_memory_and_names_it(monkeypatch):
    spec = codec.from_dict(EVAL_CASE)
    est = estimate(spec)
    with pytest.raises(SizeError, match="MiB for the whole run") as e:
        check_size(spec, SizeBudget(max_memory_bytes=est.memory_bytes - 1))
    assert "LAB_MAX_MEM_MB" in str(e.value)
    monkeypatch.setenv("LAB_MAX_MEM_MB", str(est.memory_bytes / 2**20 * 0.5))
    with pytest.raises(SizeError):
        check_size(spec)
    monkeypatch.setenv("LAB_MAX_MEM_MB", str(est.memory_bytes / 2**20 * 2))
    assert check_size(spec) == est


def test_each_memory_term_grows_with_what_it_counts():
    base = codec.from_dict({})
    bigger = {"width": {"net": {"layer": {"width": 512}}}, "batch": {"train": {"batch_size": 1024}},
              "data": {"train": {"data": {"n_samples": 200_000}}}, "adam vs sgd": None}
    for name, d in bigger.items():
        if d is None:
            sgd = codec.from_dict({"train": {"optimizer": "sgd"}})
            assert estimate(base).memory_bytes > estimate(sgd).memory_bytes  # Adam keeps 2 floats per weight
            continue
        assert estimate(codec.from_dict(d)).memory_bytes > estimate(base).memory_bytes, name


def test_chunked_evaluation_matches_one_pass():
    """Chunks change only how evaluation is computed: loss and accuracy equal a one-pass oracle."""
    spec = codec.from_dict({"net": {"depth": 1, "layer": {"width": 2048}},
                            "train": {"steps": 1, "device": "cpu", "data": {"n_samples": 40_000, "test_fraction": 0.9}}})
    tr = Trainer(spec)
    assert tr._eval_rows == eval_rows(2048) == EVAL_FLOATS // 2048 < 15_000  # several chunks here
    chunk = tr.steps()
    with torch.no_grad():
        tr.model.eval()
        logits = tr.model(tr.data.x_test)
        loss = torch.nn.functional.cross_entropy(logits, tr.data.y_test).item()
        acc = (logits.argmax(1) == tr.data.y_test).float().mean().item()
    assert np.isclose(chunk.test_loss[-1], loss, rtol=1e-5) and np.isclose(chunk.test_acc[-1], acc)


def test_the_default_spec_and_presets_fit_the_default_budget():
    from labcore.presets import list_presets

    check_size(RunSpec())
    for name in list_presets():  # Preset objects
        check_size(name.spec)
