"""A small transformer encoder with the LayerNorm after (Post-LN) or before (Pre-LN) each sublayer.

Written literally (nanoGPT style): ``x = LN(x + attn(x))`` for Post-LN, ``x = x + attn(LN(x))``
for Pre-LN (plus a final LN), then the same for the MLP. ``forward(tokens, trace)`` optionally
fills ``trace`` with what the probe reads at each sublayer: the residual stream it hands on
(with its gradient kept) and the LayerNorm's input.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, h, n, d/h)
        y = F.scaled_dot_product_attention(q, k, v)  # bidirectional (an encoder)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, pre: bool):
        super().__init__()
        self.pre = pre
        self.attn, self.mlp = Attention(d, heads), MLP(d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        for sub, ln in ((self.attn, self.ln1), (self.mlp, self.ln2)):
            if self.pre:
                ln_in = x
                x = x + sub(ln(x))
            else:
                ln_in = x + sub(x)
                x = ln(ln_in)
            if trace is not None:
                x.retain_grad()
                trace.append((x, ln_in))
        return x


class TransformerNet(nn.Module):
    def __init__(self, vocab: int, seq_len: int, d: int, layers: int, heads: int, ln: str, seed: int = 0):
        super().__init__()
        pre = ln == "pre"
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.zeros(seq_len, d))
        self.blocks = nn.ModuleList(Block(d, heads, pre) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d) if pre else nn.Identity()
        self.head = nn.Linear(d, vocab)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # Xavier weights, zero biases (Xiong et al. 2020's setting), N(0, 1) embeddings
            for name, p in self.named_parameters():
                if name.endswith("weight") and p.dim() == 2 and not name.startswith("tok"):
                    bound = (6.0 / (p.shape[0] + p.shape[1])) ** 0.5
                    p.uniform_(-bound, bound, generator=gen)
                elif name.endswith("bias"):
                    p.zero_()
            self.tok.weight.normal_(0.0, 1.0, generator=gen)
            self.pos.normal_(0.0, 0.1, generator=gen)

    def sublayer_weights(self) -> list[list[nn.Parameter]]:
        """The weight matrices of each probe point, in probe order (attn, mlp per block, then head)."""
        out = []
        for b in self.blocks:
            out += [[b.attn.qkv.weight, b.attn.proj.weight], [b.mlp.fc1.weight, b.mlp.fc2.weight]]
        return out + [[self.head.weight]]

    def forward(self, tokens: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        """tokens (B, n) -> logits (B, n, vocab)."""
        x = self.tok(tokens) + self.pos
        for b in self.blocks:
            x = b(x, trace)
        logits = self.head(self.ln_f(x))
        if trace is not None:
            logits.retain_grad()
            trace.append((logits, logits))
        return logits


def build_transformer(spec) -> TransformerNet:
    return TransformerNet(spec.vocab, spec.seq_len, spec.d_model, spec.layers, spec.heads, spec.ln, seed=spec.seed)


__all__ = ["TransformerNet", "build_transformer"]
