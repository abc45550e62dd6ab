"""What does watching gradients through time cost? The recurrent trainer vs a bare loop, side by side.

For each spec, one net is trained on one stream of generated sequences two ways, taking turns on
the same model, optimizer and task generator, in interleaved rounds so machine noise hits both:

- ``bare``: a hand-written PyTorch loop (fresh batch, fused nn.RNN/LSTM/GRU or encoder forward, loss,
  backward, optimizer step);
- ``lab``: :class:`~labcore.train.recurrent.RecurrentTrainer` (or the transformer trainer) at the
  spec's recording cadence (default: every 20th step; recurrent: unrolled through time, ‖∂L/∂h_t‖
  for every t, gate statistics; transformer: per-sublayer norms), flushes included, evaluations off.

Each round is a whole number of recording periods sized to last about a second bare; rounds
alternate their order and go on until a time budget is spent (at least 5). Prints one JSON line
per case with steps/s, the ratio lab ÷ bare (overall and median round), every round's ratio and
the load average. Run: ``python bench/sequences.py [--quick] [--budget S] [--only gru]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from labcore.spec.recurrent import RecurrentSpec  # noqa: E402
from labcore.spec.transformer import TransformerSpec  # noqa: E402
from labcore.train.device import denormals_flushed, use_cpu_threads  # noqa: E402
from labcore.train.recurrent import RecurrentTrainer  # noqa: E402
from labcore.train.transformer import TransformerTrainer  # noqa: E402


class BareLoop:
    """The loop the lab is measured against, driving the trainer's own model, optimizer and task.

    (A transformer's bare loop also sets the warm-up lr each step, as any such loop must.)
    """

    def __init__(self, trainer: RecurrentTrainer):
        self.t = trainer

    def steps(self, n: int) -> None:
        if isinstance(self.t, RecurrentTrainer):  # flushed as the trainer's own steps are (same arithmetic)
            with denormals_flushed(self.t.device):
                return self._steps(n)
        self._steps(n)

    def _steps(self, n: int) -> None:
        t, b = self.t, self.t.spec.batch_size
        for _ in range(n):
            if hasattr(t.spec, "lr_at"):
                for g in t.opt.param_groups:
                    g["lr"] = t.spec.lr_at(1)
            x, y = t.task.batch(b)
            loss, _ = t._loss_acc(t.model(x), y)
            t.opt.zero_grad(set_to_none=True)
            loss.backward()
            t.opt.step()


def _round_steps(runner, record_every: int, round_seconds: float) -> int:
    """Steps per round: a whole number of recording periods lasting about ``round_seconds`` bare."""
    start = time.perf_counter()
    runner.steps(record_every)
    per_step = (time.perf_counter() - start) / record_every
    return record_every * max(1, round(round_seconds / per_step / record_every))


def measure(name: str, spec, *, min_rounds: int, max_rounds: int, budget_s: float, round_seconds: float) -> dict:
    """Interleaved rounds (bare, lab, then lab, bare, ...) on one model, until ``budget_s`` is spent.

    Each round is a whole number of recording periods, so every round holds the same share of
    recorded steps; the ratio read is the median over rounds of bare time ÷ lab time.
    """
    spec = spec.with_changes(steps=10**6, eval_every=10**6, device="cpu")
    lab = (RecurrentTrainer if isinstance(spec, RecurrentSpec) else TransformerTrainer)(spec)
    runners = {"bare": BareLoop(lab), "lab": lab}
    # both loops at the thread count the lab trains with (the job runner and the CLI apply the
    # trainer's cpu_threads: one for these small per-step matmuls), restored at the end
    prev_threads = torch.get_num_threads()
    use_cpu_threads(lab)
    try:
        return _rounds(name, spec, runners, min_rounds=min_rounds, max_rounds=max_rounds, budget_s=budget_s,
                       round_seconds=round_seconds)
    finally:
        torch.set_num_threads(prev_threads)


def _rounds(name: str, spec, runners: dict, *, min_rounds: int, max_rounds: int, budget_s: float,
            round_seconds: float) -> dict:
    for r in runners.values():  # warm-up: allocator, optimizer state, the first recorded step
        r.steps(spec.record_every)
    steps = _round_steps(runners["bare"], spec.record_every, round_seconds)
    times = {k: [] for k in runners}
    begin = time.perf_counter()
    while len(times["lab"]) < min_rounds or (len(times["lab"]) < max_rounds
                                             and time.perf_counter() - begin < budget_s):
        order = list(runners) if len(times["lab"]) % 2 == 0 else list(reversed(runners))
        for k in order:
            start = time.perf_counter()
            runners[k].steps(steps)
            times[k].append(time.perf_counter() - start)
    sps = {k: [steps / s for s in v] for k, v in times.items()}
    overall = sum(times["bare"]) / sum(times["lab"])
    per_round = [b / l for b, l in zip(times["bare"], times["lab"])]
    return {"name": name, "threads": torch.get_num_threads(), "record_every": spec.record_every,
            "steps_per_round": steps, "n_rounds": len(per_round),
            "bare_steps_per_s": round(statistics.median(sps["bare"]), 1),
            "lab_steps_per_s": round(statistics.median(sps["lab"]), 1),
            "lab_over_bare_overall": round(overall, 3), "lab_over_bare_median_round": round(statistics.median(per_round), 3),
            "rounds": [round(x, 3) for x in per_round], "load": _load()}


def _load() -> list[float] | None:
    try:
        return [round(x, 1) for x in os.getloadavg()]
    except OSError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    ap.add_argument("--budget", type=float, default=None, help="seconds of rounds per case (default 40; quick 10)")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    budget = args.budget if args.budget is not None else (10.0 if args.quick else 40.0)
    kw = {"min_rounds": 3 if args.quick else 5, "max_rounds": 41, "budget_s": budget,
          "round_seconds": 0.5 if args.quick else 1.0}
    cases = {
        "lstm recall T=50 h=64 (default)": RecurrentSpec(),
        "rnn recall T=50 h=64": RecurrentSpec(cell="rnn"),
        "gru adding T=100 h=64": RecurrentSpec(cell="gru", task="adding", seq_len=100),
        "transformer post-LN 6 x 64 (default)": TransformerSpec(),
    }
    print(json.dumps({"torch": torch.__version__, **kw, "load": _load()}), flush=True)
    for k, s in cases.items():  # one JSON line per case, as soon as it is measured
        if args.only in k:
            print(json.dumps(measure(k, s, **kw)), flush=True)


if __name__ == "__main__":
    main()
