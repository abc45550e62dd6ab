"""Mean-field theory (labcore.figures.theory) against closed forms and Monte-Carlo on wide random nets."""
import math

import numpy as np
import pytest

from labcore.figures import theory as t

WIDTH = 512


def _mc(activation, sw2, sb2, depth, seeds=12, q0=1.0, width=WIDTH):
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
    np.testing.assert_allclose(q_mc[1:], one_step, rtol=0.08)
    np.testing.assert_allclose(q_mc, q_th, rtol=0.2)
    # backward, one layer at a time: r_l² / r_{l+1}² = χ(q_{l+1}) at the measured q
    step_mc = 2 * np.log(r_mc[:-1] / r_mc[1:])
    step_th = np.log([t.chi(activation, sw2, q) for q in q_mc[1:]])
    np.testing.assert_allclose(step_mc, step_th, atol=0.07)
    r_th = t.backward_ratio(activation, sw2, sb2, 1.0, depth)
    np.testing.assert_allclose(np.log(r_mc), np.log(r_th), atol=0.2)


def test_wrong_activation_is_one_clear_error():
    with pytest.raises(ValueError, match="no mean-field theory"):
        t.fixed_point("swish", 1.0, 0.0)


# --- ξ_c against an independent computation: scipy's adaptive quadrature and root finding ------

def _ref_tanh(sw2, sb2):
    """(q*, χ1, c*, ξ_c) for tanh from scipy.integrate.quad/dblquad and scipy.optimize.brentq."""
    integrate = pytest.importorskip("scipy.integrate")
    optimize = pytest.importorskip("scipy.optimize")
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    sech2 = lambda x: 1 - math.tanh(x) ** 2  # noqa: E731

    def e1(f, q):
        s = math.sqrt(q)
        return integrate.quad(lambda z: f(s * z) * pdf(z), -np.inf, np.inf, limit=400, epsabs=1e-13)[0]

    def e2(f, q, c):
        s, r = math.sqrt(q), math.sqrt(1 - c * c)
        return integrate.dblquad(lambda z2, z1: f(s * z1) * f(s * (c * z1 + r * z2)) * pdf(z1) * pdf(z2),
                                 -9, 9, -9, 9, epsabs=1e-10)[0]

    q = 0.0 if (sb2 == 0 and sw2 <= 1) else optimize.brentq(
        lambda q: sw2 * e1(lambda x: math.tanh(x) ** 2, q) + sb2 - q, 1e-9, 1e3, xtol=1e-14)
    x1 = sw2 if q == 0 else sw2 * e1(lambda x: sech2(x) ** 2, q)
    if x1 < 1:  # ordered: c* = 1 and χ_c = χ1
        return q, x1, 1.0, -1 / math.log(x1)
    if sb2 == 0:  # odd φ, no bias: c* = 0, where E[φ'(u1)φ'(u2)] = (E φ')²
        return q, x1, 0.0, -1 / math.log(sw2 * e1(sech2, q) ** 2)
    c = optimize.brentq(lambda c: (sw2 * e2(math.tanh, q, c) + sb2) / q - c, 0.0, 1 - 1e-4, xtol=1e-10)
    return q, x1, c, -1 / math.log(sw2 * e2(sech2, q, c))


@pytest.mark.parametrize("sw,sb2", [(0.75, 0.0), (0.9, 0.05), (1.25, 0.0), (1.5, 0.0), (2.0, 0.0),
                                    (3.0, 0.0), (1.5, 0.05), (3.0, 0.05)])
def test_tanh_depth_scale_against_scipy(sw, sb2):
    """Ordered side ξ_c = -1/ln χ1; chaotic side ξ_c = -1/ln χ_c at the correlation fixed point c* < 1.
    (The earlier Gauss-Hermite rule put ξ_c 13 % too high at σ_w = 3: its nodes were too sparse
    for the narrow tanh'(√q* z) at q* ≈ 6.)"""
    q, x1, c, xi = _ref_tanh(sw * sw, sb2)
    assert t.fixed_point("tanh", sw * sw, sb2) == pytest.approx(q, rel=1e-6, abs=1e-12)
    assert t.chi1("tanh", sw * sw, q) == pytest.approx(x1, rel=1e-6)
    assert t.correlation_fixed_point("tanh", sw * sw, sb2) == pytest.approx(c, abs=1e-6)
    assert t.depth_scale("tanh", sw * sw, sb2) == pytest.approx(xi, rel=1e-5)
    if x1 < 1:  # ordered side: the gradient's depth scale is the same number
        assert t.gradient_depth_scale("tanh", sw * sw, sb2) == pytest.approx(xi, rel=1e-9)
    else:  # chaotic side: gradients explode (ξ_∇ < 0) and |ξ_∇| is not ξ_c
        g = t.gradient_depth_scale("tanh", sw * sw, sb2)
        assert g < 0 and abs(abs(g) - xi) > 0.05 * xi


def test_chaotic_correlation_map_by_monte_carlo():
    """c* and χ_c at σ_w = 2, σ_b² = 0.05 from 4M sampled Gaussian pairs (independent of any rule)."""
    sw2, sb2 = 4.0, 0.05
    q = t.fixed_point("tanh", sw2, sb2)
    c = t.correlation_fixed_point("tanh", sw2, sb2)
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 4_000_000))
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
    c_next = (sw2 * np.mean(np.tanh(u1) * np.tanh(u2)) + sb2) / q
    assert c_next == pytest.approx(c, abs=3e-3)  # c* is a fixed point of the sampled c-map
    xc = sw2 * np.mean((1 - np.tanh(u1) ** 2) * (1 - np.tanh(u2) ** 2))
    assert t.depth_scale("tanh", sw2, sb2) == pytest.approx(-1 / math.log(xc), rel=0.02)
