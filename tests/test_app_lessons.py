"""AppTest of the Lessons page: recorded results drawn at once, steps, the presenter mode, Train live."""
import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from labcore.lessons import load_lessons
from tests.charts import chart_specs

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_lessons(lang="en", present=False, lesson=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    if present:
        at.query_params["present"] = "1"
    if lesson:
        at.query_params["lesson"] = lesson
    at.switch_page("pages/lessons.py")
    return at.run()


def no_exceptions(at):
    assert not at.exception, [e.value for e in at.exception]


def _main(at) -> dict:
    return chart_specs(at)["lesson_main"]


def test_lesson_opens_with_recorded_result_theory_and_arrow():
    t0 = time.perf_counter()
    at = open_lessons()
    no_exceptions(at)
    assert time.perf_counter() - t0 < 60  # (AppTest's own start dominates; the browser test times the page)
    fig = _main(at)
    names = [t.get("name", "") for t in fig["data"]]
    assert any("step 300" in n for n in names)  # the recorded run, drawn without training
    assert any(t.get("line", {}).get("dash") == "dash" for t in fig["data"])  # theory line
    assert any(t.get("line", {}).get("dash") == "dot" for t in fig["data"])  # σ' ≤ ¼ bound
    assert "smaller than at the output" in fig["layout"]["annotations"][0]["text"]
    assert any("Step 1 of 3" in m.value for m in at.markdown)
    assert any(s.key == "lessons_pick" for s in at.selectbox)


def test_theory_toggle_removes_the_dashed_line():
    at = open_lessons()
    next(t for t in at.toggle if t.key == "lessons_theory").set_value(False).run()
    no_exceptions(at)
    assert not any(t.get("line", {}).get("dash") == "dash" for t in _main(at)["data"])


def test_next_walks_steps_then_the_next_lesson_in_french_presenter_mode():
    lessons = load_lessons()
    at = open_lessons("fr", present=True)
    no_exceptions(at)
    assert not at.main.selectbox  # the presenter view keeps only the lesson's controls
    assert {b.key for b in at.main.button} == {"lesson_prev", "lesson_next", "lesson_train", "lesson_exit"}
    for step in range(2, len(lessons[0].steps) + 1):
        at.button(key="lesson_next").click().run()
        assert any(f"Étape {step} sur" in m.value for m in at.markdown)
    at.button(key="lesson_next").click().run()
    no_exceptions(at)
    assert at.query_params["lesson"] == [lessons[1].id] or at.query_params["lesson"] == lessons[1].id
    assert any(lessons[1].title["fr"] in m.value for m in at.markdown)
    at.button(key="lesson_prev").click().run()
    assert any(lessons[0].title["fr"] in m.value for m in at.markdown)
    fig = _main(at)
    assert "plus petit qu'à la sortie" in fig["layout"]["annotations"][0]["text"]
    assert not any("step" in t.get("name", "") for t in fig["data"])  # no English in the legend


def test_train_replays_the_lesson_live():
    at = open_lessons(lesson="dead-relu")
    no_exceptions(at)
    at.button(key="lesson_train").click().run()
    no_exceptions(at)
    from ui import resources

    ids = at.session_state["lessons_jobs"]["ids"]
    assert len(ids) == 2
    deadline = time.time() + 180
    while time.time() < deadline:
        jobs = [resources.manager().get(i) for i in ids]
        if all(j is not None and j.done for j in jobs):
            break
        time.sleep(0.5)
    at.run()
    no_exceptions(at)
    assert any("Trained live" in c.value for c in at.caption)
    fig = _main(at)
    assert any("step 300" in t.get("name", "") for t in fig["data"])
