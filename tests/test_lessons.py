"""Lessons as data: they load, they are short, their claims hold on seeds 0-4, their files are current.

``test_every_claim_holds_on_five_seeds`` is the `python -m labcore lessons check --json` run (every
lesson, seeds 0-4); it fails when any claim fails. The checker itself is shown able to fail.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from labcore.cli import main
from labcore.core.errors import SpecError
from labcore.figures import lesson_plots
from labcore.lessons import SEEDS, get_lesson, load_lessons, recorded
from labcore.lessons.claims import check_lesson, train
from labcore.lessons.model import Claim, parse_lesson

MAX_WORDS = 160  # "at most ~150 words" per language


def test_lessons_load_in_course_order_with_both_languages():
    lessons = load_lessons()
    assert len(lessons) >= 8
    assert [l.order for l in lessons] == sorted(l.order for l in lessons)
    for l in lessons:
        for lang in ("en", "fr"):
            assert l.words(lang) <= MAX_WORDS, (l.id, lang, l.words(lang))
            assert l.title[lang] and l.question[lang] and all(s[lang] for s in l.steps)
        assert l.title["en"] != l.title["fr"] or l.id == "batchnorm"
        assert l.claims and "a" in l.runs


def test_a_bad_lesson_is_one_clear_line():
    ok = {"title": {"en": "t", "fr": "t"}, "question": {"en": "q", "fr": "q"},
          "steps": [{"en": "s", "fr": "s"}], "look": {"text": {"en": "x", "fr": "x"}},
          "runs": {"a": {"label": {"en": "a", "fr": "a"}, "spec": {"net": {"depth": 2}}}},
          "claims": [{"text": {"en": "c", "fr": "c"}, "quantity": "ratio", "lt": 1}]}
    parse_lesson(ok, "ok")
    for bad, field in (({**ok, "claims": []}, "claims"),
                       ({**ok, "claims": [{**ok["claims"][0], "quantity": "vibes"}]}, "quantity"),
                       ({**ok, "claims": [{**ok["claims"][0], "run": "b"}]}, "run"),
                       ({**ok, "runs": {"a": {"label": ok["runs"]["a"]["label"], "spec": {"net": {"depth": 0}}}}}, "depth"),
                       ({**ok, "title": {"en": "only english"}}, "title")):
        with pytest.raises(SpecError) as e:
            parse_lesson(bad, "broken")
        assert "lesson broken" in str(e.value) and field in str(e.value) and "\n" not in str(e.value)


def test_cli_list_and_bad_lesson(capsys):
    assert main(["lessons", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [l.id for l in load_lessons()]
    assert main(["lessons", "check", "--lesson", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --lesson") and "\n" not in err
    assert main(["lessons", "check", "--seeds", "a,b"]) == 2


def test_every_claim_holds_on_five_seeds(capsys):
    code = main(["lessons", "check", "--json"])
    rows = json.loads(capsys.readouterr().out)
    failed = [(r["lesson"], r["claim"], r["values"]) for r in rows if not r["passed"]]
    assert not failed, failed
    assert code == 0
    assert {r["lesson"] for r in rows} == {l.id for l in load_lessons()}
    assert all(r["seeds"] == list(SEEDS) and len(r["values"]) == 5 for r in rows)


def test_a_false_claim_fails():
    lesson = get_lesson("init-relu")
    c = lesson.claims[0]  # Xavier's activation std ratio < 1e-2 (it is ~1e-3)
    wrong = replace(lesson, claims=(replace(c, bound=(1e-6,)),))
    rep = check_lesson(wrong, seeds=(0,))[0]
    assert not rep.passed and 1e-4 < rep.values[0] < 1e-2
    assert not Claim({"en": "", "fr": ""}, "ratio", "a", "lt", (1.0,)).holds(math.nan)


def test_recorded_files_are_current_and_reproduce_a_fresh_run():
    stale = [l.id for l in load_lessons() if not recorded.is_current(l)]
    assert not stale, f"run python scripts/record_lessons.py ({stale} changed)"
    lesson = get_lesson("init-relu")
    rec = recorded.load(lesson)["a"].metrics
    fresh = train(lesson.spec("a", recorded.SEED), 1).metrics
    np.testing.assert_allclose(rec.layer[0], fresh.layer[0], rtol=1e-4)
    # a changed lesson makes its file stale
    spec = lesson.spec("a")
    changed = replace(spec, train=replace(spec.train, lr=0.5))
    other = replace(lesson, runs={**lesson.runs, "a": replace(lesson.runs["a"], spec=changed)})
    assert recorded.load(other) is None


def test_lesson_chart_draws_theory_bound_and_arrow():
    lesson = get_lesson("vanishing")
    runs = recorded.load(lesson)
    from labcore.figures.theory_lab import predict_for

    m = runs["a"].metrics
    look = lesson_plots.look_point(m, "out_grad_norm", "first")
    assert look["x"] == 1 and look["drop"] > 1e6
    fig = lesson_plots.depth_profile([("sigmoid", m)], theory=[predict_for(lesson.spec("a", 0))],
                                     look={**look, "text": "here"}, big=True, title="t", raw=True)
    dashes = [t for t in fig["data"] if t.get("line", {}).get("dash") == "dash"]
    dots = [t for t in fig["data"] if t.get("line", {}).get("dash") == "dot"]
    assert len(dashes) == 1 and len(dots) == 1  # the prediction and the σ' ≤ ¼ bound
    ann = fig["layout"]["annotations"][0]
    assert ann["y"] == pytest.approx(math.log10(look["y"]))  # log axes place annotations in log10
    assert fig["layout"]["font"]["size"] >= lesson_plots.BIG_FONT
    y = fig["layout"]["yaxis"]
    assert y["type"] == "log" and y["dtick"] >= 1 and y["range"][1] - y["range"][0] >= 1
    assert lesson_plots.power_of_ten(2.8e12) == "10¹²" and lesson_plots.power_of_ten(3.0) == "3"


def test_log_axis_never_spans_less_than_a_decade():
    lesson = get_lesson("residual")
    m = recorded.load(lesson)["b"].metrics
    fig = lesson_plots.curves([("r", m)], "loss", raw=True)
    r = fig["layout"]["yaxis"]["range"]
    assert r[1] - r[0] >= 1 and fig["layout"]["yaxis"]["dtick"] >= 1


def test_readme_carries_the_check_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for lesson in load_lessons():
        for c in lesson.claims:
            assert f"| `{lesson.id}` | {c.text['en']} | {c.bound_text()} |" in readme, (lesson.id, c.text["en"])
