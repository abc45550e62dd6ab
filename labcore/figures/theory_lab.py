"""Signal propagation at initialisation (mean field): the dashed "theory" lines of the Lab charts.

The recursion of Glorot & Bengio (2010), He et al. (2015) and Poole/Schoenholz et al. (2016-17),
for a plain stack ``h^l = W^l x^{l-1}``, ``x^l = φ(h^l)`` with ``Var(W_ij) = σ_w²/fan_in`` and
zero biases:

* forward: ``q^l = σ_w² · E[φ(h^{l-1})²]`` with ``h ~ N(0, q)``, from the data's own
  ``mean_j x_j²`` (one ``q`` per example, so a batch of unequal inputs is handled exactly);
* backward: ``‖∂L/∂x^{l-1}‖² = σ_w² · E[φ'(h^l)²] · ‖∂L/∂x^l‖²`` (equal widths cancel),
  anchored at the last hidden layer's measured signal: the theory gives the shape over depth, the
  loss sets the scale.

It assumes infinite width (a layer's units are independent Gaussians), weights drawn independently
of the data, no norm and no skip; it describes step 0 only. For sigmoid, ``σ' ≤ ¼`` bounds each
backward factor by ``σ_w/4``: :func:`sigmoid_bound` draws that product as an upper limit.
Pure numpy: Gaussian expectations by Gauss-Hermite quadrature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labcore.spec.mlp import RunSpec

_Z, _WZ = np.polynomial.hermite_e.hermegauss(96)  # nodes/weights for E over N(0, 1)
_WZ = _WZ / _WZ.sum()

_PHI = {
    "relu": (lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(float)),
    "leaky_relu": (lambda h: np.where(h > 0, h, 0.01 * h), lambda h: np.where(h > 0, 1.0, 0.01)),
    "tanh": (np.tanh, lambda h: 1.0 - np.tanh(h) ** 2),
    "sigmoid": (lambda h: 1 / (1 + np.exp(-h)), lambda h: (s := 1 / (1 + np.exp(-h))) * (1 - s)),
    "identity": (lambda h: h, lambda h: np.ones_like(h)),
    "gelu": (lambda h: h * _ncdf(h), lambda h: _ncdf(h) + h * np.exp(-h * h / 2) / math.sqrt(2 * math.pi)),
    "elu": (lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0))), lambda h: np.where(h > 0, 1.0, np.exp(np.minimum(h, 0)))),
}


def _ncdf(h):
    from math import erf
    return 0.5 * (1 + np.vectorize(erf)(h / math.sqrt(2)))


def sigma_w2(scheme: str, gain: float, sigma: float, fan_in: int, fan_out: int) -> float:
    """σ_w² = fan_in · Var(W_ij) for an init scheme (what the recursion multiplies by)."""
    g2 = gain * gain
    return {
        "he_normal": 2 * g2, "he_uniform": 2 * g2, "lecun_normal": g2, "orthogonal": g2,
        "xavier_normal": 2 * g2 * fan_in / (fan_in + fan_out), "xavier_uniform": 2 * g2 * fan_in / (fan_in + fan_out),
        "normal": g2 * sigma * sigma * fan_in, "zeros": 0.0, "default": g2 / 3,
    }[scheme]


@dataclass(frozen=True)
class Prediction:
    """Per hidden layer (input side first): predicted activation std and relative backprop signal."""

    act_std: np.ndarray  # (L,) std of φ(h^l) over the batch and units
    signal: np.ndarray  # (L,) ‖∂L/∂x^l‖ / ‖∂L/∂x^L‖ (1 at the last hidden layer)
    bound: np.ndarray | None  # (L,) sigmoid only: the σ' ≤ ¼ upper limit of ``signal``


def applies(spec: RunSpec) -> bool:
    """The recursion describes plain stacks only: no norm, no skip, a known activation."""
    return all(l.norm == "none" and l.skip == "none" and l.activation in _PHI for l in spec.net.layers)


def predict(spec: RunSpec, x_sq: np.ndarray, in_dim: int) -> Prediction | None:
    """The prediction for ``spec`` on inputs whose per-example ``mean_j x_j²`` is ``x_sq``.

    None when :func:`applies` is false. ``in_dim`` is the data's input width (the first fan-in).
    """
    if not applies(spec):
        return None
    init = spec.net.init
    q_in = np.asarray(x_sq, dtype=float).reshape(-1, 1)  # (E, 1): mean square of each example's input
    fan_in, prev_sq = in_dim, q_in
    stds, chis, s2s = [], [], []
    for layer in spec.net.layers:
        s2 = sigma_w2(init.scheme, init.gain, init.sigma, fan_in, layer.width)
        q = s2 * prev_sq  # (E, 1) pre-activation variance per example
        h = np.sqrt(q) * _Z[None, :]  # (E, K) quadrature nodes per example
        phi, dphi = _PHI[layer.activation]
        f = phi(h)
        m1 = (f * _WZ).sum(1)  # (E,) E[φ] per example
        m2 = (f * f * _WZ).sum(1)  # (E,) E[φ²]
        mean = m1.mean()
        stds.append(math.sqrt(max(0.0, m2.mean() - mean * mean)))
        chis.append(((dphi(h) ** 2) * _WZ).sum(1))  # (E,) E[φ'²]
        s2s.append(s2)
        prev_sq, fan_in = m2.reshape(-1, 1), layer.width
    n = len(stds)
    # signal at layer l relative to L: prod_{k=l+1..L} σ_w,k² χ_k, per example, summed over examples
    per_ex = np.ones((n, len(q_in)))
    for l in range(n - 2, -1, -1):
        per_ex[l] = per_ex[l + 1] * s2s[l + 1] * chis[l + 1]
    signal = np.sqrt(per_ex.mean(1))
    bound = None
    if all(l.activation == "sigmoid" for l in spec.net.layers):
        factors = np.sqrt(np.asarray(s2s)) / 4  # σ_w · max σ'
        bound = np.array([np.prod(factors[l + 1:]) for l in range(n)])
    return Prediction(np.asarray(stds), signal, bound)


def predict_for(spec: RunSpec) -> Prediction | None:
    """:func:`predict` on the spec's own training inputs (numpy only: no tensors, no training)."""
    if not applies(spec):
        return None
    from labcore.data.tensors import load_arrays

    arrays = load_arrays(spec.train.data, spec.train.seed)
    x = np.asarray(arrays[0], dtype=float)  # (N, in_dim) training inputs
    return predict(spec, (x * x).mean(1), x.shape[1])
