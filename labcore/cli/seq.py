"""``python -m labcore run --family rnn ...``: the flags of the sequence families.

``--family rnn --cell lstm --task adding --seq-len 100`` builds a recurrent spec; the ``run``
options ``--steps --lr --batch-size --optimizer --clip-norm --seed --device --record-every --json
--name --quiet`` are reused. A spec file or preset of this family (``--spec``, ``--preset``) takes
the same flags as overrides.

The ``--json`` document has the keys of every run (``status``, ``loss``, ``grad_norm``, ...) plus,
from :meth:`RecurrentTrainer.result_extras`: ``grad_through_time`` (recorded steps × T, the
‖∂L/∂h_t‖ profile), ``grad_through_time_steps``, ``time_steps``, ``accuracy`` (final test
accuracy) and ``through_time_ratio`` (median ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖).
"""
from __future__ import annotations

from labcore.core.errors import SpecError
from labcore.spec.recurrent import CELLS, RECURRENT_INITS, TASKS, RecurrentSpec
from labcore.spec.transformer import LN_PLACES, TOKEN_TASKS, TransformerSpec

FAMILIES = ("rnn", "transformer")
# flag attribute -> spec field, for the recurrent family
_RNN = {"cell": "cell", "task": "task", "seq_len": "seq_len", "hidden": "hidden", "layers": "layers",
        "difficulty": "difficulty", "forget_bias": "forget_bias", "rnn_init": "init", "gain": "gain",
        "steps": "steps", "lr": "lr", "batch_size": "batch_size", "optimizer": "optimizer",
        "clip_norm": "clip_norm", "seed": "seed", "device": "device", "record_every": "record_every"}
# ... and for the transformer family
_TRANSFORMER = {"ln": "ln", "task": "task", "seq_len": "seq_len", "layers": "layers", "d_model": "d_model",
                "heads": "heads", "vocab": "vocab", "warmup_steps": "warmup_steps", "steps": "steps", "lr": "lr",
                "batch_size": "batch_size", "clip_norm": "clip_norm", "seed": "seed", "device": "device",
                "record_every": "record_every"}
_ONLY = {"rnn": ("cell", "hidden", "difficulty", "forget_bias", "rnn_init"),
         "transformer": ("ln", "d_model", "heads", "vocab", "warmup_steps")}


def add_arguments(p) -> None:
    g = p.add_argument_group("sequence families (with --family)")
    g.add_argument("--family", choices=list(FAMILIES),
                   help="rnn: a recurrent net on a long-range task; transformer: a Post-/Pre-LN encoder on tokens")
    g.add_argument("--cell", choices=list(CELLS), help="rnn (tanh), lstm or gru")
    g.add_argument("--task", choices=list(TASKS) + list(TOKEN_TASKS),
                   help="rnn: adding, recall (first token), parity (first bits); transformer: sort, reverse")
    g.add_argument("--seq-len", type=int, dest="seq_len", help="time steps T (rnn 10-500) or tokens (transformer)")
    g.add_argument("--hidden", type=int, help="hidden units per recurrent layer")
    g.add_argument("--layers", type=int, help="stacked recurrent layers (1-3) or transformer blocks (2-24)")
    g.add_argument("--difficulty", type=int, help="the task's knob (markers, alphabet size, parity bits)")
    g.add_argument("--forget-bias", type=float, dest="forget_bias", help="LSTM forget-gate bias at init")
    g.add_argument("--rnn-init", choices=list(RECURRENT_INITS), dest="rnn_init", help="recurrent weight init")
    g.add_argument("--ln", choices=list(LN_PLACES), help="transformer: LayerNorm after (post) or before (pre)")
    g.add_argument("--d-model", type=int, dest="d_model", help="transformer: residual-stream width (32-256)")
    g.add_argument("--heads", type=int, help="transformer: attention heads")
    g.add_argument("--vocab", type=int, help="transformer: token values")
    g.add_argument("--warmup-steps", type=int, dest="warmup_steps", help="transformer: linear lr warm-up steps")


def handles(spec) -> bool:
    return isinstance(spec, (RecurrentSpec, TransformerSpec))


def _changes(args, table: dict) -> dict:
    return {field: getattr(args, flag) for flag, field in table.items() if getattr(args, flag, None) is not None}


def override(spec, args):
    """A sequence-family spec (from a file, a preset or the defaults) with the command line's flags."""
    family = "rnn" if isinstance(spec, RecurrentSpec) else "transformer"
    other = "transformer" if family == "rnn" else "rnn"
    for flag in _ONLY[other]:
        if getattr(args, flag, None) is not None:
            raise SpecError("--" + flag.replace("_", "-"), getattr(args, flag), f"used with --family {other}")
    table = _RNN if family == "rnn" else _TRANSFORMER
    return type(spec)(**{**spec.__dict__, **_changes(args, table)})


def spec_from_args(args):
    if args.family not in FAMILIES:
        raise SpecError("--family", args.family, "one of " + ", ".join(FAMILIES))
    return override(RecurrentSpec() if args.family == "rnn" else TransformerSpec(), args)


def check_unused(args) -> None:
    """A sequence-only flag given without a sequence spec is an error, not silently ignored."""
    for flag in ("cell", "task", "seq_len", "hidden", "layers", "difficulty", "forget_bias", "rnn_init",
                 *_ONLY["transformer"]):
        if getattr(args, flag, None) is not None:
            raise SpecError("--" + flag.replace("_", "-"), getattr(args, flag), "used with --family rnn or "
                            "transformer (or such a --spec/--preset)")
