"""The paper's degradation problem (He et al. 2016, Fig. 1 / Fig. 6), reproduced on ``digits``.

The recipe is the one the Models page and the CLI share (:data:`DEFAULT_RECIPE`, ModelRunSpec's
defaults: SGD 0.9, wd 1e-4, batch 128, lr 0.1 after a 1-epoch linear warm-up, divided by 10 at 50 %
and 75 %, 6 epochs of the 1,438 8x8 training digits, zero-init residual branches). Nothing is
shrunk: the test runs the default recipe itself on seeds 0, 1, 2 (12 runs, about a minute on 2
idle CPU cores). Measured final training losses, seeds 0/1/2: plain-20 0.055/0.052/0.062,
plain-56 2.263/2.283/2.281 (stalls near log 10 = 2.30), ResNet-20 0.351/0.348/0.256, ResNet-56
0.121/0.142/0.141.

He et al. §4.1: the degradation is an optimisation difficulty, not vanishing gradients. The test
checks that too: at the first step plain-56's gradient is *larger* at the input side than at the
output side.
"""
import pytest

from labcore.spec.model import DEFAULT_RECIPE, ModelRunSpec, degradation_spec
from labcore.train.image import ImageTrainer

RECIPE = dict(dataset="digits", record_every=11, flush_every=66, device="cpu")


def _train(depth: int, residual: bool, seed: int):
    tr = ImageTrainer(degradation_spec(depth, residual, seed=seed, **RECIPE))
    metrics = tr.run()
    assert tr.status == "finished"
    return tr.epochs_log[-1]["train_loss"], metrics


def test_the_default_recipe_is_shared_by_the_page_and_the_cli():
    from labcore.cli import build_parser
    from labcore.cli.run import spec_from_args

    spec = ModelRunSpec()
    assert {k: getattr(spec, k) for k in DEFAULT_RECIPE} == DEFAULT_RECIPE
    assert degradation_spec(56, True) == ModelRunSpec(model="resnet56")  # what the page submits by default
    cli = spec_from_args(build_parser().parse_args(["run", "--model", "resnet56"]))
    assert {k: getattr(cli, k) for k in DEFAULT_RECIPE} == DEFAULT_RECIPE
    off = spec_from_args(build_parser().parse_args(["run", "--model", "resnet56", "--no-zero-init-residual"]))
    assert off.zero_init_residual is False


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plain56_degrades_and_resnet56_does_not(seed):
    plain20, _ = _train(20, False, seed)
    plain56, m_plain56 = _train(56, False, seed)
    resnet20, _ = _train(20, True, seed)
    resnet56, _ = _train(56, True, seed)
    print(f"seed {seed}: final training loss plain-20 {plain20:.3f} plain-56 {plain56:.3f} "
          f"resnet-20 {resnet20:.3f} resnet-56 {resnet56:.3f}")
    assert plain56 > plain20 + 0.5  # degradation: the deeper plain net fits the training set worse
    assert resnet56 <= resnet20  # the paper's Fig. 6: the deeper ResNet fits at least as well
    assert resnet56 < plain56 - 0.5
    # §4.1: not vanishing gradients. At step 1 the second conv layer (the first one that reads a
    # hidden layer, not the image) gets more gradient than the last hidden layer.
    g = m_plain56.metric("grad_norm")
    assert m_plain56.steps[0] == 1 and g[0, 1] > g[0, -2], (g[0, 1], g[0, -2])
