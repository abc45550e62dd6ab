"""The paper's degradation problem (He et al. 2016, Fig. 1 / Fig. 6), reproduced on ``digits``.

Same recipe for all three (SGD 0.9, wd 1e-4, batch 128, lr 0.1 after a 1-epoch linear warm-up,
divided by 10 at 50 % and 75 %), 6 epochs of the 1,438 8x8 training digits: plain-20 fits them,
plain-56 stalls near chance (training loss ~2.26 = log 10), ResNet-56 fits them. About a minute
on 2 CPU cores (measured: plain-20 0.055, plain-56 2.263, ResNet-56 0.137).
"""
import pytest

from labcore.train.image import ImageTrainer
from labcore.spec.model import degradation_spec

RECIPE = dict(dataset="digits", epochs=6, warmup_epochs=1.0, record_every=11, flush_every=66, device="cpu")


def _train(model_depth: int, residual: bool):
    tr = ImageTrainer(degradation_spec(model_depth, residual, **RECIPE))
    metrics = tr.run()
    assert tr.status == "finished"
    return tr.epochs_log[-1]["train_loss"], metrics


@pytest.mark.slow
def test_plain56_trains_worse_than_plain20_and_resnet56_fixes_it():
    plain20, _ = _train(20, False)
    plain56, m_plain56 = _train(56, False)
    resnet56, m_resnet56 = _train(56, True)
    print(f"training loss after 6 epochs: plain-20 {plain20:.3f}  plain-56 {plain56:.3f}  resnet-56 {resnet56:.3f}")
    assert plain56 > plain20 + 0.5  # degradation: the deeper plain net fits the training set worse
    assert resnet56 < plain56 - 0.5  # the residual twin does not
    assert resnet56 < 0.5 and plain20 < 0.5
    # And the gradient profiles show why: the input side of plain-56 gets relatively less gradient.
    assert m_plain56.first_last_ratio("grad_norm") < m_resnet56.first_last_ratio("grad_norm")
