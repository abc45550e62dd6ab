"""Lessons of the sequence families: they open on their family's page and their claims read the
right probe points (a recurrent run's points are all time steps; a transformer's last is its head).

The claims themselves are checked on seeds 0-4 with every other lesson's, by
tests/test_lessons.py::test_every_claim_holds_on_five_seeds.
"""
from __future__ import annotations

import numpy as np
import pytest

from labcore.core.errors import SpecError
from labcore.core.family import family_of
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.figures import lesson_plots
from labcore.lessons import get_lesson
from labcore.lessons.claims import RunResult, measure
from labcore.lessons.model import Claim, parse_lesson
from labcore.spec.recurrent import RecurrentSpec
from labcore.spec.transformer import TransformerSpec


def _chunk(names: list[str], profile: list[float]) -> MetricsChunk:
    layer = np.full((1, len(LAYER_METRICS), len(names)), np.nan)
    layer[0, LAYER_METRICS.index("out_grad_norm")] = profile
    layer[0, LAYER_METRICS.index("grad_norm")] = profile
    one = np.ones(1)
    return MetricsChunk(names, np.array([1]), one, one, layer)


def test_the_sequence_lessons_open_on_their_family_pages():
    rnn, tf = get_lesson("rnn-lstm"), get_lesson("post-ln")
    assert rnn.page == "sequences" and {type(r.spec) for r in rnn.runs.values()} == {RecurrentSpec}
    assert tf.page == "transformers" and {type(r.spec) for r in tf.runs.values()} == {TransformerSpec}
    assert [r.spec.cell for r in rnn.runs.values()] == ["rnn", "lstm"]
    assert [(r.spec.ln, r.spec.warmup_steps) for r in tf.runs.values()] == [("post", 0), ("pre", 0)]
    assert not rnn.theory and not tf.theory  # no MLP prediction is drawn over them


def test_a_ratio_reads_every_time_step_of_a_recurrent_run_and_skips_a_head():
    claim = Claim({"en": "", "fr": ""}, "ratio", "a", "lt", (1.0,), at="init")
    names = ["t1", "t2", "t3", "t4"]
    m = _chunk(names, [1e-6, 1e-3, 0.1, 1.0])
    head = family_of(RecurrentSpec()).head_points
    assert head == 0 and measure(RunResult("finished", m, head), claim) == pytest.approx(1e-6)  # h_1 / h_T
    assert measure(RunResult("finished", m, 1), claim) == pytest.approx(1e-5)  # h_1 / h_3: t4 taken for a head
    assert family_of(TransformerSpec()).head_points == 1
    look = lesson_plots.look_point(m, "out_grad_norm", "first", head=head)
    assert look["x"] == 1 and look["drop"] == pytest.approx(1e6)
    fig = lesson_plots.depth_profile([("rnn", m)], "out_grad_norm", head=head, raw=True)
    assert len(fig["data"][0]["x"]) == 4


def test_a_lesson_page_must_be_a_known_page():
    d = {"title": {"en": "t", "fr": "t"}, "question": {"en": "q", "fr": "q"}, "page": "sequences",
         "steps": [{"en": "s", "fr": "s"}], "look": {"text": {"en": "x", "fr": "x"}},
         "runs": {"a": {"label": {"en": "a", "fr": "a"}, "spec": {"kind": "rnn", "seq_len": 10}}},
         "claims": [{"text": {"en": "c", "fr": "c"}, "quantity": "ratio", "lt": 1, "at": "init"}]}
    assert parse_lesson(d, "ok").page == "sequences"
    with pytest.raises(SpecError) as e:
        parse_lesson({**d, "page": "nowhere"}, "bad")
    assert "page" in str(e.value) and "sequences" in str(e.value) and "transformers" in str(e.value)


def test_the_lessons_page_draws_the_recorded_through_time_profile():
    """AppTest: lesson rnn-lstm opens with its recorded runs: ‖∂L/∂h_t‖ over all 200 time steps, the arrow at t = 1."""
    from tests.test_app_lessons import _main, no_exceptions, open_lessons

    at = open_lessons(lesson="rnn-lstm")
    no_exceptions(at)
    fig = _main(at)
    lines = [tr for tr in fig["data"] if tr.get("x") is not None and len(tr["x"]) > 1]
    assert lines and all(len(tr["x"]) == 200 for tr in lines)
    assert fig["layout"]["annotations"][0]["x"] == 1
