"""Fuzz every way a spec gets in: "valid, or a SpecError naming a field", never anything else.

Entry points: a ``?spec=`` link code, JSON text, TOML text, the dict form (both families, through
the codec and each family's own ``from_dict``), ``override``, and the spec dataclasses' own
constructors. A *valid* spec must also pass its family's ``check`` (cross-field rules, size guard)
or be refused by it with a SpecError, and round-trip through the dict form.

Each test is seeded (``@example``) with the inputs that crashed the lab before issue 13: a 401-digit
gain in a link, a link code of 10**5 nested ``[``, 2,000-level dotted TOML headers, 5,000-digit
seeds, ``{"kind": "model"}``, BatchNorm at batch 1, Nesterov without momentum, ``{"net": {1: 2}}``...
CI runs about 1,200 examples in all; ``pytest --slow`` runs ten times more. The counts (tried,
accepted, refused, uncaught) are written to ``artifacts/fuzz-counts.json`` at the end.
"""
from __future__ import annotations

import base64
import collections
import json
import zlib
from dataclasses import fields
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import labcore  # noqa: F401  (registers the families)
from labcore.core.errors import SpecError
from labcore.core.family import family_of
from labcore.data.datasets import DATASETS, DataSpec
from labcore.spec import codec, mlp, model
from labcore.spec.choices import ACTIVATIONS, DEVICES, INITS, MODEL_NAMES, NORMS, OPTIMIZERS, SKIPS
from labcore.spec.edit import KNOWN, override
from labcore.spec.model import AUGMENTS, NORM_CHOICES, SHORTCUT_CHOICES, ModelRunSpec

ROOT = Path(__file__).resolve().parents[1]
COUNTS: collections.Counter = collections.Counter(tried=0, accepted=0, refused=0, uncaught=0)
SMALL_MODELS = [m for m in MODEL_NAMES if m in ("plain20", "resnet20", "resnet32", "vgg11", "alexnet")]


def _scale(request) -> int:
    return 10 if request.config.getoption("--slow") else 1


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "fuzz-counts.json").write_text(json.dumps(dict(COUNTS), indent=2))
    print("\nfuzz counts:", dict(COUNTS))


def settle(fn, *args, **kwargs) -> str:
    """Call an entry point; 'accepted' or 'refused' (a SpecError naming a field); anything else fails."""
    COUNTS["tried"] += 1
    COUNTS["tried via " + getattr(fn, "__name__", "?")] += 1
    try:
        try:
            spec = fn(*args, **kwargs)
        except SpecError as e:
            _named(e)
            COUNTS["refused"] += 1
            return "refused"
        fam = family_of(spec)
        try:
            fam.check(spec)
        except SpecError as e:
            _named(e)
            COUNTS["refused"] += 1
            COUNTS["refused_by_check"] += 1
            return "refused"
        assert codec.from_dict(codec.to_dict(spec)) == spec
        assert codec.from_url(codec.to_url(spec)) == spec
    except (AssertionError, SpecError):
        COUNTS["uncaught"] += 1
        raise
    except Exception:
        COUNTS["uncaught"] += 1
        raise
    COUNTS["accepted"] += 1
    return "accepted"


def _named(e: SpecError) -> None:
    assert isinstance(e.field, str) and e.field.strip(), f"a SpecError without a field: {e!r}"
    text, rep = str(e), repr(e)  # the message itself must render (10**5000, cyclic, deep values)
    assert e.field in text and len(text) < 2000 and rep


# ----------------------------------------------------------------------------- values
HUGE = st.one_of(st.sampled_from([64, 400, 5000]).map(lambda n: 10**n), st.sampled_from([64, 400]).map(lambda n: -10**n),
                 st.sampled_from([float("inf"), float("nan"), -0.0]))  # built by map: hypothesis cannot repr 10**5000
scalar = st.one_of(st.integers(-3, 70_000), st.integers(), HUGE, st.floats(), st.booleans(), st.none(),
                   st.text(max_size=8), st.sampled_from(["[x](http://evil.example)", "<b>b</b>", "inf", "1e999"]))
anything = st.recursive(scalar, lambda c: st.one_of(st.lists(c, max_size=3),
                                                    st.dictionaries(st.one_of(st.text(max_size=6), st.integers()),
                                                                    c, max_size=3)), max_leaves=8)


def field_value(good):
    """Mostly a good value for the field (so specs get deep into validation), sometimes anything."""
    return st.one_of(good, good, good, anything)


LAYER = {"width": st.integers(1, 48), "activation": st.sampled_from(list(ACTIVATIONS)),
         "norm": st.sampled_from(list(NORMS)), "skip": st.sampled_from(list(SKIPS)),
         "dropout": st.sampled_from([0.0, 0.1, 0.5, 0.95])}
INIT = {"scheme": st.sampled_from(list(INITS)), "gain": st.floats(1e-3, 100), "sigma": st.floats(1e-4, 10)}
DATA = {"name": st.sampled_from(list(DATASETS)), "n_samples": st.integers(50, 400), "noise": st.floats(0, 5),
        "classes": st.integers(2, 10), "test_fraction": st.floats(0.05, 0.9)}
TRAIN = {"optimizer": st.sampled_from(list(OPTIMIZERS)), "lr": st.floats(1e-5, 10), "momentum": st.sampled_from([0.0, 0.9]),
         "weight_decay": st.floats(0, 1), "l1": st.floats(0, 1), "batch_size": st.integers(1, 300),
         "steps": st.integers(1, 10_000), "clip_norm": st.floats(0, 10), "seed": st.integers(0, 2**31 - 1),
         "device": st.sampled_from(list(DEVICES)), "record_every": st.integers(1, 50),
         "flush_every": st.integers(1, 200), "eval_every": st.integers(1, 500)}
MODEL = {"model": st.sampled_from(SMALL_MODELS), "dataset": st.sampled_from(["digits", "mnist1d"]),
         "upsample": st.sampled_from([0, 16, 32]), "n_train": st.sampled_from([0, 1, 2, 64]), "epochs": st.integers(1, 5),
         "lr": st.floats(1e-4, 1), "milestones": st.sampled_from([[0.5, 0.75], [], [0.9], [0.75, 0.5]]),
         "lr_decay": st.floats(0.01, 1), "warmup_epochs": st.floats(0, 3), "momentum": st.floats(0, 0.999),
         "weight_decay": st.floats(0, 1), "batch_size": st.integers(1, 256), "init": st.sampled_from(list(INITS)),
         "gain": st.floats(0.1, 10), "norm": st.sampled_from(NORM_CHOICES), "shortcut": st.sampled_from(SHORTCUT_CHOICES),
         "zero_init_residual": st.booleans(), "augment": st.sampled_from(AUGMENTS), "channels_last": st.booleans(),
         "autocast": st.booleans(), "compile": st.booleans(), "seed": st.integers(0, 99),
         "device": st.sampled_from(list(DEVICES)), "record_every": st.integers(1, 20), "flush_every": st.integers(1, 100)}


def table(spec: dict, extra_keys: bool = True):
    opt = {k: field_value(v) for k, v in spec.items()}
    base = st.fixed_dictionaries({}, optional=opt)
    if not extra_keys:
        return base
    return st.one_of(base, base, base, st.builds(lambda d, k, v: {**d, k: v}, base, st.text(max_size=6), anything))


mlp_dict = st.fixed_dictionaries({}, optional={
    "net": table({"depth": st.integers(1, 12), "layer": table(LAYER), "init": table(INIT),
                  "layers": st.lists(table(LAYER, False), min_size=1, max_size=5)}),
    "train": st.builds(lambda t, d: {**t, **({"data": d} if d is not None else {})},
                       table(TRAIN), st.one_of(st.none(), table(DATA), anything)),
    "kind": st.sampled_from(["mlp", "model", "rnn", ""]),
    "events": st.one_of(anything, st.lists(st.fixed_dictionaries(
        {"step": field_value(st.integers(0, 600)),
         "set": st.one_of(anything, table({"lr": TRAIN["lr"], "momentum": st.sampled_from([0.0, 0.9]),
                                           "optimizer": TRAIN["optimizer"], "norm": LAYER["norm"],
                                           "skip": LAYER["skip"], "activation": LAYER["activation"],
                                           "dropout": LAYER["dropout"], "frozen": st.booleans()}))},
        optional={"layers": st.one_of(anything, st.lists(st.integers(-1, 6), max_size=3))}), max_size=3))})
model_dict = st.builds(lambda d: {"kind": "model", **d}, table(MODEL))
spec_dict = st.one_of(mlp_dict, model_dict, anything)

# The issue's failing inputs, as they were reported.
EVAL_CASE = {"net": {"depth": 1, "layer": {"width": 16384}},
             "train": {"batch_size": 1, "steps": 2, "eval_every": 1, "data": {"n_samples": 200000, "test_fraction": 0.9}}}
GAIN_401 = {"net": {"init": {"gain": 10**400}}}
BN_BATCH_1 = {"net": {"layer": {"norm": "batchnorm"}}, "train": {"batch_size": 1}}
NESTEROV_0 = {"train": {"optimizer": "nesterov", "momentum": 0.0}}
BN_LATER_AT_BATCH_1 = {"train": {"batch_size": 1}, "events": [{"step": 5, "set": {"norm": "batchnorm"}}]}


def url_of(raw: bytes) -> str:
    return codec.URL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def _json_text(d) -> str:
    try:
        return json.dumps(d, default=str)
    except ValueError:  # an integer past Python's 4,300-digit str() limit: write one by hand
        return '{"train": {"seed": ' + "7" * 5000 + "}}"


def _toml_or_text(d):
    try:
        return tomli_w.dumps(d)
    except Exception:  # tomli_w refuses None, non-text keys...: feed the JSON text instead
        return _json_text(d)



DEEP_URL = url_of(b"[" * 100_000)  # 10**5 nested '[' in a code of a few hundred characters
GAIN_URL = url_of(json.dumps(GAIN_401).encode())
DOTTED_TOML = "[" + ".".join(["a"] * 2000) + "]\nx = 1\n"
SEED_TOML = "[train]\nseed = " + "7" * 5000 + "\n"
GAIN_TOML = "[net.init]\ngain = " + "9" * 400 + "\n"


# ----------------------------------------------------------------------------- the seeds, named
@pytest.mark.parametrize("call, field", [
    (lambda: codec.from_url(GAIN_URL), "net.init.gain"),
    (lambda: codec.from_url(DEEP_URL), "url"),
    (lambda: codec.from_url("[CLICK HERE](http://evil.example)"), "url"),
    (lambda: codec.from_json("[" * 100_000), "spec"),
    (lambda: codec.from_json('{"x":' * 5000 + "1" + "}" * 5000), "spec"),
    (lambda: codec.from_toml(DOTTED_TOML), "spec"),
    (lambda: codec.from_toml("x = " + "[" * 5000 + "]" * 5000), "spec"),
    (lambda: codec.from_toml(SEED_TOML), "spec"),
    (lambda: codec.from_toml(GAIN_TOML), "net.init.gain"),
    (lambda: codec.from_json('{"train": {"seed": ' + "7" * 5000 + "}}"), "train.seed"),
    (lambda: codec.from_json('{"kind": "model", "epochs": ' + "9" * 400 + "}"), "epochs"),
    (lambda: mlp.LayerSpec(width=10**5000), "width"),
    (lambda: mlp.InitSpec(gain=10**400), "init.gain"),
    (lambda: override(mlp.RunSpec(), record_every="inf"), "train.record_every"),
    (lambda: codec.from_dict({"net": {1: 2}}), "net"),
    (lambda: mlp.from_dict({"net": {1: 2}}), "net"),
    (lambda: codec.from_dict(BN_BATCH_1), "train.batch_size"),
    (lambda: codec.from_dict(NESTEROV_0), "train.momentum"),
    (lambda: codec.from_dict(BN_LATER_AT_BATCH_1), "train.batch_size"),
    (lambda: family_of(ModelRunSpec(batch_size=1)).check(ModelRunSpec(batch_size=1)), "batch_size"),
    (lambda: family_of(ModelRunSpec(n_train=1)).check(ModelRunSpec(n_train=1)), "n_train"),
])
def test_the_issues_inputs_are_refused_naming_the_field(call, field):
    with pytest.raises(SpecError) as e:
        call()
    assert e.value.field == field, e.value
    assert len(str(e.value)) < 400


def test_the_issues_evaluation_spec_is_valid_and_its_whole_run_is_bounded():
    from labcore.spec.size import estimate

    spec = codec.from_dict(EVAL_CASE)
    est = family_of(spec).check(spec)
    assert est.memory_bytes < 1 << 30  # evaluation runs in chunks: not the 11.8 GB of the whole test set
    assert codec.from_dict({"kind": "model"}) == ModelRunSpec()
    assert estimate(spec).memory_bytes == est.memory_bytes


# ----------------------------------------------------------------------------- the fuzzers
def _fuzz(n: int):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


@pytest.fixture
def scale(request):
    return _scale(request)


def test_fuzz_dicts(scale):
    @_fuzz(350 * scale)
    @given(spec_dict)
    @example(EVAL_CASE).via("issue 13")
    @example(GAIN_401).via("issue 13")
    @example(BN_BATCH_1).via("issue 13")
    @example(NESTEROV_0).via("issue 13")
    @example({"net": {1: 2}}).via("issue 13")
    @example({"kind": "model"}).via("issue 13")
    @example({"kind": []}).via("hostile kind")
    @example(BN_LATER_AT_BATCH_1).via("BatchNorm inserted by a live-surgery event at batch 1")
    def run(d):
        settle(codec.from_dict, d)
        if isinstance(d, dict) and d.get("kind") == "model":
            settle(model.from_dict, d)
        elif isinstance(d, dict) and "kind" not in d:
            settle(mlp.from_dict, d)

    run()


def test_fuzz_json_and_urls(scale):
    @_fuzz(250 * scale)
    @given(st.one_of(spec_dict.map(_json_text),
                     st.text(alphabet='[]{}":,0123456789.-eE ', max_size=60),
                     st.builds(lambda k, n: "[" * n + "]" * n if k else '{"a":' * n + "1" + "}" * n,
                               st.booleans(), st.integers(0, 3000))))
    @example("[" * 100_000).via("issue 13")
    @example('{"train":{"seed":' + "7" * 5000 + "}}").via("issue 13")
    @example(json.dumps(GAIN_401)).via("issue 13")
    @example('{"kind":"model"}').via("issue 13")
    @example('"' + "\\" * 200_000).via("an unterminated string of escapes")
    def run(text):
        settle(codec.from_json, text)
        settle(codec.from_json, text.encode())
        settle(codec.from_url, url_of(text.encode()))

    run()


def test_fuzz_toml(scale):
    key = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=3)
    dotted = st.builds(lambda parts, head, v: ("[" + ".".join(parts) + "]\nx = " if head else ".".join(parts) + " = ") + v,
                       st.lists(key, min_size=1, max_size=40), st.booleans(),
                       st.sampled_from(["1", "9" * 500, "[[[[1]]]]", "{a={b={c=1}}}", "'x'", "nan", "1e999"]))
    @_fuzz(200 * scale)
    @given(st.one_of(st.dictionaries(st.text(max_size=6), anything, max_size=3).map(_toml_or_text),
                     mlp_dict.filter(lambda d: isinstance(d, dict)).map(_toml_or_text),
                     model_dict.map(_toml_or_text), dotted))
    @example(DOTTED_TOML).via("issue 13")
    @example(SEED_TOML).via("issue 13")
    @example(GAIN_TOML).via("issue 13")
    @example('kind = "model"\n').via("issue 13")
    @example(" " * 200_000).via("the first key-depth scan backtracked quadratically on this (minutes)")
    @example("a" + " \t" * 100_000 + "b").via("quadratic backtracking")
    @example('"""' + "a" * 200_000).via("an unterminated multi-line string")
    @example("a" + ".a" * 100_000 + " = 1").via("a 100,000-level dotted key")
    def run(text):
        settle(codec.from_toml, text)

    run()


def test_fuzz_override(scale):
    good = {"depth": st.integers(1, 12), **{k: v for k, v in LAYER.items()}, "init": INIT["scheme"],
            "gain": INIT["gain"], "sigma": INIT["sigma"], "dataset": DATA["name"], "n_samples": DATA["n_samples"],
            "noise": DATA["noise"], "classes": DATA["classes"], "test_fraction": DATA["test_fraction"], **TRAIN}
    assert set(good) == set(KNOWN)

    @_fuzz(200 * scale)
    @given(st.one_of(table(good), st.dictionaries(st.text(max_size=5), anything, max_size=2)))
    @example({"record_every": "inf"}).via("issue 13")
    @example({"norm": "batchnorm", "batch_size": 1}).via("issue 13")
    @example({"optimizer": "nesterov", "momentum": 0}).via("issue 13")
    @example({"width": 10**5000}).via("issue 13")
    def run(changes):
        def override_default():
            return override(mlp.RunSpec(), **changes)
        settle(override_default)

    run()


CONSTRUCTORS = {mlp.LayerSpec: LAYER, mlp.InitSpec: INIT, DataSpec: DATA,
                mlp.TrainSpec: {**TRAIN, "data": st.builds(DataSpec)},
                mlp.NetSpec: {"layers": st.lists(st.builds(mlp.LayerSpec), min_size=1, max_size=3),
                              "init": st.builds(mlp.InitSpec)},
                mlp.RunSpec: {"net": st.builds(mlp.NetSpec), "train": st.builds(mlp.TrainSpec)},
                ModelRunSpec: MODEL}


def test_fuzz_constructors(scale):
    @_fuzz(250 * scale)
    @given(st.sampled_from(list(CONSTRUCTORS)).flatmap(
        lambda cls: st.tuples(st.just(cls), table(CONSTRUCTORS[cls], extra_keys=False))))
    @example((mlp.LayerSpec, {"width": 10**5000})).via("issue 13")
    @example((mlp.InitSpec, {"gain": 10**400})).via("issue 13")
    @example((ModelRunSpec, {"milestones": (10**400,)})).via("huge milestone")
    def run(case):
        cls, kwargs = case
        assert set(kwargs) <= {f.name for f in fields(cls)}
        if cls in (mlp.RunSpec, ModelRunSpec):
            settle(cls, **kwargs)
            return
        COUNTS["tried"] += 1
        COUNTS["tried via " + cls.__name__] += 1
        try:  # a part of a spec: valid or a SpecError naming the field (no family check applies)
            cls(**kwargs)
            COUNTS["accepted"] += 1
        except SpecError as e:
            _named(e)
            COUNTS["refused"] += 1
        except Exception:
            COUNTS["uncaught"] += 1
            raise

    run()


def test_zz_counts_cover_every_entry_point():
    """Runs last in this file: the suite tried enough inputs, accepted some, and nothing escaped."""
    if COUNTS["tried"] == 0:
        pytest.skip("run with the fuzz tests above (selected alone, there is nothing to count)")
    assert COUNTS["uncaught"] == 0
    assert COUNTS["tried"] >= 1000 and COUNTS["accepted"] >= 100 and COUNTS["refused"] >= 100, dict(COUNTS)
