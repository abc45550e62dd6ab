"""The sequence families' presets: each claim holds on seeds 0-4 (design.md §8)."""
import pytest

import labcore.families  # noqa: F401
from labcore.core.family import family_of
from labcore.core.metrics import through_time_ratio
from labcore.presets import list_presets
from labcore.spec.recurrent import VARIANTS

SEEDS = range(5)
RNN_PRESETS = [p for p in list_presets("rnn") if p.claim]


def _ratio_at_init(spec) -> float:
    trainer = family_of(spec).make_trainer(spec.with_changes(device="cpu"))
    return through_time_ratio(trainer.steps(1).metric("grad_norm"))


def test_there_is_a_recurrent_preset_with_a_claim():
    assert [p.name for p in RNN_PRESETS] == ["rnn-vs-lstm"]


@pytest.mark.parametrize("preset", RNN_PRESETS, ids=lambda p: p.name)
def test_through_time_claim_holds_on_five_seeds(preset):
    claim = preset.claim
    assert claim["at"] == "init"
    broken, fixed = [], []
    for seed in SEEDS:
        a = preset.spec.with_changes(seed=seed)
        broken.append(_ratio_at_init(a))
        fixed.append(_ratio_at_init(VARIANTS[claim["twin"]](a)))
    assert max(broken) < claim["broken_max_ratio"], broken
    assert min(fixed) > claim["fixed_min_ratio"], fixed


def test_the_claim_can_fail():
    """The same check on a spec where the LSTM's forget gate starts closed (bias -3): no longer holds."""
    preset = RNN_PRESETS[0]
    lstm = VARIANTS["lstm"](preset.spec.with_changes(forget_bias=-3.0, seed=0))
    assert _ratio_at_init(lstm) < preset.claim["fixed_min_ratio"]


TRANSFORMER_PRESETS = [p for p in list_presets("transformer") if p.claim.get("at") == "init"]
LEARNING_PRESETS = [p for p in list_presets(None) if p.claim.get("at") == "end" and p.spec.__class__.__name__ != "RunSpec"]


def _last_first_at_init(spec) -> float:
    from labcore.train.transformer import last_first_ratio

    trainer = family_of(spec).make_trainer(spec.with_changes(device="cpu", eval_every=10**6))
    return last_first_ratio(trainer.steps(1))


@pytest.mark.parametrize("preset", TRANSFORMER_PRESETS, ids=lambda p: p.name)
def test_post_ln_vs_pre_ln_claim_holds_on_five_seeds(preset):
    from labcore.spec.transformer import VARIANTS as T_VARIANTS

    claim = preset.claim
    assert claim["at"] == "init" and preset.spec.ln == "post" and preset.spec.warmup_steps == 0
    post, pre = [], []
    for seed in SEEDS:
        a = preset.spec.with_changes(seed=seed)
        post.append(_last_first_at_init(a))
        pre.append(_last_first_at_init(T_VARIANTS[claim["twin"]](a)))
    assert min(post) > claim["broken_min_last_first"], post
    assert max(pre) < claim["fixed_max_last_first"], pre


def _final_acc(spec) -> float:
    trainer = family_of(spec).make_trainer(spec.with_changes(device="cpu"))
    trainer.steps()
    return trainer.test_acc


def _within(bounds: dict, accs: list[float]) -> bool:
    assert bounds and set(bounds) <= {"each_at_least", "each_at_most"}, bounds
    return min(accs) >= bounds.get("each_at_least", -1) and max(accs) <= bounds.get("each_at_most", 2)


def test_there_is_a_learning_claim_for_post_ln_without_warmup():
    names = [p.name for p in LEARNING_PRESETS]
    assert "post-ln-large-lr" in names, names
    p = next(p for p in LEARNING_PRESETS if p.name == "post-ln-large-lr")
    assert p.spec.ln == "post" and p.spec.warmup_steps == 0 and set(p.claim["twins"]) == {"pre_ln", "warmup"}


@pytest.mark.slow
@pytest.mark.parametrize("preset", LEARNING_PRESETS, ids=lambda p: p.name)
def test_learning_claim_holds_on_five_seeds(preset):
    """A preset whose claim is about learning: A's final test accuracy and each twin's, on seeds 0-4."""
    variants = VARIANTS if preset.spec.__class__.__name__ == "RecurrentSpec" else _transformer_variants()
    claim = preset.claim
    accs = [_final_acc(preset.spec.with_changes(seed=s)) for s in SEEDS]
    assert _within(claim["test_acc"], accs), ("A", accs, claim["test_acc"])
    for name, bounds in claim.get("twins", {}).items():
        twin = [_final_acc(variants[name](preset.spec.with_changes(seed=s))) for s in SEEDS]
        assert _within(bounds, twin), (name, twin, bounds)


def _transformer_variants():
    from labcore.spec.transformer import VARIANTS as T_VARIANTS

    return T_VARIANTS


def test_a_learning_check_can_fail():
    """With a 50-step warm-up Post-LN learns some (~0.3): the 'stays at chance' bound no longer holds (seed 0)."""
    p = next(p for p in LEARNING_PRESETS if p.name == "post-ln-large-lr")
    assert not _within(p.claim["test_acc"], [_final_acc(p.spec.with_changes(seed=0, warmup_steps=50))])
