"""Network builders: pure functions spec -> ``nn.Module``, each exposing its ordered probe points.

:mod:`labcore.nets.mlp` (the Lab's stacks, with :mod:`labcore.nets.skips`), the convolutional
zoo (:mod:`labcore.nets.zoo`: plain/ResNet, VGG, AlexNet) and the name -> constructor tables
(:mod:`labcore.nets.registry`). May import: :mod:`labcore.core`, :mod:`labcore.spec`, torch.
"""
from labcore.nets.base import ProbePoint, init_weights
from labcore.nets.mlp import MLP, build_mlp

__all__ = ["MLP", "ProbePoint", "build_mlp", "init_weights"]
