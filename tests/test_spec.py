"""Spec validation, codecs and the size guard."""
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labcore.spec.codec import from_dict, from_json, from_toml, from_url, load_spec_file, to_dict, to_json, to_toml, to_url
from labcore.spec.edit import override
from labcore.data.datasets import DATASETS
from labcore.nets import build_mlp
from labcore.presets import list_presets, load_preset
from labcore.spec.choices import ACTIVATIONS, INITS, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.size import SizeBudget, SizeError, check_size, estimate
from labcore.spec.mlp import DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError, TrainSpec


@pytest.mark.parametrize("make, field", [
    (lambda: LayerSpec(width=0), "width"),
    (lambda: LayerSpec(width=10**9), "width"),
    (lambda: LayerSpec(activation="swish"), "activation"),
    (lambda: LayerSpec(dropout=1.0), "dropout"),
    (lambda: LayerSpec(width=True), "width"),
    (lambda: InitSpec(gain=float("nan")), "init.gain"),
    (lambda: InitSpec(scheme="kaiming"), "init.scheme"),
    (lambda: NetSpec.uniform(0, 8), "net.depth"),
    (lambda: TrainSpec(lr=float("nan")), "train.lr"),
    (lambda: TrainSpec(lr=0), "train.lr"),
    (lambda: TrainSpec(lr=float("inf")), "train.lr"),
    (lambda: TrainSpec(batch_size=0), "train.batch_size"),
    (lambda: TrainSpec(steps="100"), "train.steps"),
    (lambda: TrainSpec(device="tpu"), "train.device"),
    (lambda: TrainSpec(record_every=10, flush_every=5), "train.flush_every"),
    (lambda: DataSpec(name="imagenet"), "data.name"),
])
def test_bad_values_name_the_field_the_value_and_what_is_allowed(make, field):
    with pytest.raises(SpecError) as e:
        make()
    assert e.value.field == field
    msg = str(e.value)
    assert field in msg and "not allowed" in msg and e.value.allowed in msg


def test_nested_errors_carry_the_path():
    with pytest.raises(SpecError) as e:
        from_dict({"net": {"layers": [{"width": 4}, {"width": -1}]}})
    assert e.value.field == "net.layers[1].width"
    with pytest.raises(SpecError) as e:
        from_dict({"train": {"data": {"noise": -1}}})
    assert e.value.field == "train.data.noise"
    with pytest.raises(SpecError) as e:
        from_dict({"train": {"learning_rate": 0.1}})
    assert e.value.field == "train.learning_rate" and "known field" in e.value.allowed


@pytest.mark.parametrize("preset", [p.name for p in list_presets()])
def test_round_trips(preset):
    spec = load_preset(preset).spec
    assert from_json(to_json(spec)) == spec
    assert from_toml(to_toml(spec)) == spec
    assert from_url(to_url(spec)) == spec
    assert from_dict(json.loads(json.dumps(to_dict(spec, drop_defaults=True)))) == spec


def test_non_uniform_stack_round_trips_and_url_is_compact():
    spec = RunSpec(NetSpec((LayerSpec(8, "relu"), LayerSpec(16, "tanh", "layernorm", "residual", 0.1)),
                           InitSpec("orthogonal", 0.5)), TrainSpec(optimizer="rmsprop", lr=0.02, seed=7))
    assert from_url(to_url(spec)) == spec and from_toml(to_toml(spec)) == spec
    deep = RunSpec(NetSpec.uniform(1000, 64, "sigmoid"))
    assert len(to_url(deep)) < 120  # a 1000-layer uniform stack still fits in a short link


@pytest.mark.parametrize("text, reader", [
    ("{not json", from_json), ("net = [", from_toml), ("g1.!!!!", from_url), ("zzz", from_url),
    ('{"net": 3}', from_json), ("[1, 2]", from_json), ("x" * 300_000, from_json),
])
def test_malformed_text_is_a_spec_error(text, reader):
    with pytest.raises(SpecError):
        reader(text)


def test_spec_files(tmp_path):
    spec = load_preset("residual").spec
    (tmp_path / "a.toml").write_text(to_toml(spec))
    (tmp_path / "a.json").write_text(to_json(spec))
    (tmp_path / "a.pkl").write_bytes(b"\x80\x04")
    assert load_spec_file(tmp_path / "a.toml") == spec == load_spec_file(tmp_path / "a.json")
    for bad in ("a.pkl", "missing.json"):
        with pytest.raises(SpecError):
            load_spec_file(tmp_path / bad)


def test_size_guard_names_budget_and_estimate():
    spec = override(RunSpec(), depth=200, width=16000)
    with pytest.raises(SizeError) as e:
        check_size(spec)
    msg = str(e.value)
    assert "20,000,000" in msg and f"{estimate(spec).params:,}" in msg
    with pytest.raises(SizeError, match="MiB"):
        check_size(override(RunSpec(), batch_size=65536, width=4096, depth=8), SizeBudget(10**9, 2**30))
    assert check_size(RunSpec()).params > 0


def test_size_estimate_matches_the_built_model():
    for net in [NetSpec.uniform(5, 32, "relu", norm="batchnorm"), NetSpec.uniform(4, 8, skip="dense"),
                NetSpec((LayerSpec(8), LayerSpec(16, skip="residual"), LayerSpec(4, norm="layernorm")))]:
        spec = RunSpec(net)
        model = build_mlp(net, 2, 2)
        assert estimate(spec).params == sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ property-based
_value = st.one_of(st.integers(-5, 3000), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.text(max_size=6), st.sampled_from(list(ACTIVATIONS) + list(NORMS) + list(SKIPS)
                                                       + list(INITS) + list(OPTIMIZERS)), st.none())
_layer = st.dictionaries(st.sampled_from(["width", "activation", "norm", "skip", "dropout", "bogus"]), _value, max_size=4)
_net = st.fixed_dictionaries({}, optional={
    "depth": st.one_of(st.integers(-2, 6), _value), "layer": _layer,
    "layers": st.lists(_layer, max_size=4),
    "init": st.dictionaries(st.sampled_from(["scheme", "gain", "sigma"]), _value, max_size=3)})
_train = st.dictionaries(st.sampled_from(["optimizer", "lr", "momentum", "batch_size", "steps", "seed", "device",
                                          "clip_norm", "record_every", "flush_every", "data"]),
                         st.one_of(_value, st.dictionaries(st.sampled_from(["name", "noise", "n_samples"]), _value)),
                         max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={"net": _net, "train": _train}))
def test_random_specs_build_or_raise_spec_error(d):
    try:
        spec = from_dict(d)
    except SpecError:
        return
    assert from_dict(to_dict(spec)) == spec
    try:
        est = check_size(spec)
    except SpecError:
        return
    if est.params < 2_000_000:  # build it: the guard's estimate is the real parameter count
        info = DATASETS[spec.train.data.name]
        model = build_mlp(spec.net, info.in_dim(spec.train.data), info.n_classes(spec.train.data))
        assert sum(p.numel() for p in model.parameters()) == est.params
