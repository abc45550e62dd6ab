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

FAMILIES = ("rnn",)
# flag attribute -> spec field, for the recurrent family
_RNN = {"cell": "cell", "task": "task", "seq_len": "seq_len", "hidden": "hidden", "layers": "layers",
        "difficulty": "difficulty", "forget_bias": "forget_bias", "rnn_init": "init", "gain": "gain",
        "steps": "steps", "lr": "lr", "batch_size": "batch_size", "optimizer": "optimizer",
        "clip_norm": "clip_norm", "seed": "seed", "device": "device", "record_every": "record_every"}


def add_arguments(p) -> None:
    g = p.add_argument_group("sequence families (with --family)")
    g.add_argument("--family", choices=list(FAMILIES), help="train a recurrent net on a long-range task")
    g.add_argument("--cell", choices=list(CELLS), help="rnn (tanh), lstm or gru")
    g.add_argument("--task", choices=list(TASKS), help="adding, recall (first token) or parity (first bits)")
    g.add_argument("--seq-len", type=int, dest="seq_len", help="time steps T (10-500)")
    g.add_argument("--hidden", type=int, help="hidden units per recurrent layer")
    g.add_argument("--layers", type=int, help="stacked recurrent layers (1-3)")
    g.add_argument("--difficulty", type=int, help="the task's knob (markers, alphabet size, parity bits)")
    g.add_argument("--forget-bias", type=float, dest="forget_bias", help="LSTM forget-gate bias at init")
    g.add_argument("--rnn-init", choices=list(RECURRENT_INITS), dest="rnn_init", help="recurrent weight init")


def handles(spec) -> bool:
    return isinstance(spec, RecurrentSpec)


def _changes(args, table: dict) -> dict:
    return {field: getattr(args, flag) for flag, field in table.items() if getattr(args, flag, None) is not None}


def override(spec: RecurrentSpec, args) -> RecurrentSpec:
    """A recurrent spec (from a file or preset) with the flags given on the command line."""
    return RecurrentSpec(**{**spec.__dict__, **_changes(args, _RNN)})


def spec_from_args(args) -> RecurrentSpec:
    if args.family != "rnn":
        raise SpecError("--family", args.family, "one of " + ", ".join(FAMILIES))
    return override(RecurrentSpec(), args)


def check_unused(args) -> None:
    """A recurrent-only flag given without a recurrent spec is an error, not silently ignored."""
    for flag in ("cell", "task", "seq_len", "hidden", "layers", "difficulty", "forget_bias", "rnn_init"):
        if getattr(args, flag, None) is not None:
            raise SpecError("--" + flag.replace("_", "-"), getattr(args, flag), "used with --family rnn "
                            "(or a recurrent --spec/--preset)")
