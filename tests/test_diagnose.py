"""The diagnosis: each verdict from synthetic profiles, the thresholds, and real preset runs."""
import numpy as np
import pytest

from labcore.figures.diagnose import THRESHOLDS, diagnose, hidden_profile, sentence
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from ui import strings_lab  # noqa: F401  (registers the translations)
from ui.i18n import missing, t


def chunk(grad_rows, dead=None, saturated=None):
    """A chunk whose hidden layers have the given grad norms (the head gets 1.0)."""
    g = np.atleast_2d(np.asarray(grad_rows, dtype=float))
    r, l = g.shape
    layer = np.full((r, len(LAYER_METRICS), l + 1), np.nan)
    layer[:, LAYER_METRICS.index("grad_norm"), :l] = g
    layer[:, LAYER_METRICS.index("grad_norm"), l] = 1.0
    if dead is not None:
        layer[:, LAYER_METRICS.index("dead"), :l] = dead
    if saturated is not None:
        layer[:, LAYER_METRICS.index("saturated"), :l] = saturated
    names = [f"h{i + 1}" for i in range(l)] + ["out"]
    return MetricsChunk(names, np.arange(1, r + 1), np.ones(r), np.ones(r), layer)


def test_vanishing_quotes_the_first_to_last_ratio():
    d = diagnose(chunk([[2e-11, 1e-6, 1.0]]))
    assert d.kind == "vanishing" and d.severity == "warning"
    assert d.numbers["ratio"] == pytest.approx(2e-11)
    assert sentence(d) == ("Vanishing gradients: the first hidden layer receives 2e-11× the gradient "
                           "of the last one.")


def test_exploding_by_ratio_and_by_size():
    assert diagnose(chunk([[1e4, 10, 1.0]])).kind == "exploding"
    assert diagnose(chunk([[2e4, 2e4, 2e4]])).kind == "exploding"


def test_diverged_names_the_step():
    d = diagnose(chunk([[1, 1, 1]]), status="diverged", first_bad_step=37)
    assert d.kind == "diverged" and sentence(d) == "Exploding: the run diverged at step 37."


def test_healthy_and_uneven_use_the_spread_threshold():
    d = diagnose(chunk([[0.5, 1.0, 2.0]]))
    assert d.kind == "healthy" and sentence(d) == "Healthy: gradient norms stay within 10× across depth."
    assert diagnose(chunk([[0.05, 1.0, 2.0]])).kind == "uneven"  # spread 40 > 10, ratio 0.025 > 1e-3


def test_the_median_of_recent_steps_is_judged():
    rows = [[1e-9, 1, 1]] * 2 + [[1, 1, 1]] * 3  # the last THRESHOLDS.window rows decide
    assert THRESHOLDS.window == 5
    assert diagnose(chunk(rows)).kind == "healthy"
    g, names = hidden_profile(chunk(rows))
    assert names == ["h1", "h2", "h3"] and g.tolist() == [1, 1, 1]


def test_dead_units_and_saturation_come_as_notes():
    d = diagnose(chunk([[1, 1, 1]], dead=0.8))
    assert d.kind == "healthy" and [n.kind for n in d.notes] == ["dead"]
    assert d.notes[0].numbers["pct"] == pytest.approx(80)
    d = diagnose(chunk([[1, 1, 1]], saturated=0.9))
    assert [n.kind for n in d.notes] == ["saturated"]


def test_waiting_zero_and_failed():
    assert diagnose(MetricsChunk.empty(["h1", "out"])).kind == "waiting"
    assert diagnose(chunk([[0.0, 0.0, 0.0]])).kind == "zero"
    assert diagnose(chunk([[1, 1, 1]]), status="failed", error="boom").kind == "failed"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_verdict_has_a_sentence_in_both_languages(lang):
    cases = [chunk([[2e-11, 1]]), chunk([[1e4, 1]]), chunk([[1, 1]]), chunk([[0.01, 1, 1]]),
             chunk([[1, 1]], dead=0.9, saturated=0.9)]
    for c in cases:
        d = diagnose(c)
        for x in (d,) + d.notes:
            text = t(x.key, lang, **x.numbers)
            assert text != x.key and "{" not in text
    assert not missing()


def test_french_vanishing_sentence():
    d = diagnose(chunk([[2e-11, 1.0]]))
    assert t(d.key, "fr", **d.numbers).startswith("Gradients évanescents : la première couche cachée reçoit 2e-11×")


def test_real_runs_of_the_teaching_presets():
    from dataclasses import replace

    from labcore.presets import load_preset
    from labcore.train.mlp import Trainer

    def run(name, steps=40):
        spec = load_preset(name).spec
        tr = Trainer(replace(spec, train=replace(spec.train, steps=steps, device="cpu")))
        c = tr.run()
        return diagnose(c, tr.status, tr.first_bad_step)

    assert run("sigmoid-deep").kind == "vanishing"
    assert run("exploding").kind in ("diverged", "exploding")
    assert run("batchnorm").kind in ("healthy", "uneven")
