"""The diagnosis: each verdict from synthetic profiles, the thresholds, and real preset runs."""
import numpy as np
import pytest

from hypothesis import given, settings, strategies as st

from labcore.figures.diagnose import THRESHOLDS, diagnose, hidden_profile, sentence
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from ui import strings_lab  # noqa: F401  (registers the translations)
from ui.i18n import missing, t


def chunk(grad_rows, dead=None, saturated=None, signal=None, act_std=None):
    """A chunk whose hidden layers have the given grad norms (the head gets 1.0).

    ``signal`` (the backprop signal ‖∂L/∂h‖ per hidden layer) defaults to the grad norms."""
    g = np.atleast_2d(np.asarray(grad_rows, dtype=float))
    r, l = g.shape
    layer = np.full((r, len(LAYER_METRICS), l + 1), np.nan)
    layer[:, LAYER_METRICS.index("grad_norm"), :l] = g
    layer[:, LAYER_METRICS.index("grad_norm"), l] = 1.0
    layer[:, LAYER_METRICS.index("out_grad_norm"), :l] = g if signal is None else signal
    layer[:, LAYER_METRICS.index("out_grad_norm"), l] = 1.0
    layer[:, LAYER_METRICS.index("act_std"), :l] = 1.0 if act_std is None else act_std
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
    assert sentence(d) == ("Vanishing gradients: the gradient ‖∂L/∂h‖ at the first hidden layer is 2e-11× "
                           "its value at the last one.")


def test_exploding_by_ratio_by_size_and_by_forward_growth():
    assert diagnose(chunk([[1e4, 10, 1.0]])).kind == "exploding"
    d = diagnose(chunk([[2e4, 2e4, 2e4]]))
    assert d.kind == "large" and sentence(d) == "Exploding gradients: the gradient ‖∂L/∂h‖ reaches 2e+04 at layer h1."
    d = diagnose(chunk([[1, 1, 1]], act_std=[[1, 30, 500]]))
    assert d.kind == "forward" and d.numbers["growth"] == pytest.approx(500)


def test_diverged_names_the_step():
    d = diagnose(chunk([[1, 1, 1]]), status="diverged", first_bad_step=37)
    assert d.kind == "diverged" and sentence(d) == "Exploding: the run diverged at step 37."


def test_healthy_and_uneven_use_the_spread_threshold():
    d = diagnose(chunk([[0.5, 1.0, 2.0]]))
    assert d.kind == "healthy"
    assert sentence(d) == "Healthy: the gradient ‖∂L/∂h‖ stays within 4× across depth (limit 10×)."
    assert diagnose(chunk([[0.05, 1.0, 2.0]])).kind == "uneven"  # spread 40 > 10, ratio 0.025 > 1e-3


def test_the_median_of_recent_steps_is_judged():
    rows = [[1e-9, 1, 1]] * 2 + [[1, 1, 1]] * 3  # the last THRESHOLDS.window rows decide
    assert THRESHOLDS.window == 5
    assert diagnose(chunk(rows)).kind == "healthy"
    g, names = hidden_profile(chunk(rows))
    assert names == ["h1", "h2", "h3"] and g.tolist() == [1, 1, 1]


def test_dead_units_and_saturation_come_as_notes_beside_a_working_flow():
    d = diagnose(chunk([[1, 1, 1]], dead=0.8))
    assert d.kind == "healthy" and [n.kind for n in d.notes] == ["dead"]
    assert d.notes[0].numbers["pct"] == pytest.approx(80)
    d = diagnose(chunk([[1, 1, 1]], saturated=0.9))
    assert [n.kind for n in d.notes] == ["saturated"]


def test_dead_or_saturated_units_are_named_before_a_flow_failure_which_stays_as_a_note():
    # a dead layer zeroes the signal below it: "dying ReLUs", not "vanishing 0e+00×"
    d = diagnose(chunk([[0.0, 0.0, 1.0]], signal=[[0.0, 0.0, 1.0]], dead=[[0.0, 1.0, 0.0]]))
    assert d.kind == "dead" and d.numbers["layer"] == "h2"
    assert [n.kind for n in d.notes] == ["vanishing"] and d.notes[0].numbers["ratio"] == 0
    # a saturated last layer makes first/last huge: "saturation", not "exploding"
    d = diagnose(chunk([[1.0, 1.0, 1e-5]], saturated=[[0.0, 0.0, 1.0]]))
    assert d.kind == "saturated" and [n.kind for n in d.notes] == ["exploding"]
    d = diagnose(chunk([[0.0, 0.0, 1.0]], dead=[[0.0, 1.0, 0.0]], saturated=[[0.9, 0, 0]]))
    assert [n.kind for n in d.notes] == ["saturated", "vanishing"]


def test_no_early_return_drops_the_notes():
    rows = dict(dead=0.9, saturated=0.8)
    for d in (diagnose(chunk([[1, 1, 1]], **rows), status="diverged", first_bad_step=3),
              diagnose(chunk([[0.0, 0.0, 0.0]], **rows)),
              diagnose(chunk([[1, 1, 1]], **rows)), diagnose(chunk([[1e-9, 1, 1]], **rows))):
        kinds = {d.kind} | {n.kind for n in d.notes}
        assert {"dead", "saturated"} <= kinds, (d.kind, d.notes)


def test_the_signal_is_judged_not_the_weight_gradient():
    # He init x1.5 in a ReLU net: ‖∇W‖ smaller at the input (the scale cancels), the signal 2e3× larger
    d = diagnose(chunk([[0.014, 0.5, 1.0]], signal=[[2.2e3, 40, 1.0]]))
    assert d.kind == "exploding" and d.numbers["ratio"] == pytest.approx(2.2e3) and d.numbers["q"] == "‖∂L/∂h‖"
    # a run recorded without the signal falls back to ‖∇W‖ and says so
    c = chunk([[2e-11, 1e-6, 1.0]])
    c.layer[:, LAYER_METRICS.index("out_grad_norm"), :] = np.nan
    d = diagnose(c)
    assert d.kind == "vanishing" and "‖∇W‖" in sentence(d)


@given(st.lists(st.floats(1e-12, 1e12), min_size=2, max_size=8), st.lists(st.floats(1e-3, 1e3), min_size=8,
                                                                            max_size=8))
@settings(max_examples=300, deadline=None)
def test_the_sentence_never_contradicts_its_numbers(signal, acts):
    n = len(signal)
    d = diagnose(chunk([[1.0] * n], signal=[signal], act_std=[acts[:n]]))
    nums, th = d.numbers, THRESHOLDS
    ratio, spread = signal[0] / signal[-1], max(signal) / min(signal)
    if d.kind == "vanishing":
        assert nums["ratio"] == pytest.approx(ratio) and ratio < th.vanishing_ratio < 1
    elif d.kind == "exploding":
        assert nums["ratio"] == pytest.approx(ratio) and ratio > th.exploding_ratio > 1
    elif d.kind == "forward":
        assert nums["growth"] == pytest.approx(acts[n - 1] / acts[0]) and nums["growth"] > th.forward_growth
    elif d.kind == "large":
        assert nums["norm"] > th.exploding_norm
    elif d.kind == "healthy":
        assert spread <= th.healthy_spread and nums["spread"] == pytest.approx(spread)
    else:
        assert d.kind == "uneven" and spread > th.healthy_spread
        assert th.vanishing_ratio <= ratio <= th.exploding_ratio
    sentence(d)  # formats


def test_waiting_zero_and_failed():
    assert diagnose(MetricsChunk.empty(["h1", "out"])).kind == "waiting"
    assert diagnose(chunk([[0.0, 0.0, 0.0]])).kind == "zero"
    assert diagnose(chunk([[1, 1, 1]]), status="failed", error="boom").kind == "failed"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_verdict_has_a_sentence_in_both_languages(lang):
    cases = [chunk([[2e-11, 1]]), chunk([[1e4, 1]]), chunk([[1, 1]]), chunk([[0.05, 1, 1]]),
             chunk([[1, 1]], dead=0.9, saturated=0.9), chunk([[2e4, 2e4]]), chunk([[1, 1]], act_std=[[1, 1e3]]),
             chunk([[0.0, 1.0]], dead=[[1.0, 0.0]])]
    kinds = set()
    for c in cases:
        d = diagnose(c)
        kinds |= {d.kind} | {n.kind for n in d.notes}
        for x in (d,) + d.notes:
            text = t(x.key, lang, **x.numbers)
            assert text != x.key and "{" not in text
    assert kinds >= {"vanishing", "exploding", "healthy", "uneven", "dead", "saturated", "large", "forward"}
    assert not missing()


def test_french_vanishing_sentence():
    d = diagnose(chunk([[2e-11, 1.0]]))
    assert t(d.key, "fr", **d.numbers) == ("Gradients évanescents : à la première couche cachée, le gradient ‖∂L/∂h‖ "
                                           "vaut 2e-11× sa valeur à la dernière.")
