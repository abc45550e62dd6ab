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


TRANSFORMER_PRESETS = [p for p in list_presets("transformer") if p.claim]


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
