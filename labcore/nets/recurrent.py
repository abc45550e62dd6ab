"""Recurrent nets (tanh RNN, LSTM, GRU) with a fused path and an unrolled, probed path.

:class:`RecurrentNet` keeps PyTorch's own ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (the fast, fused
kernels) plus a linear head on the top layer's last hidden state. :meth:`RecurrentNet.unrolled`
computes the same function step by step from the same parameters (PyTorch's gate order and
layout), keeping every top-layer hidden state h_t and every gate: a recorded step needs them for
‖∂L/∂h_t‖ and the gate statistics, which the fused kernels do not expose.
"""
from __future__ import annotations

import torch
from torch import nn

_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # weight blocks per layer (PyTorch order: LSTM i,f,g,o; GRU r,z,n)


def _init_recurrent(w: torch.Tensor, scheme: str, gain: float, gen: torch.Generator) -> None:
    """Initialise each (H, H) gate block of a recurrent weight in place."""
    h = w.shape[1]
    for blk in w.split(h, dim=0):
        if scheme == "xavier":
            blk.normal_(0.0, 1.0 / h ** 0.5, generator=gen)
        elif scheme == "orthogonal":
            q, r = torch.linalg.qr(torch.randn(h, h, generator=gen))
            blk.copy_(q * torch.sign(torch.diagonal(r)))
        elif scheme == "identity":
            blk.copy_(torch.eye(h))
        else:
            raise KeyError(scheme)
        blk.mul_(gain)


class RecurrentNet(nn.Module):
    def __init__(self, cell: str, in_dim: int, hidden: int, layers: int, out_dim: int, *,
                 init: str = "xavier", gain: float = 1.0, forget_bias: float = 1.0, seed: int = 0):
        super().__init__()
        self.cell, self.hidden, self.n_layers = cell, hidden, layers
        self.rnn = _MODULES[cell](in_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, out_dim)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for k in range(layers):
                w_ih = getattr(self.rnn, f"weight_ih_l{k}")
                fan_in = w_ih.shape[1]
                for blk in w_ih.split(hidden, dim=0):  # Xavier-normal per gate block
                    blk.normal_(0.0, (2.0 / (fan_in + hidden)) ** 0.5, generator=gen)
                _init_recurrent(getattr(self.rnn, f"weight_hh_l{k}"), init, gain, gen)
                getattr(self.rnn, f"bias_ih_l{k}").zero_()
                getattr(self.rnn, f"bias_hh_l{k}").zero_()
                if cell == "lstm":
                    getattr(self.rnn, f"bias_ih_l{k}")[hidden:2 * hidden] = forget_bias
            self.head.weight.normal_(0.0, (1.0 / hidden) ** 0.5, generator=gen)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, in) -> head output (B, out) from the top layer's last hidden state (fused kernels)."""
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(out[:, -1])

    def unrolled(self, x: torch.Tensor):
        """The same function, step by step: (output (B, out), top-layer h_t list, top-layer gates).

        ``gates`` maps a name to a list of tensors: LSTM ``forget`` (T × (B, H)) and ``all`` (i, f,
        o of each step in turn: 3T × (B, H)); GRU ``keep`` (the update gate z: share of h_{t-1}
        kept, T × (B, H)) and ``all`` (r and z, T × (B, 2H)); a tanh RNN has none.
        """
        b, T, _ = x.shape
        H, seq = self.hidden, x
        hs: list[torch.Tensor] = []
        gates: dict[str, list[torch.Tensor]] = {}
        for k in range(self.n_layers):
            w_ih, w_hh = getattr(self.rnn, f"weight_ih_l{k}"), getattr(self.rnn, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{k}"), getattr(self.rnn, f"bias_hh_l{k}")
            # every input projection at once, then one view per step: unbind's backward stacks the T
            # step gradients in one op, where indexing xp[:, t] would make T full-size zero tensors
            # (a tanh RNN's and an LSTM's recurrent bias joins the input's: z_t = addmm(x_t, h, W_hhᵀ))
            fold = self.cell != "gru"
            bias = b_ih + b_hh if fold else b_ih
            if self.cell == "lstm":  # gate blocks i, f, g, o -> i, f, o, g: one sigmoid, one tanh per step
                order = torch.tensor([0, 1, 3, 2], device=x.device)
                w_ih, w_hh = w_ih.view(4, H, -1)[order].flatten(0, 1), w_hh.view(4, H, H)[order].flatten(0, 1)
                bias = bias.view(4, H)[order].flatten()
            xs = torch.nn.functional.linear(seq, w_ih, bias).unbind(1)  # T × (B, G*H)
            w_hh_t = w_hh.t()
            top = k == self.n_layers - 1
            h = x.new_zeros(b, H)
            c = x.new_zeros(b, H)
            hs = []
            gates = {"forget": [], "all": []} if self.cell == "lstm" else {"keep": [], "all": []} if self.cell == "gru" else {}
            for t in range(T):
                if self.cell == "rnn":
                    h = torch.tanh(torch.addmm(xs[t], h, w_hh_t))
                elif self.cell == "lstm":
                    # split first: backward assembles dz in one cat (no zero blocks, no slices)
                    z_ifo, zg = torch.addmm(xs[t], h, w_hh_t).split((3 * H, H), dim=1)
                    ifo = torch.sigmoid(z_ifo)
                    i, f, o = ifo.split(H, dim=1)
                    c = torch.addcmul(f * c, i, torch.tanh(zg))
                    h = o * torch.tanh(c)
                    if top:
                        gates["forget"].append(f)
                        gates["all"].append(ifo)
                else:  # gru: r, z, n; h' = (1 - z) n + z h
                    # r and z sit side by side in both projections: one add and one sigmoid for
                    # both; n = tanh(xn + r·hn) in one fused op; h' = n + z (h - n) as a lerp.
                    xt = xs[t]
                    hp = torch.nn.functional.linear(h, w_hh, b_hh)  # (B, 3H): b_hn stays inside r·(…)
                    rz = torch.sigmoid(xt[:, :2 * H] + hp[:, :2 * H])
                    r, zg = rz.split(H, dim=1)
                    n = torch.tanh(torch.addcmul(xt[:, 2 * H:], r, hp[:, 2 * H:]))
                    h = torch.lerp(n, h, zg)
                    if top:
                        gates["keep"].append(zg)
                        gates["all"].append(rz)
                hs.append(h)
            seq = torch.stack(hs, dim=1)  # (B, T, H): the next layer's input
        return self.head(hs[-1]), hs, gates


def build_recurrent(spec, in_dim: int, out_dim: int) -> RecurrentNet:
    """A RecurrentSpec -> RecurrentNet (on the CPU; move it with ``.to``)."""
    return RecurrentNet(spec.cell, in_dim, spec.hidden, spec.layers, out_dim, init=spec.init, gain=spec.gain,
                        forget_bias=spec.forget_bias, seed=spec.seed)


__all__ = ["RecurrentNet", "build_recurrent"]
