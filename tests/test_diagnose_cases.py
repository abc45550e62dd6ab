"""The diagnosis on real runs: every case of issue 10's tables, each checked against its numbers.

He-init scale errors are judged at initialisation (one step; the verdict reads the backprop
signal ‖∂L/∂h‖ and the activation growth, where ‖∇W‖ hides a ReLU net's scale error). The
dying-ReLU and saturated-residual cases train 400 steps, as the issue measured them.
"""
from __future__ import annotations

import math

import pytest

from labcore.figures.diagnose import diagnose, sentence
from labcore.presets import load_preset
from labcore.spec.edit import override
from labcore.train.mlp import Trainer


def run(preset: str, **changes):
    spec = override(load_preset(preset).spec, device="cpu", **changes)
    tr = Trainer(spec)
    m = tr.run()
    return tr, m, diagnose(m, tr.status, tr.first_bad_step)


def at_init(gain: float, **changes):
    """A 24-layer ReLU net with He init × gain, one recorded step."""
    return run("relu-he", gain=gain, steps=1, record_every=1, **changes)


@pytest.mark.parametrize("gain", [1.5, 2.0])
def test_he_init_times_1_5_and_2_are_exploding_and_say_the_input_side_gets_more(gain):
    tr, m, d = at_init(gain)
    assert d.kind == "exploding", sentence(d)
    assert d.numbers["ratio"] > 1e2 and d.numbers["q"] == "‖∂L/∂h‖"
    s = m.metric("out_grad_norm")[0]
    assert d.numbers["ratio"] == pytest.approx(s[0] / s[-2])  # quoted number = the recorded signal
    assert f"{d.numbers['ratio']:.0e}" in sentence(d) and "e+" in f"{d.numbers['ratio']:.0e}"
    # the trap the old verdict fell in: ‖∇W‖ reads *less* at the input (the scale cancels)
    assert m.first_last_ratio("grad_norm") < 10 < d.numbers["ratio"]
    assert m.step_loss[0] > 10  # the first loss is already far above log 2


def test_he_init_times_1_2_on_digits_is_not_called_healthy():
    tr, m, d = at_init(1.2, dataset="digits")
    assert d.kind != "healthy", sentence(d)
    assert d.kind in ("uneven", "exploding") and d.numbers["ratio"] > 10  # the signal grows toward the input


def test_he_init_times_0_7_is_vanishing():
    tr, m, d = at_init(0.7)
    assert d.kind == "vanishing", sentence(d)
    assert d.numbers["ratio"] < 1e-2
    assert d.numbers["growth"] < 1  # and the activations shrink forward


def test_he_init_itself_is_not_flagged():
    tr, m, d = at_init(1.0)
    assert d.kind in ("healthy", "uneven") and 0.1 < d.numbers["ratio"] < 10, sentence(d)


def test_relu_he_at_lr_0_1_has_dying_relus_not_vanishing_gradients():
    tr, m, d = run("relu-he", lr=0.1)
    assert d.kind == "dead", sentence(d)
    assert d.numbers["pct"] >= 90
    assert "vanishing" in [n.kind for n in d.notes]  # the zero signal below the dead layer, kept as a note


def test_residual_at_lr_0_01_learns_and_is_called_saturated_not_exploding():
    tr, m, d = run("residual", lr=0.01)
    assert m.test_acc[-1] >= 0.9
    kinds = {d.kind} | {n.kind for n in d.notes}
    assert "saturated" in kinds and "exploding" not in kinds, sentence(d)
    assert d.kind in ("healthy", "uneven", "saturated")


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "elu"])
def test_units_that_pass_gradient_below_zero_are_never_counted_dead(activation):
    # negative inputs are common here (20 steps of the relu-he recipe); their slope is not 0
    tr, m, d = run("relu-he", activation=activation, steps=20, record_every=1)
    dead = m.metric("dead")
    assert all(math.isnan(v) for v in dead[:, :-1].ravel())
    assert "dead" not in {d.kind} | {n.kind for n in d.notes}


def test_relu_units_are_counted_dead():
    tr, m, d = run("relu-he", lr=0.1, steps=50, record_every=1)
    assert m.metric("dead")[-1, :-1].max() >= 0.9


def test_the_exploding_preset_diverges_and_keeps_what_its_steps_showed():
    tr, m, d = run("exploding")
    assert d.kind == "diverged" and d.numbers["step"] == tr.first_bad_step >= 3
    flow = [n for n in d.notes if n.kind == "exploding"]
    assert flow and flow[0].numbers["ratio"] > 1e2, sentence(d)  # the signal grew toward the input


@pytest.mark.parametrize("seed", range(5))
def test_the_first_last_ratio_of_a_he_net_at_init_reads_near_1(seed):
    # ‖∇W‖ of h1 reads the 2-D data (‖∇W1‖ = ‖δ1‖·‖x‖), so h1/last read 0.03-0.32 for a perfect
    # He net; the ratio starts at h2 (equal widths) and reads 0.22-1.7 (measured, seeds 0-4).
    tr, m, d = run("relu-he", steps=1, record_every=1, seed=seed)
    g = m.metric("grad_norm")[0]
    assert m.first_last_ratio("grad_norm") == pytest.approx(g[1] / g[-2])
    assert 0.1 < m.first_last_ratio("grad_norm") < 10 and 0.1 < m.first_last_ratio("out_grad_norm") < 10
    assert g[0] / g[-2] < m.first_last_ratio("grad_norm")
