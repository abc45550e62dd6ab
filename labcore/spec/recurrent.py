"""The spec of a recurrent run (tanh RNN, LSTM, GRU on a synthetic long-range task): frozen, validated.

Its dict form carries ``kind = "rnn"``: the family registered in :mod:`labcore.families.recurrent`.
The probe's "layers" of such a run are its time steps ``t1 … tT`` (see :mod:`labcore.train.recurrent`).
No torch here: the CLI and the codecs load it without PyTorch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from labcore.core.errors import SpecError, check_choice, check_float, check_int
from labcore.spec.choices import OPTIMIZERS
from labcore.spec.flat import check_run_control, flat_codec

CELLS = {
    "rnn": "vanilla tanh RNN: h_t = tanh(W x_t + U h_{t-1} + b)",
    "lstm": "LSTM (Hochreiter & Schmidhuber 1997): input, forget and output gates around an additive cell",
    "gru": "GRU (Cho et al. 2014): update and reset gates",
}
RECURRENT_INITS = {
    "xavier": "Xavier-normal recurrent weights (std 1/√H): spectral radius about 1",
    "orthogonal": "orthogonal recurrent weights: every singular value is 1 (Saxe et al. 2014)",
    "identity": "identity recurrent weights (IRNN, Le et al. 2015)",
}
# task -> (what difficulty means, its allowed range, its default)
TASKS: dict[str, tuple[str, int, int, int]] = {
    "adding": ("marked numbers to add (the first one sits in the first tenth of the sequence)", 2, 8, 2),
    "recall": ("symbols in the alphabet (recall the first token after T-1 random distractors)", 2, 32, 8),
    "parity": ("leading bits whose parity is asked at the end", 1, 8, 2),
}
ADDING_TOLERANCE = 0.04  # an adding-problem answer within this of the sum counts as correct (Hochreiter 1997)


@dataclass(frozen=True)
class RecurrentSpec:
    """Everything needed to reproduce a recurrent run."""

    cell: str = "lstm"  # key of CELLS
    layers: int = 1  # stacked recurrent layers (the probe measures the top one)
    hidden: int = 64  # hidden units per layer
    task: str = "recall"  # key of TASKS
    seq_len: int = 50  # T: time steps per sequence
    difficulty: int = 0  # the task's knob (TASKS); 0 = the task's default
    init: str = "xavier"  # key of RECURRENT_INITS (recurrent weights; input weights are Xavier)
    gain: float = 1.0  # multiplies the recurrent init
    forget_bias: float = 1.0  # LSTM only: the forget gate's bias at init (Gers et al. 2000; Jozefowicz 2015)
    optimizer: str = "adam"  # key of OPTIMIZERS
    lr: float = 3e-3  # learning rate
    momentum: float = 0.9  # SGD momentum (momentum/nesterov only)
    clip_norm: float = 0.0  # clip the global gradient norm to this; 0 = off
    batch_size: int = 64  # sequences per step (each batch is freshly generated)
    steps: int = 1000  # training steps
    eval_every: int = 100  # evaluate on the fixed test sequences every N steps
    seed: int = 0  # seeds init, data and the test set
    device: str = "auto"  # auto | cpu | cuda | mps
    record_every: int = 20  # probe (unrolled through time) every N steps
    flush_every: int = 100  # copy metrics to the host every N steps

    def __post_init__(self):
        check_choice("cell", self.cell, CELLS)
        check_int("layers", self.layers, 1, 3)
        check_int("hidden", self.hidden, 4, 1024)
        check_choice("task", self.task, TASKS)
        check_int("seq_len", self.seq_len, 10, 500)
        _, lo, hi, _ = TASKS[self.task]
        if self.difficulty != 0:
            check_int("difficulty", self.difficulty, lo, hi)
        if self.task == "adding" and self.level * 2 > self.seq_len:
            raise SpecError("difficulty", self.difficulty, f"at most {self.seq_len // 2} marked numbers for T = {self.seq_len}")
        if self.task == "parity" and self.level > self.seq_len:
            raise SpecError("difficulty", self.difficulty, f"at most T = {self.seq_len} bits")
        check_choice("init", self.init, RECURRENT_INITS)
        check_float("gain", self.gain, 0.0, 100.0, lo_open=True)
        check_float("forget_bias", self.forget_bias, -20.0, 20.0)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_float("momentum", self.momentum, 0.0, 0.999)
        check_run_control(self)

    @property
    def level(self) -> int:
        """The task's difficulty, with 0 resolved to the task's default."""
        return self.difficulty or TASKS[self.task][3]

    @property
    def time_steps(self) -> list[str]:
        """The probe's point names: one per time step, the first input first."""
        return [f"t{i}" for i in range(1, self.seq_len + 1)]

    def with_changes(self, **changes) -> "RecurrentSpec":
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


to_dict, from_dict = flat_codec(RecurrentSpec, "rnn", ("gain", "forget_bias", "lr", "momentum", "clip_norm"),
                               "recurrent-run")


# Twins: B differs from A in one choice (same seed, data and every other field).
VARIANTS: dict[str, Callable[[RecurrentSpec], RecurrentSpec]] = {
    "none": lambda s: s,
    "lstm": lambda s: replace(s, cell="lstm"),
    "rnn": lambda s: replace(s, cell="rnn"),
    "gru": lambda s: replace(s, cell="gru"),
    "clip": lambda s: replace(s, clip_norm=1.0),
    "no_clip": lambda s: replace(s, clip_norm=0.0),
    "orthogonal": lambda s: replace(s, init="orthogonal"),
}

__all__ = ["ADDING_TOLERANCE", "CELLS", "RECURRENT_INITS", "RecurrentSpec", "TASKS", "VARIANTS", "from_dict",
           "to_dict"]
