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
backward factor by ``σ_w/4``: :attr:`Prediction.bound` is that product, drawn as an upper limit.

Built on :mod:`labcore.figures.theory` (its activation table, ``E[φ²]`` and ``χ``); this module adds
what a *lab spec* needs: σ_w² per layer from the init scheme, gain and widths (Xavier's depends on
fan-in and fan-out, so the 2-input first layer differs from the rest), and the data's spread of
input sizes (one recursion per quantile of ``mean_j x_j²``, averaged), since a batch of 2-D
points is not one variance. Pure numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labcore.figures import theory
from labcore.spec.mlp import RunSpec

_PHI = theory._FUNCS  # (φ, φ') per activation: the one table, in labcore.figures.theory
N_QUANTILES = 64  # the inputs' per-example mean squares are summarised by this many quantiles


def _mean_phi(activation: str, q: float) -> float:
    """E[φ(√q z)] (theory.py gives the second moments; the std of φ needs the mean too)."""
    return float(np.dot(theory._W, _PHI[activation][0](math.sqrt(max(q, 0.0)) * theory._Z)))


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
    x_sq = np.asarray(x_sq, dtype=float).ravel()
    q_in = np.quantile(x_sq, (np.arange(N_QUANTILES) + 0.5) / N_QUANTILES) if len(x_sq) > N_QUANTILES else x_sq
    fan_in, prev = in_dim, q_in  # prev: E[x²] of each (example) entering the layer
    stds, chis, s2s = [], [], []
    for layer in spec.net.layers:
        act = layer.activation
        s2 = sigma_w2(init.scheme, init.gain, init.sigma, fan_in, layer.width)
        q = s2 * prev  # pre-activation variance per example (zero biases)
        m1 = np.array([_mean_phi(act, v) for v in q])  # E[φ] per example
        m2 = np.array([theory._e_phi2(act, v) for v in q])  # E[φ²] per example
        mean = m1.mean()
        stds.append(math.sqrt(max(0.0, m2.mean() - mean * mean)))
        chis.append(np.array([theory.chi(act, s2, v) for v in q]))  # σ_w² E[φ'²] per example
        s2s.append(s2)
        prev, fan_in = m2, layer.width
    n = len(stds)
    # signal at layer l relative to L: prod_{k=l+1..L} χ_k per example, averaged over the examples
    per_ex = np.ones((n, len(q_in)))
    for l in range(n - 2, -1, -1):
        per_ex[l] = per_ex[l + 1] * chis[l + 1]
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
