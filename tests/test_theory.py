"""Mean-field theory (labcore.figures.theory) against closed forms and Monte-Carlo on wide random nets."""
import math

import numpy as np
import pytest

from labcore.figures import theory as t

WIDTH = 512


def _mc(activation, sw2, sb2, depth, seeds=24, q0=1.0, width=WIDTH):
    """Pre-activation variance per layer and ‖∂L/∂φ(h_l)‖ / ‖∂L/∂φ(h_L)‖ in random nets (numpy backprop)."""
    phi, dphi = t._FUNCS[activation]
    qs, rs = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        x = rng.normal(0, math.sqrt(q0), size=(16, width)).astype(np.float32)
        hs, Ws = [], []
        a = x
        for _ in range(depth):
            W = rng.normal(0, math.sqrt(sw2 / width), size=(width, width)).astype(np.float32)
            b = rng.normal(0, math.sqrt(sb2), size=width) if sb2 > 0 else 0.0
            h = a @ W.T + b
            Ws.append(W)
            hs.append(h)
            a = phi(h)
        qs.append([np.mean(h ** 2) for h in hs])
        g = rng.normal(size=a.shape)  # dL/d(last output): a random linear readout
        norms = [np.linalg.norm(g)]
        for l in range(depth - 1, 0, -1):
            g = (g * dphi(hs[l])) @ Ws[l]  # to the output of layer l (1-based l)
            norms.append(np.linalg.norm(g))
        rev = np.array(norms[::-1])  # layer 1 first
        rs.append(rev / rev[-1])
    return np.mean(qs, axis=0), np.exp(np.mean(np.log(rs), axis=0))


def test_relu_closed_forms():
    q = t.forward_q("relu", 2.0, 0.1, 1.0, 5)
    expect = [2.0 * 1.0 + 0.1]
    for _ in range(4):
        expect.append(2.0 * expect[-1] / 2 + 0.1)
    np.testing.assert_allclose(q, expect, rtol=1e-12)
    for sw2 in (0.5, 1.0, 2.0, 3.0):
        assert t.chi1("relu", sw2, 1.7) == pytest.approx(sw2 / 2)
    assert t.fixed_point("relu", 1.0, 0.1) == pytest.approx(0.1 / (1 - 0.5))
    assert math.isinf(t.depth_scale("relu", 2.0, 0.0)) and math.isinf(t.depth_scale("relu", 2.0, 0.05))
    assert t.depth_scale("relu", 1.0, 0.0) == pytest.approx(1 / math.log(2))
    assert t.depth_scale("relu", 4.0, 0.0) == pytest.approx(1 / math.log(2))
    # backward: each layer multiplies the squared signal by χ = σ_w²/2
    r = t.backward_ratio("relu", 1.0, 0.0, 1.0, 6)
    np.testing.assert_allclose(r, [0.5 ** ((6 - l) / 2) for l in range(1, 7)], rtol=1e-12)


def test_quadrature_matches_closed_forms():
    assert t._e_phi2("identity", 2.5) == pytest.approx(2.5)
    assert np.dot(t._W, np.maximum(t._Z * 1.3, 0) ** 2) == pytest.approx(1.3 ** 2 / 2, rel=1e-2)
    # E[tanh'(0)²] = 1 and E tanh(√q z)² ≈ q for tiny q
    assert t.chi1("tanh", 1.7, 0.0) == pytest.approx(1.7)
    assert t._e_phi2("tanh", 1e-6) == pytest.approx(1e-6, rel=1e-4)


def test_tanh_critical_line_and_depth_scale():
    # Schoenholz et al. 2017 Fig. 1: σ_b² = 0.05 puts the tanh critical line near σ_w² ≈ 1.76
    assert t.critical_sigma_w2("tanh", 0.05) == pytest.approx(1.76, abs=0.03)
    assert t.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-3)
    assert math.isinf(t.depth_scale("tanh", 1.0, 0.0))
    crit = t.critical_sigma_w2("tanh", 0.05)
    xs = [t.depth_scale("tanh", s, 0.05) for s in (1.0, 1.4, crit - 0.02, crit + 0.02, 2.5, 4.0)]
    assert xs[0] < xs[1] < xs[2] and xs[2] > 50 and xs[3] > 50 and xs[3] > xs[4] > xs[5]
    assert t.depth_scale("tanh", 0.5, 0.0) == pytest.approx(-1 / math.log(0.5))


@pytest.mark.parametrize("activation,sw2,sb2", [("tanh", 1.5, 0.05), ("tanh", 3.0, 0.0), ("relu", 2.0, 0.05),
                                               ("sigmoid", 4.0, 0.0), ("leaky_relu", 1.8, 0.0)])
def test_against_monte_carlo(activation, sw2, sb2):
    """Width-512 random nets: each layer's variance map and χ step are checked against the
    measured previous layer (finite-width noise compounds over depth, so the whole trajectory
    gets a looser bound)."""
    depth = 10
    q_mc, r_mc = _mc(activation, sw2, sb2, depth)
    q_th = t.forward_q(activation, sw2, sb2, 1.0, depth)
    assert q_mc[0] == pytest.approx(q_th[0], rel=0.05)
    one_step = [t._variance_map(activation, sw2, sb2, q)
                for q in q_mc[:-1]]
    np.testing.assert_allclose(q_mc[1:], one_step, rtol=0.06)
    np.testing.assert_allclose(q_mc, q_th, rtol=0.2)
    # backward, one layer at a time: r_l² / r_{l+1}² = χ(q_{l+1}) at the measured q
    step_mc = 2 * np.log(r_mc[:-1] / r_mc[1:])
    step_th = np.log([t.chi(activation, sw2, q) for q in q_mc[1:]])
    np.testing.assert_allclose(step_mc, step_th, atol=0.05)
    r_th = t.backward_ratio(activation, sw2, sb2, 1.0, depth)
    np.testing.assert_allclose(np.log(r_mc), np.log(r_th), atol=0.2)


def test_wrong_activation_is_one_clear_error():
    with pytest.raises(ValueError, match="no mean-field theory"):
        t.fixed_point("swish", 1.0, 0.0)
