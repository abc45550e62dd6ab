"""What does a live change cost? The pause at the change and the steps/s before and after.

For each change, sigmoid-deep (24 x 64, CPU) trains ``--steps`` steps, the change is applied
with ``Trainer.apply`` at that step boundary, and it trains ``--steps`` more. Reported per change
(median over ``--repeats`` runs, with the range): the pause (ms, the whole ``apply``: check,
module surgery, norm fitting, optimiser rebuild, probe refresh), steps/s before and after, and
for an inserted norm how close it is to identity on the current batch (‖norm(z) − z‖/‖z‖).
For reference, ``fresh`` is the steps/s of a net built with the change from the start, measured
in the same round. Prints one JSON document. Run: ``python bench/surgery.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labcore.presets import load_preset  # noqa: E402
from labcore.spec.edit import override  # noqa: E402
from labcore.spec.events import Change  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402

CHANGES = {
    "lr": ({"lr": 0.01}, {}),
    "skip residual": ({"skip": "residual"}, {"skip": "residual"}),
    "batchnorm (all)": ({"norm": "batchnorm"}, {"norm": "batchnorm"}),
    "layernorm (all)": ({"norm": "layernorm"}, {"norm": "layernorm"}),
    "activation tanh": ({"activation": "tanh"}, {"activation": "tanh"}),
    "optimizer sgd": ({"optimizer": "sgd"}, {"optimizer": "sgd"}),
}


def sps(tr: Trainer, n: int) -> float:
    t = time.perf_counter()
    tr.steps(n)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.steps, a.repeats = 100, 1
    base = load_preset("sigmoid-deep").spec
    base = replace(base, train=replace(base.train, device="cpu", steps=10 * a.steps))
    out = {}
    for name, (change, fresh_kw) in CHANGES.items():
        rows = []
        for r in range(a.repeats):
            tr = Trainer(replace(base, train=replace(base.train, seed=r)))
            tr.steps(20)  # warm-up
            before = sps(tr, a.steps)
            rec = tr.apply(Change.of(**change))
            after = sps(tr, a.steps)
            fresh_tr = Trainer(override(base, seed=r, **fresh_kw) if fresh_kw else base)
            fresh_tr.steps(20)
            fresh = sps(fresh_tr, a.steps)
            rows.append((rec["pause_ms"], before, after, fresh, rec.get("identity_error")))

        def med(i):
            vals = [row[i] for row in rows if row[i] is not None]
            return {"median": round(statistics.median(vals), 3 if i == 0 else 1), "range": [round(min(vals), 3), round(max(vals), 3)]} if vals else None

        out[name] = {"pause_ms": med(0), "sps_before": med(1), "sps_after": med(2), "sps_fresh": med(3)}
        if rows[0][4] is not None:
            out[name]["identity_error"] = {"median": statistics.median(r[4] for r in rows),
                                           "range": [min(r[4] for r in rows), max(r[4] for r in rows)]}
    print(json.dumps({"net": "sigmoid-deep 24x64, batch 64, CPU", "steps_each_side": a.steps,
                      "repeats": a.repeats}))
    for name, row in out.items():
        print(json.dumps({"change": name, **row}))


if __name__ == "__main__":
    main()
