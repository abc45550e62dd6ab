"""Every preset and every "Compare with" twin of sigmoid-deep keeps its claim, on every claimed seed.

The claims are data: the ``[claim]`` table of each preset file (labcore/presets/*.toml) gives
bounds on the final test accuracy over seeds 0-4, the diagnosis kinds allowed at the end, and for
the exploding preset when it diverges and how much the backprop signal grows toward the input.
``[claim.twins]`` of sigmoid-deep gives the bounds of each twin of labcore/spec/twins.py: a fix
learns (median >= 0.9, none below 0.8) while the broken net stays near chance.

Each distinct spec runs once per seed (a twin equal to its base, e.g. "adam" on an Adam preset,
reuses the base's runs). About 75 runs of about a second each on an idle 2-core CPU.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from labcore.figures.diagnose import diagnose, sentence
from labcore.presets import list_presets, load_preset
from labcore.spec.codec import to_dict
from labcore.spec.twins import VARIANTS, twin
from labcore.train.mlp import Trainer

PRESETS = {p.name: p for p in list_presets()}
_RUNS: dict[str, dict] = {}


def run(spec, seed: int) -> dict:
    """Train ``spec`` on ``seed`` (CPU), once per distinct spec and seed."""
    spec = replace(spec, train=replace(spec.train, seed=seed, device="cpu"))
    key = json.dumps(to_dict(spec), sort_keys=True)
    if key not in _RUNS:
        tr = Trainer(spec)
        m = tr.run()
        s = m.metric("out_grad_norm")
        _RUNS[key] = {
            "status": tr.status, "first_bad_step": tr.first_bad_step,
            "test_acc": float(m.test_acc[-1]) if len(m.test_acc) else float("nan"),
            "diagnosis": diagnose(m, tr.status, tr.first_bad_step),
            # backprop signal at step 1: first hidden layer / last hidden layer
            "signal_growth": float(s[0, 0] / s[0, -2]) if m.steps[0] == 1 else float("nan"),
        }
    return _RUNS[key]


def check_accuracy(bounds: dict, accs: list[float], what: str) -> None:
    med = float(np.median(accs))
    msg = f"{what}: test accuracy median {med:.3f}, seeds {[round(a, 3) for a in accs]}, claim {bounds}"
    assert set(bounds) <= {"median_at_least", "each_at_least", "median_at_most", "each_at_most"}, bounds
    assert bounds, msg
    assert med >= bounds.get("median_at_least", -1), msg
    assert min(accs) >= bounds.get("each_at_least", -1), msg
    assert med <= bounds.get("median_at_most", 2), msg
    assert max(accs) <= bounds.get("each_at_most", 2), msg


def test_every_preset_states_a_claim():
    from pathlib import Path

    for p in PRESETS.values():
        assert p.claim.get("text") and p.claim.get("seeds") == [0, 1, 2, 3, 4], p.name
        if "checked_by" in p.claim:  # a claim another test checks (e.g. live surgery's gradient claim)
            test = Path(__file__).resolve().parents[1] / p.claim["checked_by"]
            assert p.name in test.read_text(encoding="utf-8"), (p.name, p.claim["checked_by"])
            continue
        assert "test_acc" in p.claim or p.claim.get("diverges"), p.name
    assert set(PRESETS["sigmoid-deep"].claim["twins"]) == set(VARIANTS)  # every twin offered has one


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if "checked_by" not in p.claim])
def test_preset_keeps_its_claim(name):
    p = PRESETS[name]
    claim = p.claim
    results = [run(p.spec, s) for s in claim["seeds"]]
    if "test_acc" in claim:
        check_accuracy(claim["test_acc"], [r["test_acc"] for r in results], name)
    for seed, r in zip(claim["seeds"], results):
        d = r["diagnosis"]
        assert d.kind in claim["verdict"], f"{name} seed {seed}: {sentence(d)}"
        if claim.get("diverges"):
            assert r["status"] == "diverged", (name, seed, r["status"])
            lo, hi = claim["first_bad_step"]
            assert lo <= r["first_bad_step"] <= hi, (name, seed, r["first_bad_step"])
        else:
            assert r["status"] == "finished", (name, seed, r["status"])
        if "signal_growth_at_least" in claim:
            assert r["signal_growth"] >= claim["signal_growth_at_least"], (name, seed, r["signal_growth"])


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_twin_of_sigmoid_deep_keeps_its_claim(variant):
    base = load_preset("sigmoid-deep")
    spec = twin(base.spec, variant)
    accs = [run(spec, s)["test_acc"] for s in base.claim["seeds"]]
    check_accuracy(base.claim["twins"][variant], accs, f"sigmoid-deep + {variant}")
