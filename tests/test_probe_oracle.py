"""The probe's numbers against an independent computation: a reference network written here in
plain PyTorch (nn.Linear, nn.Sigmoid, ...; not labcore's builder), given the trainer's initial
weights, trained one step by plain autograd, its statistics computed here in numpy."""
import numpy as np
import pytest
import torch
from torch import nn

from labcore.data.tensors import BatchStream
from labcore.spec.mlp import LayerSpec, NetSpec, RunSpec, TrainSpec, DataSpec, InitSpec
from labcore.train.mlp import Trainer

CASES = {
    "sigmoid-deep": NetSpec.uniform(12, 32, "sigmoid", init="xavier_normal"),
    "relu-he-batchnorm": NetSpec.uniform(6, 24, "relu", norm="batchnorm", init="he_normal"),
    "tanh-residual-layernorm": NetSpec.uniform(6, 16, "tanh", norm="layernorm", skip="residual"),
    "mixed-widths-dense": NetSpec((LayerSpec(8, "relu"), LayerSpec(12, "gelu", skip="residual"),
                                   LayerSpec(6, "leaky_relu", skip="dense"), LayerSpec(10, "elu", norm="batchnorm"),
                                   LayerSpec(10, "identity", skip="residual")), InitSpec("orthogonal", 1.2)),
}

# What each activation is, written out here: its module, and which statistics apply to it.
ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
       "gelu": nn.GELU, "elu": nn.ELU, "identity": nn.Identity}
SATURATED = {"sigmoid": lambda a: (a <= 0.01) | (a >= 0.99),  # within 1% of the range of a bound
             "tanh": lambda a: np.abs(a) >= 0.98}
CAN_DIE = {"relu"}  # only ReLU passes no gradient below 0: a unit <= 0 on every example is dead (leaky, GELU, ELU never)


class Reference(nn.Module):
    """The MLP of a NetSpec: Linear -> norm -> activation, then the skip (none | residual | dense),
    then a linear head. Records every probed output (hidden activations, then the logits)."""

    def __init__(self, layers, in_dim: int, n_classes: int):
        super().__init__()
        self.spec_layers = layers
        self.linears, self.norms, self.acts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.projs = nn.ModuleDict()
        d = in_dim
        for i, l in enumerate(layers):
            self.linears.append(nn.Linear(d, l.width))
            self.norms.append({"none": nn.Identity, "batchnorm": nn.BatchNorm1d, "layernorm": nn.LayerNorm}[l.norm](l.width))
            self.acts.append(ACT[l.activation]())
            if l.skip == "residual" and d != l.width:
                self.projs[str(i)] = nn.Linear(d, l.width, bias=False)
            d = d + l.width if l.skip == "dense" else l.width
        self.head = nn.Linear(d, n_classes)
        self.outs: list[torch.Tensor] = []

    def forward(self, x):
        self.outs = []
        for i, l in enumerate(self.spec_layers):
            a = self.acts[i](self.norms[i](self.linears[i](x)))
            a.retain_grad()
            self.outs.append(a)
            if l.skip == "none":
                x = a
            elif l.skip == "residual":
                x = (self.projs[str(i)](x) if str(i) in self.projs else x) + a
            else:
                x = torch.cat([x, a], dim=1)
        logits = self.head(x)
        logits.retain_grad()
        self.outs.append(logits)
        return logits

    def weights(self):
        return [lin.weight for lin in self.linears] + [self.head.weight]


def trainer_names(ref: Reference) -> dict:
    """Reference parameter/buffer name -> the same tensor's name in labcore's MLP (its layout,
    stated here once; a change there fails loudly in :func:`copy_weights`)."""
    out = {}
    for name in ref.state_dict():
        part = name.split(".")
        if part[0] == "linears":
            out[name] = f"blocks.{part[1]}.linear.{part[2]}"
        elif part[0] == "norms":
            out[name] = f"blocks.{part[1]}.norm.{part[2]}"
        elif part[0] == "projs":
            out[name] = f"blocks.{part[1]}.skip.proj.{part[2]}"
        else:
            out[name] = name  # head.weight, head.bias
    return out


def copy_weights(ref: Reference, state: dict) -> None:
    names = trainer_names(ref)
    assert sorted(names.values()) == sorted(state), "every tensor of the trainer's model has its counterpart"
    ref.load_state_dict({r: state[t] for r, t in names.items()}, strict=True)


def reference_step(spec: RunSpec, trainer: Trainer, initial: dict) -> dict:
    """Step 1 by plain autograd on the reference: every statistic the probe records, in numpy."""
    torch.manual_seed(0)  # the reference's own construction draws: overwritten by the copy
    ref = Reference(spec.net.layers, trainer.data.in_dim, trainer.data.n_classes)
    copy_weights(ref, initial)
    ref.train()
    idx = BatchStream(len(trainer.data.y_train), spec.train.batch_size, spec.train.seed, torch.device("cpu")).next()
    x, y = trainer.data.x_train[idx], trainer.data.y_train[idx]
    logits = ref(x)
    loss = nn.functional.cross_entropy(logits, y)
    loss.backward()
    w0 = [w.detach().double().clone() for w in ref.weights()]
    torch.optim.Adam(ref.parameters(), lr=spec.train.lr).step()
    acts = [o.detach().double().numpy() for o in ref.outs]
    kinds = [l.activation for l in spec.net.layers] + ["identity"]
    return {
        "loss": loss.item(),
        "acc": (logits.argmax(1) == y).double().mean().item(),
        "grad_norm": [w.grad.double().norm().item() for w in ref.weights()],
        "weight_norm": [w.norm().item() for w in w0],
        "update_ratio": [(w.detach().double() - w_old).norm().item() / w_old.norm().item()
                         for w, w_old in zip(ref.weights(), w0)],
        "out_grad_norm": [o.grad.double().norm().item() for o in ref.outs],
        "act_mean": [a.mean() for a in acts],
        "act_std": [a.std(ddof=1) for a in acts],
        "saturated": [SATURATED[k](a).mean() if k in SATURATED else np.nan for a, k in zip(acts, kinds)],
        "dead": [(a <= 0).all(axis=0).mean() if k in CAN_DIE else np.nan for a, k in zip(acts, kinds)],
        "weights_after": [w.detach() for w in ref.weights()],
    }


TOLERANCE = {"grad_norm": (1e-5, 0), "weight_norm": (1e-6, 0), "update_ratio": (1e-4, 0),
             "out_grad_norm": (1e-5, 0), "act_mean": (1e-5, 1e-7), "act_std": (1e-5, 0),
             "saturated": (0, 1e-6), "dead": (0, 1e-6)}


def check_every_statistic(chunk, want: dict) -> None:
    assert chunk.steps.tolist() == [1]
    np.testing.assert_allclose(chunk.loss[0], want["loss"], rtol=1e-6)
    np.testing.assert_allclose(chunk.acc[0], want["acc"], atol=1e-6)
    for metric, (rtol, atol) in TOLERANCE.items():  # every per-layer statistic the probe records
        np.testing.assert_allclose(chunk.metric(metric)[0], want[metric], rtol=rtol, atol=atol, err_msg=metric)


@pytest.mark.parametrize("case", list(CASES))
def test_probe_matches_autograd(case):
    spec = RunSpec(CASES[case], TrainSpec(data=DataSpec("spirals", n_samples=400), optimizer="adam", lr=1e-2,
                                          batch_size=32, steps=5, seed=3, device="cpu"))
    trainer = Trainer(spec)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    chunk = trainer.steps(1)
    want = reference_step(spec, trainer, initial)
    check_every_statistic(chunk, want)
    # The trainer's weights after its step equal the reference's after the same Adam step.
    for p, q in zip(trainer.model.probe_points, want["weights_after"]):
        torch.testing.assert_close(p.weight, q)


def test_saturation_and_dead_fractions_match_numpy():
    spec = RunSpec(NetSpec((LayerSpec(16, "sigmoid"), LayerSpec(16, "relu"), LayerSpec(16, "tanh")),
                           InitSpec("normal", 1.0, 3.0)),  # large weights: saturated units
                   TrainSpec(data=DataSpec("moons", n_samples=300), batch_size=40, steps=3, seed=1))
    trainer = Trainer(spec)
    with torch.no_grad():  # a large negative bias keeps 5 ReLU units <= 0 on every example
        trainer.model.blocks[1].linear.bias[:5] = -100.0
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    chunk = trainer.steps(1)
    want = reference_step(spec, trainer, initial)
    check_every_statistic(chunk, want)
    sat, dead = chunk.metric("saturated")[0], chunk.metric("dead")[0]
    assert dead[1] == pytest.approx(5 / 16, abs=1e-6)  # exactly the five killed units
    assert 0 < sat[0] < 1 and 0 < sat[2] < 1  # the fixture exercises every count
    assert np.isnan(sat[1]) and np.isnan(dead[0]) and np.isnan(dead[2]) and np.isnan(sat[3])  # n/a -> missing
