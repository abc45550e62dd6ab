"""Live surgery through the API: one test per kind of change, bad changes leave the run untouched,
no host sync in a step after a structural change, the spec's [[events]] form and its errors."""
import copy

import pytest
import torch
from torch import nn

from labcore.nets.skips import NoSkip, Residual
from labcore.presets import load_preset
from labcore.spec import codec
from labcore.spec.edit import override
from labcore.spec.events import Change, SurgeryError
from labcore.spec.mlp import SpecError
from labcore.train.mlp import Trainer
from labcore.train.syncs import SyncCounter


def small(**kw):
    kw.setdefault("steps", 200)
    return override(load_preset("sigmoid-deep").spec, depth=5, width=16, batch_size=32, record_every=5,
                    flush_every=20, device="cpu", **kw)


def trained(steps=20, **kw) -> Trainer:
    tr = Trainer(small(**kw))
    tr.steps(steps)
    return tr


def snapshot(tr):
    """Everything a refused change must leave as it was."""
    return (copy.deepcopy(tr.model.state_dict()), [dict((k, v) for k, v in g.items() if k != "params")
                                                    for g in tr.opt.param_groups],
            tr.state, len(tr.events), [type(m) for m in tr.model.modules()], tr.opt)


def same(a, b) -> bool:
    sa, ga, st_a, na, ta, oa = a
    sb, gb, st_b, nb, tb, ob = b
    return (sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa) and ga == gb
            and st_a == st_b and na == nb and ta == tb and oa is ob)


def params_vector(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


# ----------------------------------------------------------------------------- optimiser settings
@pytest.mark.parametrize("key,value,optimizer", [("lr", 0.05, "adam"), ("weight_decay", 0.01, "adamw"),
                                                 ("momentum", 0.5, "momentum")])
def test_optimizer_settings_go_into_the_param_groups(key, value, optimizer):
    tr = trained(optimizer=optimizer)
    rec = tr.apply(Change.of(**{key: value}))
    assert all(g[key] == value for g in tr.opt.param_groups)
    assert getattr(tr.state.spec.train, key) == value
    assert rec["step"] == 20 and rec["changes"][0]["what"] == key and rec["changes"][0]["to"] == value
    assert rec["label"].startswith(f"{key}: ")
    tr.steps(10)
    assert tr.step == 30 and not tr.done


def test_clipping_on_with_a_threshold_then_off():
    tr = trained(optimizer="sgd", lr=0.5)
    tr.apply({"set": {"clip_norm": 1e-3}})
    before = params_vector(tr.model)
    tr.steps(1)
    moved = torch.linalg.vector_norm(params_vector(tr.model) - before).item()
    assert 0 < moved <= 0.5 * 1e-3 * 1.02  # SGD step = lr x clipped gradient (global norm <= 1e-3)
    tr.apply({"set": {"clip_norm": 0.0}})
    before = params_vector(tr.model)
    tr.steps(1)
    assert torch.linalg.vector_norm(params_vector(tr.model) - before).item() > 0.5 * 1e-3 * 1.5


def test_dropout_p_on_chosen_layers():
    tr = trained()
    tr.apply(Change.of(dropout=0.3, layers=[2, 4]))
    drops = [b.drop for b in tr.model.blocks]
    assert [isinstance(d, nn.Dropout) for d in drops] == [False, True, False, True, False]
    assert drops[1].p == 0.3
    tr.apply(Change.of(dropout=0.0, layers=[2]))
    assert isinstance(tr.model.blocks[1].drop, nn.Identity)
    tr.steps(10)


def test_optimizer_swap_resets_its_state_and_says_so():
    tr = trained(optimizer="adam")
    assert tr.opt.state  # Adam's moments exist
    rec = tr.apply(Change.of(optimizer="sgd", lr=0.1))
    assert isinstance(tr.opt, torch.optim.SGD) and not tr.opt.state
    assert "optimizer_reset" in rec["notes"]
    assert {d["what"] for d in rec["changes"]} == {"optimizer", "lr"}
    tr.steps(10)


def test_freeze_keeps_a_layer_still_and_unfreeze_lets_it_learn():
    tr = trained()
    tr.apply(Change.of(frozen=True, layers=[1, 3]))
    w1, w2 = tr.model.blocks[0].linear.weight.detach().clone(), tr.model.blocks[1].linear.weight.detach().clone()
    tr.steps(20)
    assert torch.equal(tr.model.blocks[0].linear.weight, w1)  # frozen: not one bit moved
    assert not torch.equal(tr.model.blocks[1].linear.weight, w2)
    assert tr.state.frozen == frozenset({1, 3})
    tr.apply(Change.of(frozen=False, layers=[1]))
    tr.steps(20)
    assert not torch.equal(tr.model.blocks[0].linear.weight, w1)


def test_add_then_remove_residual_skips_keeps_the_weights():
    tr = trained()
    weights = [b.linear.weight.detach().clone() for b in tr.model.blocks]
    state = dict(tr.opt.state)
    rec = tr.apply(Change.of(skip="residual"))
    assert all(isinstance(b.skip, Residual) for b in tr.model.blocks)
    assert tr.model.blocks[0].skip.proj is not None  # 2 inputs -> 16 units: a projection
    assert tr.model.blocks[1].skip.proj is None
    assert all(torch.equal(w, b.linear.weight) for w, b in zip(weights, tr.model.blocks))
    kept = [p for p in state if any(p is q for q in tr.model.parameters())]
    assert kept and all(tr.opt.state[p] is state[p] for p in kept)  # Adam's moments survive
    assert rec["label"] == "skip: none→residual"
    tr.steps(10)
    tr.apply(Change.of(skip="none", layers=[2, 3]))
    assert [type(b.skip) for b in tr.model.blocks] == [Residual, NoSkip, NoSkip, Residual, Residual]
    tr.steps(10)


@pytest.mark.parametrize("kind,tol", [("batchnorm", 1e-5), ("layernorm", 0.5)])
def test_insert_a_norm_close_to_identity_then_remove_it(kind, tol):
    tr = trained()
    x = tr.data.x_train[tr._last_idx]
    tr.model.eval()  # compare without dropout (none here) on the batch the norm was fitted on
    before = tr.model.blocks[2].linear(tr.model.blocks[1](tr.model.blocks[0](x))).detach()
    tr.model.train()
    rec = tr.apply(Change.of(norm=kind, layers=[3]))
    norm = tr.model.blocks[2].norm
    assert type(norm).__name__ == {"batchnorm": "BatchNorm1d", "layernorm": "LayerNorm"}[kind]
    assert 0 <= rec["identity_error"] < tol
    with torch.no_grad():
        err = (torch.linalg.vector_norm(norm(before) - before) / torch.linalg.vector_norm(before)).item()
    assert err == pytest.approx(rec["identity_error"], rel=1e-3, abs=1e-6)  # the note tells the truth
    assert any(p is norm.weight for g in tr.opt.param_groups for p in g["params"])  # it trains
    tr.steps(10)
    rec = tr.apply(Change.of(norm="none", layers=[3]))
    assert isinstance(tr.model.blocks[2].norm, nn.Identity) and "norm_removed" in rec["notes"]
    assert not any(p is norm.weight for g in tr.opt.param_groups for p in g["params"])
    tr.steps(10)


def test_activation_change_warns_and_the_probe_follows():
    tr = trained()
    rec = tr.apply(Change.of(activation="relu", layers=[2]))
    assert isinstance(tr.model.blocks[1].act, nn.ReLU)
    assert "activation_changed" in rec["notes"]
    assert tr.model.probe_points[1].activation == "relu" and tr.model.probe_points[1].module is tr.model.blocks[1].act
    m = tr.steps(10)
    dead = m.metric("dead")[-1]
    assert dead[1] == dead[1] and dead[0] != dead[0]  # dead-ReLU % now measured on layer 2 only (NaN elsewhere)


def test_rows_recorded_before_a_change_survive_the_probe_refresh():
    tr = trained(steps=12)  # rows at steps 1, 5, 10 wait in the probe's buffers (flush at 20)
    tr.apply(Change.of(skip="residual"))
    m = tr.steps(8)
    assert list(m.steps) == [15, 20]
    tr2 = trained(steps=0)
    m2 = tr2.steps(20)
    assert list(m2.steps) == [1, 5, 10, 15, 20]


# ----------------------------------------------------------------------------- bad changes
@pytest.mark.parametrize("change,words", [
    ({"set": {"norm": "batchnorm"}, "layers": [9]}, "layer from 1 to 5"),
    ({"set": {"skip": "residual"}, "layers": [0]}, "layers"),
    ({"set": {"norm": "layernorm"}, "layers": [2]}, "layer 2 already has batchnorm"),
    ({"set": {"lr": 0.003}}, "nothing would change"),
    ({"set": {"lr": 0.1}, "layers": [1]}, "optimiser settings apply to the whole net"),
    ({"set": {"skip": "dense"}}, "none or residual"),
])
def test_a_bad_change_is_refused_and_the_run_untouched(change, words):
    tr = trained()
    tr.apply(Change.of(norm="batchnorm", layers=[2]))
    before = snapshot(tr)
    with pytest.raises(SpecError) as e:
        tr.apply(change)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert same(before, snapshot(tr))


def test_a_change_to_a_finished_run_is_refused():
    tr = Trainer(small(steps=10))
    tr.steps()
    before = snapshot(tr)
    with pytest.raises(SurgeryError, match="has ended"):
        tr.apply(Change.of(skip="residual"))
    assert same(before, snapshot(tr))


@pytest.mark.parametrize("d,field", [({"set": {"skip": "dense"}}, "set.skip"), ({"set": {"lr": -1}}, "set.lr"),
                                     ({"set": {"color": "red"}}, "set.color"), ({"set": {}}, "set"),
                                     ({"set": {"frozen": 1}}, "set.frozen"), ({"layers": [1]}, "set")])
def test_malformed_changes_name_their_field(d, field):
    with pytest.raises(SpecError) as e:
        Change.from_dict(d)
    assert e.value.field.startswith("change." + field) or e.value.field == "change.set"


def test_no_host_sync_in_a_step_after_structural_changes():
    tr = trained(steps=10)
    tr.apply(Change.of(skip="residual", norm="batchnorm", layers=[2, 3]))
    tr.apply(Change.of(activation="tanh", dropout=0.1, layers=[4]))
    tr.steps(2)
    with SyncCounter() as counter:
        for _ in range(12):
            tr._train_step()
    assert counter.count == 0, counter.calls


# ----------------------------------------------------------------------------- the spec's events
SKIP_AT_200 = '\n[[events]]\nstep = 200\nset = {skip = "residual"}\n'


def test_events_round_trip_and_old_specs_keep_their_form():
    base = load_preset("sigmoid-deep").spec
    spec = codec.from_toml(codec.to_toml(base) + SKIP_AT_200 +
                           '\n[[events]]\nstep = 250\nset = {norm = "layernorm", lr = 0.001}\nlayers = [3, 1]\n')
    assert [e.step for e in spec.events] == [200, 250] and spec.events[1].change.layers == (1, 3)
    for enc, dec in ((codec.to_json, codec.from_json), (codec.to_toml, codec.from_toml),
                     (codec.to_url, codec.from_url)):
        assert dec(enc(spec)) == spec
    assert "events" not in codec.to_dict(base) and "events" not in codec.to_dict(base, drop_defaults=True)
    assert codec.from_url(codec.to_url(base)) == base


@pytest.mark.parametrize("extra,field", [
    ('\n[[events]]\nstep = 400\nset = {skip = "residual"}\n', "events[0].step"),
    ('\n[[events]]\nset = {skip = "residual"}\n', "events[0]"),
    ('\n[[events]]\nstep = 5\nset = {norm = "batchnorm"}\nlayers = [30]\n', "events[0].layers"),
    ('\n[[events]]\nstep = 5\nset = {norm = "batchnorm"}\n[[events]]\nstep = 9\nset = {norm = "layernorm"}\n',
     "events[1].norm"),
])
def test_bad_events_in_a_spec_file_name_the_event(extra, field):
    with pytest.raises(SpecError) as e:
        codec.from_toml(codec.to_toml(load_preset("sigmoid-deep").spec) + extra)
    assert e.value.field == field, str(e.value)


def test_planned_events_apply_at_their_step():
    spec = codec.from_dict({**codec.to_dict(small(steps=60)),
                            "events": [{"step": 0, "set": {"lr": 0.01}}, {"step": 30, "set": {"skip": "residual"}}]})
    tr = Trainer(spec)
    tr.steps(29)
    assert tr.opt.param_groups[0]["lr"] == 0.01 and isinstance(tr.model.blocks[1].skip, NoSkip)
    tr.steps(2)
    assert isinstance(tr.model.blocks[1].skip, Residual)
    assert [e["step"] for e in tr.summary()["events"]] == [0, 30]


def test_twins_keep_the_events_that_still_apply():
    from labcore.presets import load_preset as lp
    from labcore.spec.twins import twin

    spec = lp("sigmoid-deep-then-residual").spec
    assert twin(spec, "residual").events == ()  # B already has the skips the event adds
    assert twin(spec, "batchnorm").events == spec.events
    assert twin(spec, "lr_down").events == spec.events
