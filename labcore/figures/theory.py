"""Mean-field signal propagation in deep random MLPs (Poole et al. 2016, Schoenholz et al. 2017).

Numpy only (no torch): the theory curves the lessons and the phase diagram draw beside the
measurement. A layer is ``h_l = W_l φ(h_{l-1}) + b_l`` with ``W ~ N(0, σ_w²/fan_in)`` and
``b ~ N(0, σ_b²)``; in the lab, ``lecun_normal`` init with gain g gives σ_w = g, ``he_normal``
gives σ_w = g·√2, and biases start at zero (σ_b = 0).

* ``q`` is the variance of one pre-activation (averaged over units); it follows
  ``q_l = σ_w² E[φ(√q_{l-1} z)²] + σ_b²`` to the fixed point q*. The first layer sees the input:
  ``q_1 = σ_w² q0 + σ_b²`` with ``q0`` the mean of x² per input feature.
* ``χ(q) = σ_w² E[φ'(√q z)²]`` is the factor by which the squared backprop signal grows per layer
  going toward the input; χ1 = χ(q*). χ1 = 1 is the order-to-chaos line (ReLU: σ_w² = 2).
* ``depth_scale`` is ξ_c of Schoenholz et al.: correlations between two inputs converge to their
  fixed point c* like exp(-l/ξ_c), and nets train only up to a depth of a few ξ_c (≈ 6ξ_c in the
  paper). It diverges at the critical line.

Gaussian expectations use the trapezoid rule on a fine uniform grid (see ``_normal_rule``); the
piecewise-linear activations (relu, leaky_relu, identity), whose kink no rule handles well, use
their closed forms. tests/test_theory.py checks the numbers against scipy's adaptive quadrature.
"""
from __future__ import annotations

import functools
import math

import numpy as np

def _normal_rule(half_width: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum w f(z) ≈ E f(z), z ~ N(0, 1): the trapezoid rule on a uniform grid.

    For a smooth integrand the error falls like exp(-2π d / step), with d the distance of the
    nearest complex singularity of f from the real axis. tanh(√q z) has its poles at
    d = π / (2√q), so the rule stays exact to ~1e-20 at q* = 6 (σ_w = 3), where a 41-node
    Gauss-Hermite rule, whose nodes are too sparse near 0 for the narrow φ' = sech², was off by
    13 % in ξ_c.
    """
    z = np.arange(-half_width, half_width + step / 2, step)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


_Z, _W = _normal_rule(10.0, 0.05)  # 1-D expectations (q*, χ)
_Z2, _W2 = _normal_rule(8.5, 0.1)  # each axis of the 2-D expectations (c-map, χ_c)

LEAKY_SLOPE = 0.01  # nn.LeakyReLU(0.01), as in labcore.nets.registry


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


_GELU = (lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
         lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi))

# name -> (φ, φ')
_FUNCS = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, LEAKY_SLOPE * x), lambda x: np.where(x > 0, 1.0, LEAKY_SLOPE)),
    "identity": (lambda x: x, lambda x: np.ones_like(x)),
    "gelu": _GELU,
    "elu": (lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
}
# Positively homogeneous activations: E[φ(√q z)²] = a·q and E[φ'²] = a, exactly.
_HOMOGENEOUS = {"relu": 0.5, "leaky_relu": 0.5 * (1 + LEAKY_SLOPE ** 2), "identity": 1.0}
ACTIVATIONS = tuple(_FUNCS)


def _check(activation: str) -> None:
    if activation not in _FUNCS:
        raise ValueError(f"no mean-field theory for activation {activation!r}; known: {', '.join(_FUNCS)}")


def _e_phi2(activation: str, q: float) -> float:
    """E[φ(√q z)²]."""
    if activation in _HOMOGENEOUS:
        return _HOMOGENEOUS[activation] * q
    phi = _FUNCS[activation][0]
    return float(np.dot(_W, phi(math.sqrt(max(q, 0.0)) * _Z) ** 2))


def _e_dphi2(activation: str, q: float) -> float:
    """E[φ'(√q z)²]."""
    if activation in _HOMOGENEOUS:
        return _HOMOGENEOUS[activation]
    dphi = _FUNCS[activation][1]
    return float(np.dot(_W, dphi(math.sqrt(max(q, 0.0)) * _Z) ** 2))


def _variance_map(activation: str, sigma_w2: float, sigma_b2: float, q: float) -> float:
    return sigma_w2 * _e_phi2(activation, q) + sigma_b2


def fixed_point(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """q*, the pre-activation variance a deep net settles to (``inf`` if it grows without bound).

    For the homogeneous activations with σ_b = 0 and χ1 = 1 exactly, every q is a fixed point
    (the variance keeps its input's value): ``nan``.
    """
    _check(activation)
    if activation in _HOMOGENEOUS:
        slope = sigma_w2 * _HOMOGENEOUS[activation]
        if slope < 1.0:
            return sigma_b2 / (1.0 - slope)
        return math.nan if (slope == 1.0 and sigma_b2 == 0.0) else math.inf
    if activation == "tanh" and sigma_b2 == 0.0 and sigma_w2 <= 1.0:
        return 0.0  # |tanh x| <= |x|: the variance shrinks to 0 (slowly, like 1/l, at σ_w² = 1)
    # V is increasing, so iterating from q = 1 moves monotonically to the stable fixed point:
    # one step tells the direction, then a bracket and a bisection find it (fast near criticality,
    # where plain iteration crawls).
    def g(q):
        return _variance_map(activation, sigma_w2, sigma_b2, q) - q

    q0 = 1.0
    if g(q0) == 0.0:
        return q0
    if g(q0) > 0:  # grows: find an upper bracket
        lo, hi = q0, 2.0 * q0
        while g(hi) > 0:
            lo, hi = hi, 2.0 * hi
            if hi > 1e12:
                return math.inf
    else:  # shrinks: find a lower bracket (or 0, the fixed point of an odd φ without bias)
        lo, hi = 0.5 * q0, q0
        while g(lo) < 0:
            lo, hi = 0.5 * lo, lo
            if lo < 1e-30:
                return 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def forward_q(activation: str, sigma_w2: float, sigma_b2: float, q0: float, depth: int) -> np.ndarray:
    """Pre-activation variance of hidden layers 1..depth for an input with mean x² per feature ``q0``."""
    _check(activation)
    out = np.empty(depth)
    q = sigma_w2 * q0 + sigma_b2  # layer 1 multiplies the raw input (no activation before it)
    for l in range(depth):
        out[l] = q
        q = _variance_map(activation, sigma_w2, sigma_b2, q)
    return out


def chi(activation: str, sigma_w2: float, q: float) -> float:
    """χ(q) = σ_w² E[φ'(√q z)²]: the per-layer growth of the squared backprop signal at variance q."""
    _check(activation)
    return sigma_w2 * _e_dphi2(activation, q)


def chi1(activation: str, sigma_w2: float, q: float) -> float:
    """χ1 = σ_w² E[φ'(√q z)²], at the variance ``q`` given (normally q*)."""
    return chi(activation, sigma_w2, q)


def backward_ratio(activation: str, sigma_w2: float, sigma_b2: float, q0: float, depth: int,
                   wrt: str = "output") -> np.ndarray:
    """Predicted ‖∂L/∂·‖ of hidden layers 1..depth, relative to the last hidden layer (1.0).

    ``wrt="output"`` (default): the gradient with respect to each layer's output φ(h_l), which is
    what the lab's probe records as the backprop signal; going from layer l+1 to l multiplies its
    square by χ(q_{l+1}). ``wrt="pre"``: with respect to the pre-activation h_l (the same product,
    shifted by one layer, times E[φ'(h_l)²]/E[φ'(h_L)²]).
    """
    if wrt not in ("output", "pre"):
        raise ValueError("wrt must be 'output' or 'pre'")
    q = forward_q(activation, sigma_w2, sigma_b2, q0, depth)
    chis = np.array([chi(activation, sigma_w2, qq) for qq in q])
    log2 = np.zeros(depth)  # log of the squared ratio
    # output: r_l² = Π_{k=l+1..L} χ(q_k)
    log2[:-1] = np.cumsum(np.log(chis[1:])[::-1])[::-1]
    if wrt == "pre":
        d2 = chis / sigma_w2  # E[φ'(h_l)²]
        log2 = log2 + np.log(d2) - np.log(d2[-1])
    return np.exp(0.5 * log2)


def _corr_terms(activation: str, q: float, c: float) -> tuple[float, float]:
    """E[φ(u1)φ(u2)] and E[φ'(u1)φ'(u2)] for u1, u2 ~ N(0, q) with correlation c (2-D quadrature)."""
    phi, dphi = _FUNCS[activation]
    s = math.sqrt(max(q, 0.0))
    z1, z2 = np.meshgrid(_Z2, _Z2, indexing="ij")
    w = np.outer(_W2, _W2)
    c = min(max(c, -1.0), 1.0)
    u1 = s * z1
    u2 = s * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return float(np.sum(w * phi(u1) * phi(u2))), float(np.sum(w * dphi(u1) * dphi(u2)))


def correlation_fixed_point(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """c*, the correlation two inputs' pre-activations settle to (1 in the ordered phase)."""
    q = fixed_point(activation, sigma_w2, sigma_b2)
    if not math.isfinite(q) or q <= 0:
        return 1.0
    if chi1(activation, sigma_w2, q) <= 1.0:
        return 1.0
    def h(c):
        e_pp, _ = _corr_terms(activation, q, c)
        return (sigma_w2 * e_pp + sigma_b2) / q - c

    h0 = h(0.0)
    if h0 <= 1e-12:  # odd φ without bias: uncorrelated inputs stay uncorrelated (c* = 0)
        return 0.0
    lo, hi = 0.0, 1.0 - 1e-9
    h_lo, h_hi = h0, h(hi)
    if h_hi >= 0:
        return 1.0
    # Illinois regula falsi: h is smooth and convex-ish on [0, 1], so this takes ~10 evaluations
    # of the 2-D integral where bisection takes 60.
    side = 0
    for _ in range(100):
        mid = (lo * h_hi - hi * h_lo) / (h_hi - h_lo)
        h_mid = h(mid)
        if h_mid > 0:
            lo, h_lo = mid, h_mid
            if side == 1:
                h_hi *= 0.5
            side = 1
        else:
            hi, h_hi = mid, h_mid
            if side == -1:
                h_lo *= 0.5
            side = -1
        if hi - lo < 1e-12 or abs(h_mid) < 1e-14:
            break
    return mid


@functools.lru_cache(maxsize=4096)  # pure, and the phase page redraws its curve on every point
def depth_scale(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """ξ_c, the depth over which signals (and trainability) survive; ``inf`` on the critical line.

    Ordered phase (χ1 < 1): ξ_c = -1/ln χ1. Chaotic phase: ξ_c = -1/ln χ_c with
    χ_c = σ_w² E[φ'(u1)φ'(u2)] at the correlation fixed point c* < 1. For relu, leaky_relu and
    identity the normalised correlation map does not depend on σ_w (it is marginal at c = 1), and
    the depth that limits training is the gradient's, ξ = 1/|ln χ1| with χ1 = σ_w²·E[φ'²]
    (ReLU: σ_w²/2), infinite at He's σ_w² = 2.
    """
    _check(activation)
    if activation in _HOMOGENEOUS:
        c1 = sigma_w2 * _HOMOGENEOUS[activation]
        return math.inf if abs(math.log(c1)) < 1e-12 else 1.0 / abs(math.log(c1))
    q = fixed_point(activation, sigma_w2, sigma_b2)
    if not math.isfinite(q):  # gelu/elu growing without bound act like ReLU at large q
        x1 = chi(activation, sigma_w2, 1e8)
        return math.inf if abs(math.log(x1)) < 1e-9 else 1.0 / abs(math.log(x1))
    x1 = chi1(activation, sigma_w2, q)
    if abs(x1 - 1.0) < 1e-9:
        return math.inf
    if x1 < 1.0:
        return -1.0 / math.log(x1)
    c = correlation_fixed_point(activation, sigma_w2, sigma_b2)
    _, e_dd = _corr_terms(activation, q, c)
    xc = sigma_w2 * e_dd
    if xc >= 1.0 - 1e-12:
        return math.inf
    return -1.0 / math.log(xc)


def gradient_depth_scale(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """ξ_∇ = -1/ln χ1 (Schoenholz et al. eq. 14): the depth over which backprop signals change by e.

    Positive on the ordered side (χ1 < 1), where gradients vanish and ξ_∇ equals ξ_c; infinite on
    the critical line; negative on the chaotic side, where gradients explode over |ξ_∇| layers
    and ξ_c is the correlation scale of :func:`depth_scale` instead (they differ there).
    """
    _check(activation)
    q = fixed_point(activation, sigma_w2, sigma_b2)
    if not math.isfinite(q):
        q = 1e8 if activation not in _HOMOGENEOUS else 1.0  # unbounded growth: χ1 at large q
    x1 = chi1(activation, sigma_w2, q)
    if abs(math.log(x1)) < 1e-12:
        return math.inf
    return -1.0 / math.log(x1)


def critical_sigma_w2(activation: str, sigma_b2: float, lo: float = 0.05, hi: float = 16.0) -> float:
    """σ_w² on the order-to-chaos line (χ1(q*) = 1) for this σ_b², by bisection."""
    def f(s):
        q = fixed_point(activation, s, sigma_b2)
        if not math.isfinite(q):
            return 1.0
        return chi1(activation, s, q) - 1.0
    if f(lo) > 0 or f(hi) < 0:
        return math.nan
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
