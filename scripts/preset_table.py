"""Print the presets' README table: median [range] over seeds 0-4 of what each preset claims.

    python scripts/preset_table.py          # about 75 short CPU runs

For each preset: final test accuracy, the backprop-signal ratio ‖∂L/∂h‖ first/last hidden layer
and the weight-gradient ratio ‖∇W‖ (second hidden layer / last, see MetricsChunk.first_last_ratio),
both medians over the run's recorded steps, the verdict of labcore.figures.diagnose, and for a
diverging preset the step it diverged at. Then the same accuracy figures for every "Compare with"
twin of sigmoid-deep. tests/test_claims.py checks the claims these numbers illustrate.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labcore.figures.diagnose import diagnose  # noqa: E402
from labcore.presets import list_presets, load_preset  # noqa: E402
from labcore.spec.twins import VARIANTS, twin  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402

SEEDS = range(5)


def fmt(values, spec=".2f") -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if not len(v):
        return "—"
    return f"{np.median(v):{spec}} [{v.min():{spec}}, {v.max():{spec}}]"


def measure(spec) -> dict:
    rows = []
    for seed in SEEDS:
        tr = Trainer(replace(spec, train=replace(spec.train, seed=seed, device="cpu")))
        m = tr.run()
        rows.append({"acc": float(m.test_acc[-1]) if len(m.test_acc) else np.nan,
                     "signal": m.first_last_ratio("out_grad_norm"), "grad": m.first_last_ratio("grad_norm"),
                     "bad": tr.first_bad_step, "kind": diagnose(m, tr.status, tr.first_bad_step).kind})
    return {k: [r[k] for r in rows] for k in rows[0]}


def main() -> None:
    print("| preset | test accuracy | ‖∂L/∂h‖ first/last | ‖∇W‖ h2/last | verdict (seeds) | diverged at |")
    print("| --- | --- | --- | --- | --- | --- |")
    for p in list_presets():
        r = measure(p.spec)
        kinds = ", ".join(f"{k} ×{n}" for k, n in Counter(r["kind"]).items())
        bad = fmt([b for b in r["bad"] if b is not None], ".0f") if any(r["bad"]) else "—"
        print(f"| `{p.name}` | {fmt(r['acc'])} | {fmt(r['signal'], '.1e')} | {fmt(r['grad'], '.1e')} | {kinds} | {bad} |",
              flush=True)
    print()
    print("| sigmoid-deep + twin | test accuracy |")
    print("| --- | --- |")
    base = load_preset("sigmoid-deep").spec
    for v in VARIANTS:
        print(f"| {v} | {fmt(measure(twin(base, v))['acc'])} |", flush=True)


if __name__ == "__main__":
    main()
