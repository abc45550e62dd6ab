"""Model builders: pure functions spec -> nn.Module, each exposing its ordered probe points."""
from .base import ProbePoint, init_weights
from .mlp import MLP, build_mlp

__all__ = ["MLP", "ProbePoint", "build_mlp", "init_weights"]
