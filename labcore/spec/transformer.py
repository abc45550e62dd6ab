"""The spec of a transformer run (a small encoder, Post-LN or Pre-LN, on a synthetic token task).

Its dict form carries ``kind = "transformer"``: the family registered in
:mod:`labcore.families.transformer`. Xiong et al. 2020 ("On Layer Normalization in the Transformer
Architecture"): with the LayerNorm after each residual add (Post-LN) the gradients near the
output are large at initialisation and training needs a learning-rate warm-up; with it before
each sublayer (Pre-LN) they are even across depth. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from labcore.core.errors import SpecError, check_choice, check_float, check_int
from labcore.spec.flat import check_run_control, flat_codec

LN_PLACES = {"post": "Post-LN: x = LN(x + f(x)) (Vaswani et al. 2017)",
             "pre": "Pre-LN: x = x + f(LN(x)), and a final LN (Xiong et al. 2020)"}
TOKEN_TASKS = {"sort": "output the input tokens in increasing order",
               "reverse": "output the input tokens in reverse order"}


@dataclass(frozen=True)
class TransformerSpec:
    """Everything needed to reproduce a transformer run."""

    layers: int = 6  # encoder blocks (attention + MLP each)
    d_model: int = 64  # residual-stream width
    heads: int = 4  # attention heads (d_model must divide by it)
    ln: str = "post"  # key of LN_PLACES: where the LayerNorm sits
    task: str = "sort"  # key of TOKEN_TASKS
    seq_len: int = 16  # tokens per sequence
    vocab: int = 16  # token values (the task's difficulty)
    lr: float = 1e-3  # Adam's peak learning rate
    warmup_steps: int = 0  # linear warm-up from 0 to lr over this many steps; 0 = none
    clip_norm: float = 0.0  # clip the global gradient norm; 0 = off
    batch_size: int = 64  # sequences per step (fresh each step)
    steps: int = 400  # training steps
    eval_every: int = 50  # evaluate on fixed test sequences every N steps
    seed: int = 0  # seeds init, data and the test set
    device: str = "auto"  # auto | cpu | cuda | mps
    record_every: int = 20  # probe every N steps
    flush_every: int = 100  # copy metrics to the host every N steps

    def __post_init__(self):
        check_int("layers", self.layers, 2, 24)
        check_int("d_model", self.d_model, 32, 256)
        check_int("heads", self.heads, 1, 16)
        if self.d_model % self.heads:
            raise SpecError("heads", self.heads, f"a divisor of d_model = {self.d_model}")
        check_choice("ln", self.ln, LN_PLACES)
        check_choice("task", self.task, TOKEN_TASKS)
        check_int("seq_len", self.seq_len, 4, 128)
        check_int("vocab", self.vocab, 2, 512)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_int("warmup_steps", self.warmup_steps, 0, 1_000_000)
        check_run_control(self)

    def lr_at(self, step: int) -> float:
        """The learning rate of (1-based) ``step``: linear warm-up, then constant."""
        if self.warmup_steps and step <= self.warmup_steps:
            return self.lr * step / self.warmup_steps
        return self.lr

    @property
    def probe_names(self) -> list[str]:
        """Probe points, input side first: each block's attention and MLP sublayers, then the head."""
        return [f"{i}.{part}" for i in range(1, self.layers + 1) for part in ("attn", "mlp")] + ["head"]

    def with_changes(self, **changes) -> "TransformerSpec":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


to_dict, from_dict = flat_codec(TransformerSpec, "transformer", ("lr", "clip_norm"), "transformer-run")


VARIANTS: dict[str, Callable[[TransformerSpec], TransformerSpec]] = {
    "none": lambda s: s,
    "pre_ln": lambda s: replace(s, ln="pre"),
    "post_ln": lambda s: replace(s, ln="post"),
    "warmup": lambda s: replace(s, warmup_steps=max(1, s.steps // 4)),
    "no_warmup": lambda s: replace(s, warmup_steps=0),
    "clip": lambda s: replace(s, clip_norm=1.0),
}

__all__ = ["LN_PLACES", "TOKEN_TASKS", "TransformerSpec", "VARIANTS", "from_dict", "to_dict"]
