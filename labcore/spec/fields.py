"""The MLP spec's settings by flat name, declared once: where each lives in a RunSpec, its kind
(how text becomes a value), its choices, and whether the CLI offers it as a flag.

Everything that changes a spec field by field derives from :data:`FIELDS`: :func:`labcore.spec.edit.override`
(the notebook API), the ``run`` flags of the CLI (:mod:`labcore.cli.run`) and the Lab's form
(``ui/form.py``, which adds the widget side: widget kind, label, layout). No torch, no streamlit.

A field's ``section`` says which part of the spec holds it: ``net`` (the depth), ``layer`` (every
hidden layer's :class:`~labcore.spec.mlp.LayerSpec`; a form shows the first layer's value),
``init`` (:class:`~labcore.spec.mlp.InitSpec`), ``data`` (:class:`~labcore.data.datasets.DataSpec`)
or ``train`` (:class:`~labcore.spec.mlp.TrainSpec`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from labcore.data.datasets import DATASETS
from labcore.spec.choices import ACTIVATIONS, DEVICES, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.mlp import MAX_DEPTH, MAX_WIDTH, RunSpec

SECTIONS = ("net", "layer", "init", "data", "train")


def parse_float(value: Any) -> Any:
    """A float from a number or its text: ``"3e-3"``, ``"0,001"`` (French decimal comma).

    Raises ValueError/TypeError on text that is no number; other values are the spec's to refuse.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return float(str(value).strip().replace(",", "."))


def parse_int(value: Any) -> Any:
    """An int from an int, a whole float (a table cell) or its text; other values are the spec's to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    return value


def parse_choice(value: Any) -> Any:
    """A choice key as it is (the spec checks it against the choices)."""
    return value


_PARSE = {"int": parse_int, "float": parse_float, "choice": parse_choice}


@dataclass(frozen=True)
class Field:
    """One setting of an MLP run."""

    name: str  # flat name: override(spec, name=...), the CLI's --name (with - for _), the Lab's control
    section: str  # one of SECTIONS
    attr: str  # the attribute in that section
    kind: str  # "int" | "float" | "choice"
    doc: str  # one line for --help
    choices: tuple[str, ...] = ()  # allowed keys of a "choice" field
    lo: float | None = None  # widget bounds, where a widget needs them (the spec validates anyway)
    hi: float | None = None
    cli: bool = True  # a flag of ``python -m labcore run``

    @property
    def path(self) -> str:
        """Where the field lives in a RunSpec (``net.layers[*].width`` for layer fields)."""
        return {"net": "net.", "layer": "net.layers[*].", "init": "net.init.", "data": "train.data.",
                "train": "train."}[self.section] + self.attr

    @property
    def error_field(self) -> str:
        """The ``field`` of the SpecError its check raises (``width``, ``init.gain``, ``train.lr``...)."""
        return self.attr if self.section == "layer" else f"{self.section}.{self.attr}"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, value: Any) -> Any:
        """Text or a widget's number -> the spec's value; ValueError/TypeError on text that is no number."""
        return _PARSE[self.kind](value)

    def get(self, spec: RunSpec) -> Any:
        """This field's value in ``spec`` (the first hidden layer's, for a layer field)."""
        if self.section == "net":
            return spec.net.depth
        holder = {"layer": spec.net.layers[0], "init": spec.net.init, "data": spec.train.data,
                  "train": spec.train}[self.section]
        return getattr(holder, self.attr)


FIELDS: tuple[Field, ...] = (
    Field("depth", "net", "depth", "int", "hidden layers", lo=1, hi=MAX_DEPTH),
    Field("width", "layer", "width", "int", "units per hidden layer", lo=1, hi=MAX_WIDTH),
    Field("activation", "layer", "activation", "choice", "activation of every hidden layer", tuple(ACTIVATIONS)),
    Field("norm", "layer", "norm", "choice", "normalisation before the activation", tuple(NORMS)),
    Field("skip", "layer", "skip", "choice", "skip connection around every hidden layer", tuple(SKIPS)),
    Field("dropout", "layer", "dropout", "float", "drop probability after the activation"),
    Field("init", "init", "scheme", "choice", "weight initialisation", tuple(INITS)),
    Field("gain", "init", "gain", "float", "multiplies the init's standard deviation"),
    Field("sigma", "init", "sigma", "float", "std of the 'normal' init", cli=False),
    Field("dataset", "data", "name", "choice", "data set", tuple(DATASETS)),
    Field("n_samples", "data", "n_samples", "int", "points of a synthetic 2-D set", cli=False),
    Field("noise", "data", "noise", "float", "noise of a synthetic 2-D set", cli=False),
    Field("classes", "data", "classes", "int", "classes of spirals / gaussians", cli=False),
    Field("test_fraction", "data", "test_fraction", "float", "share held out for testing", cli=False),
    Field("optimizer", "train", "optimizer", "choice", "optimizer", tuple(OPTIMIZERS)),
    Field("lr", "train", "lr", "float", "learning rate"),
    Field("momentum", "train", "momentum", "float", "momentum of momentum / nesterov", cli=False),
    Field("weight_decay", "train", "weight_decay", "float", "L2 penalty"),
    Field("l1", "train", "l1", "float", "L1 penalty on the weights"),
    Field("batch_size", "train", "batch_size", "int", "examples per step"),
    Field("steps", "train", "steps", "int", "optimisation steps"),
    Field("clip_norm", "train", "clip_norm", "float", "clip the global gradient norm (0 = off)"),
    Field("seed", "train", "seed", "int", "seeds init, data and batches"),
    Field("device", "train", "device", "choice", "where to train", tuple(DEVICES)),
    Field("record_every", "train", "record_every", "int", "probe every N steps"),
    Field("flush_every", "train", "flush_every", "int", "copy metrics to the host every N steps", cli=False),
    Field("eval_every", "train", "eval_every", "int", "test-set loss/accuracy every N steps", cli=False),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
BY_ERROR: dict[str, Field] = {f.error_field: f for f in FIELDS}  # SpecError.field -> its field


def section(values: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The constructor arguments of section ``name`` found in ``values`` (flat names -> attributes)."""
    return {f.attr: values[f.name] for f in FIELDS if f.section == name and f.name in values}


def values_of(spec: RunSpec) -> dict[str, Any]:
    """Every field's value in ``spec`` by flat name (layer fields: the first hidden layer's)."""
    return {f.name: f.get(spec) for f in FIELDS}


__all__ = ["BY_ERROR", "BY_NAME", "FIELDS", "Field", "NAMES", "SECTIONS", "parse_choice", "parse_float",
           "parse_int", "section", "values_of"]
