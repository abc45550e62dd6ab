"""The Lab form, the CLI flags and override() all come from one field table (labcore.spec.fields)."""
from __future__ import annotations

import dataclasses

import pytest

from labcore.cli import build_parser
from labcore.cli.run import OVERRIDES
from labcore.presets import list_presets
from labcore.spec.edit import KNOWN, override
from labcore.spec.fields import BY_NAME, FIELDS, values_of
from labcore.spec.mlp import DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, TrainSpec
from ui import form
from ui.keys import Keys


def test_every_spec_attribute_is_one_field():
    expected = ({("layer", f.name) for f in dataclasses.fields(LayerSpec)}
                | {("init", f.name) for f in dataclasses.fields(InitSpec)}
                | {("data", f.name) for f in dataclasses.fields(DataSpec)}
                | {("train", f.name) for f in dataclasses.fields(TrainSpec) if f.name != "data"}
                | {("net", "depth")})
    assert {(f.section, f.attr) for f in FIELDS} == expected
    assert KNOWN == tuple(f.name for f in FIELDS)


def _values(spec: RunSpec) -> dict:
    return {**form.spec_to_controls(spec), Keys.SEED: spec.train.seed, Keys.DEVICE: spec.train.device}


@pytest.mark.parametrize("preset", [p.name for p in list_presets()])
def test_presets_go_through_the_form_unchanged(preset):
    spec = next(p.spec for p in list_presets() if p.name == preset)
    back, errors = form.controls_to_spec(_values(spec))
    assert errors == {} and back == spec


def test_per_layer_differences_become_overrides_and_come_back():
    layers = (LayerSpec(16, "tanh"), LayerSpec(32, "relu", "layernorm"), LayerSpec(16, "tanh", skip="residual"))
    spec = RunSpec(NetSpec(layers, InitSpec("he_normal", 1.5)), TrainSpec(DataSpec("moons", noise=0.3), lr=0.02,
                                                                          device="cpu", seed=3))
    values = _values(spec)
    assert values[Keys.OVERRIDES] == {1: {"width": 32, "activation": "relu", "norm": "layernorm"},
                                      2: {"skip": "residual"}}
    assert values[Keys.control("lr")] == "0.02" and values[Keys.control("noise")] == 0.3
    assert form.controls_to_spec(values) == (spec, {})


@pytest.mark.parametrize("slot,value,field", [
    ("width", 0, "width"), ("gain", 0.0, "init.gain"), ("samples", 10, "data.n_samples"),
    ("wd", 2.0, "train.weight_decay"), ("lr", "fast", "train.lr"), ("momentum", None, "train.momentum"),
    ("record", 500, "train.flush_every"),  # record > flush: the spec names flush_every
])
def test_each_error_lands_under_the_control_of_its_field(slot, value, field):
    values = _values(RunSpec(train=TrainSpec(device="cpu")))
    values[form.BY_SLOT[slot].key] = value
    spec, errors = form.controls_to_spec(values)
    assert spec is None
    (where, err), = errors.items()
    assert where == form.SLOT[field] and err.field == field


def test_french_decimal_comma_and_text_numbers():
    values = _values(RunSpec(train=TrainSpec(device="cpu")))
    values[Keys.control("lr")] = "0,005"
    spec, errors = form.controls_to_spec(values)
    assert errors == {} and spec.train.lr == 0.005


def test_table_reducers():
    over = {0: {"width": 8}, 2: {"width": 9, "activation": "tanh"}, 5: {"skip": "dense"}}
    assert form.without_column(over, "width") == {2: {"activation": "tanh"}, 5: {"skip": "dense"}}
    assert form.within_depth(over, 3) == {0: {"width": 8}, 2: {"width": 9, "activation": "tanh"}}
    assert form.within_depth(over, None) == over
    base = {"width": 16, "activation": "relu", "norm": "none", "skip": "none"}
    edits = {"0": {"width": 16.0}, "1": {"width": 24.0, "layer": "x"}, "2": {"activation": None}}
    assert form.with_edits(over, edits, base) == {1: {"width": 24}, 2: {"width": 9}, 5: {"skip": "dense"}}
    assert form.LAYER_COLS == ("width", "activation", "norm", "skip")


def test_cli_flags_come_from_the_table():
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]
    flags = {s for a in run._actions for s in a.option_strings}
    assert {f.flag for f in OVERRIDES} <= flags
    assert {f.flag for f in FIELDS if not f.cli}.isdisjoint(flags)
    args = parser.parse_args(["run", "--batch-size", "8", "--weight-decay", "0.01", "--norm", "layernorm"])
    assert (args.batch_size, args.weight_decay, args.norm) == (8, 0.01, "layernorm")


def test_override_and_values_of_agree():
    spec = override(RunSpec(), **{"depth": 3, "width": 8, "gain": 2.0, "noise": 0.4, "clip_norm": 1.0, "seed": 5})
    v = values_of(spec)
    assert (v["depth"], v["width"], v["gain"], v["noise"], v["clip_norm"], v["seed"]) == (3, 8, 2.0, 0.4, 1.0, 5)
    assert BY_NAME["noise"].path == "train.data.noise" and BY_NAME["width"].path == "net.layers[*].width"
