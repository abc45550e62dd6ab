"""The Lessons page's view: a lesson's text step by step, its charts, its toggles, the presenter mode.

A lesson opens with its recorded runs (labcore.lessons.recorded: seed 0, drawn at once); when a
recorded file is missing or stale the runs are trained once per server and kept. "Train" replays
the lesson live through the job manager (the sidebar's seed), and the charts follow it.

The presenter view (``?present=1``, or the button) hides the sidebar and Streamlit's header, sets
large type, keeps only the lesson's toggles, and binds → / PageDown and ← / PageUp (what a clicker
sends) to the next and previous step through ``streamlit-shortcuts``. The lesson, its step and the
mode live in the URL, so a reload or a shared link opens the same slide.
"""
from __future__ import annotations

import streamlit as st

from labcore.core.family import family_of
from labcore.core.status import Status
from labcore.figures import lesson_plots
from labcore.figures.theory_lab import predict_for
from labcore.lessons import Lesson, load_lessons
from labcore.lessons import recorded
from labcore.lessons.claims import RunResult, train
from labcore.spec.mlp import RunSpec, SpecError
from ui import polling, resources, state, widgets
from ui.i18n import t

ID, STEP, SHOW_B, THEORY, JOBS = "lessons_id", "lessons_step", "lessons_show_b", "lessons_theory", "lessons_jobs"
POLL_SECONDS = 0.5

PRESENT_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 1.5rem !important; padding-bottom: 0 !important;
  max-width: 100% !important; padding-left: 1.2rem !important; padding-right: 1.2rem !important; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 22px; line-height: 1.35; }
[data-testid="stMain"] h2 { font-size: 30px; padding: 0 0 0.2rem 0; }
.stButton button p, [data-testid="stWidgetLabel"] p, .stToggle label p { font-size: 20px !important; white-space: nowrap; }
[data-testid="stMain"] * { word-break: normal !important; overflow-wrap: normal !important; hyphens: manual; }
[data-testid="stVerticalBlock"] { gap: 0.45rem; }
.st-key-lesson_text p { margin-bottom: 0.2rem; }
.st-key-lesson_bar p { white-space: nowrap; }
</style>
"""
NORMAL_CSS = """
<style>
.stButton button p, .stToggle label p, .st-key-lesson_bar p { white-space: nowrap; }
[data-testid="stMain"] * { word-break: normal !important; overflow-wrap: normal !important; hyphens: manual; }
</style>
"""


@st.cache_resource(show_spinner=False)
def _trained_once(lesson_id: str, fingerprint: str) -> dict[str, RunResult]:
    """A lesson whose recorded file is missing or stale: its runs, trained once per server."""
    lesson = next(l for l in load_lessons() if l.id == lesson_id)
    return {k: train(lesson.spec(k, recorded.SEED)) for k in lesson.runs}


def lesson_runs(lesson: Lesson) -> dict[str, RunResult]:
    got = recorded.load(lesson)
    if got is None:
        with st.spinner(t("lessons.computing", state.lang())):
            got = _trained_once(lesson.id, recorded.fingerprint(lesson))
    return got


@st.cache_data(show_spinner=False, max_entries=64)
def _head(lesson: Lesson, key: str) -> int:
    """Trailing probe points of the run's family that are not hidden layers (its head)."""
    return family_of(lesson.spec(key)).head_points


def _prediction(spec: RunSpec):
    return predict_for(spec) if isinstance(spec, RunSpec) else None


@st.cache_resource(show_spinner=False)
def _lessons() -> list[Lesson]:
    return load_lessons()


# ----------------------------------------------------------------------------- navigation
def _where() -> tuple[list[Lesson], int, int]:
    """The lessons, the current one's index and its step (from session state, else the URL)."""
    ss, lessons = st.session_state, _lessons()
    ids = [l.id for l in lessons]
    if ID not in ss:
        qp = st.query_params
        ss[ID] = qp.get("lesson") if qp.get("lesson") in ids else ids[0]
        try:
            ss[STEP] = int(qp.get("step", 1)) - 1
        except ValueError:
            ss[STEP] = 0
    if ss[ID] not in ids:
        ss[ID] = ids[0]
    i = ids.index(ss[ID])
    ss[STEP] = max(0, min(int(ss.get(STEP, 0)), len(lessons[i].steps) - 1))
    return lessons, i, ss[STEP]


def _move(delta: int) -> None:
    ss = st.session_state
    lessons, i, step = _where()
    step += delta
    if step >= len(lessons[i].steps):
        if i + 1 < len(lessons):
            i, step = i + 1, 0
        else:
            step = len(lessons[i].steps) - 1
    elif step < 0:
        if i > 0:
            i, step = i - 1, len(lessons[i - 1].steps) - 1
        else:
            step = 0
    ss[ID], ss[STEP] = lessons[i].id, step


def _pick() -> None:
    st.session_state[ID], st.session_state[STEP] = st.session_state["lessons_pick"], 0


def _set_present(on: bool) -> None:
    if on:
        st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]


# ----------------------------------------------------------------------------- live runs
def _train_live(lesson: Lesson, keys: list[str]) -> None:
    ss, lang = st.session_state, state.lang()
    seed = state.seed()
    try:
        jobs = resources.manager().submit_group([lesson.spec(k, seed) for k in keys], owner=state.owner_id(),
                                                names=[f"{lesson.id} · {lesson.runs[k].label[lang]}" for k in keys],
                                                share=True, reuse_done=True)  # a class on one lesson: trained once
    except SpecError as e:
        ss["lessons_error"] = str(e)
        return
    ss[JOBS] = {"lesson": lesson.id, "ids": [j.id for j in jobs], "keys": keys, "seed": seed}


def _stop_live() -> None:
    info = st.session_state.get(JOBS) or {}
    m = resources.manager()
    jobs = [j for j in (m.get(i) for i in info.get("ids", [])) if j is not None]
    mine = m.private(jobs, state.owner_id())  # a run shared with other sessions goes on for them
    if mine is not jobs:
        info["ids"] = [j.id for j in mine]
    for job in mine:
        job.stop()


def _live_views(lesson: Lesson):
    info = st.session_state.get(JOBS)
    if not info or info["lesson"] != lesson.id:
        return None
    views = {}
    for k, jid in zip(info["keys"], info["ids"]):
        job = resources.manager().get(jid)
        if job is None:
            return None
        views[k] = job.view()
    return views


# ----------------------------------------------------------------------------- drawing
def _labels(lang: str) -> dict:
    return {k: t(f"lplot.{k}", lang) for k in lesson_plots.LABELS}


def _look(lesson: Lesson, runs: dict[str, RunResult], lang: str, metric: str) -> dict | None:
    lk = lesson.look
    if lk.run not in runs or lk.metric != metric:
        return None
    p = lesson_plots.look_point(runs[lk.run].metrics, lk.metric, lk.where, lk.at, runs[lk.run].head)
    if p is None:
        return None
    value = f"{p['y']:.0%}" if lk.metric in lesson_plots.PERCENT_METRICS else f"{p['y']:.2g}"
    if lang == "fr":
        value = value.replace(".", ",").replace("%", " %")
    return {**p, "text": lk.text[lang].format(value=value, drop=lesson_plots.power_of_ten(p["drop"]),
                                                 gain=lesson_plots.power_of_ten(p["gain"]))}


def _figure(kind: str, lesson: Lesson, runs: dict[str, RunResult], keys: list[str], lang: str, big: bool,
            theory: bool, height: int) -> dict:
    pairs = [(lesson.runs[k].label[lang], runs[k].metrics) for k in keys if k in runs]
    labels, title = _labels(lang), t(f"lessons.chart.{kind}", lang)
    if kind in ("loss", "accuracy"):
        return lesson_plots.curves(pairs, kind, labels=labels, height=height, big=big, title=title, raw=True)
    metric = "out_grad_norm" if kind == "grad" else kind
    preds = [_prediction(lesson.spec(k, 0)) for k in keys] if theory else None
    return lesson_plots.depth_profile(pairs, metric, theory=preds, look=_look(lesson, runs, lang, metric),
                                      labels=labels, height=height, big=big, title=title, raw=True,
                                      head=_head(lesson, keys[0]))


def _charts(lesson: Lesson, lang: str, present: bool) -> None:
    ss = st.session_state
    keys = [k for k in lesson.runs if k == "a" or ss.get(SHOW_B, True)]
    views = _live_views(lesson)
    if views:
        runs = {k: RunResult(v.status, v.metrics, _head(lesson, k)) for k, v in views.items()}
        steps = min(v.steps for v in views.values())
        total = max(v.total_steps for v in views.values())
        active = any(v.active for v in views.values())
        seed = ss[JOBS]["seed"]
        note = t("lessons.live", lang, steps=steps, total=total) if active else t("lessons.live_done", lang, seed=seed)
        errors = [v.error for v in views.values() if v.error and v.status != Status.DIVERGED]
        if errors:
            st.error(t("lessons.run_error", lang, error=errors[0]), icon="⚠️")
    else:
        runs, active = lesson_runs(lesson), False
        note = t("lessons.recorded", lang, seed=state.seed())
    theory = lesson.theory and ss.get(THEORY, True)
    height = 360 if present else 420
    rev = f"{lesson.id}:{'live' if views else 'rec'}:{','.join(keys)}:{theory}"
    left, right = st.columns(2, gap="small")
    with left:
        widgets.chart(_figure(lesson.chart, lesson, runs, keys, lang, present, theory, height), "lesson_main",
                      live=active, rev=rev, priority=True)
    with right:
        widgets.chart(_figure(lesson.second, lesson, runs, keys, lang, present, theory, height), "lesson_second",
                      live=active, rev=rev)
    drawn = theory and {lesson.chart, lesson.second} & {"grad", "act_std"}  # charts with a theory line
    st.caption(note + ("  \n" + t("lessons.theory_note", lang) if drawn else ""))
    polling.track("lessons_live_state", active)  # ended: the page reruns at the next poll (stops polling)


def _controls(lesson: Lesson, lang: str, present: bool) -> None:
    """One row that wraps when narrow: back, step, next, the lesson's toggles, Train/Stop, presenter on/off."""
    ss = st.session_state
    _, i, step = _where()
    row = st.container(horizontal=True, vertical_alignment="center", gap="small", key="lesson_bar")
    with row:
        st.button(t("lessons.prev", lang), key="lesson_prev", on_click=_move, args=(-1,))
        st.markdown(t("lessons.step_of", lang, i=step + 1, n=len(lesson.steps)), width="content")
        st.button(t("lessons.next", lang), key="lesson_next", on_click=_move, args=(1,), type="primary")
        if "b" in lesson.toggles and "b" in lesson.runs:
            st.toggle(t("lessons.show_b", lang), key=SHOW_B)
        if "theory" in lesson.toggles and lesson.theory:
            st.toggle(t("lessons.theory", lang), key=THEORY)
        views = _live_views(lesson)
        running = bool(views) and any(v.active for v in views.values())
        keys = [k for k in lesson.runs if k == "a" or ss.get(SHOW_B, True)]
        if running:
            st.button(t("lessons.stop", lang), key="lesson_stop", on_click=_stop_live)
        else:
            st.button(t("lessons.train", lang), key="lesson_train", on_click=_train_live, args=(lesson, keys))
        if present:
            st.button(t("lessons.leave", lang), key="lesson_exit", on_click=_set_present, args=(False,))
        else:
            st.button(t("lessons.present", lang), key="lesson_present", on_click=_set_present, args=(True,))


def render(present: bool) -> None:
    """The whole page (the page file only decides ``present``)."""
    ss, lang = st.session_state, state.lang()
    ss.setdefault(SHOW_B, True)
    ss.setdefault(THEORY, True)
    ss[SHOW_B], ss[THEORY] = ss[SHOW_B], ss[THEORY]  # keep them when a slide has no such toggle
    st.markdown(PRESENT_CSS if present else NORMAL_CSS, unsafe_allow_html=True)
    try:
        lessons, i, step = _where()
    except SpecError as e:
        st.error(t("lessons.error", lang, error=e), icon="⚠️")
        return
    lesson = lessons[i]
    st.query_params["lesson"], st.query_params["step"] = lesson.id, str(step + 1)
    if not present:
        ss["lessons_pick"] = lesson.id
        st.selectbox(t("lessons.pick", lang), [l.id for l in lessons], key="lessons_pick", on_change=_pick,
                     format_func=lambda x: next(l.title[lang] for l in lessons if l.id == x))
    st.markdown(f"## {lesson.title[lang]}")
    _controls(lesson, lang, present)
    if ss.pop("lessons_error", None):
        st.error(t("lessons.error", lang, error=ss.get("lessons_error", "")), icon="⚠️")
    with st.container(key="lesson_text"):
        text = lesson.steps[step][lang]
        if step == len(lesson.steps) - 1:
            text += f"\n\n**{t('lessons.question', lang)} :** {lesson.question[lang]}" if lang == "fr" else \
                f"\n\n**{t('lessons.question', lang)}:** {lesson.question[lang]}"
        st.markdown(text)
    views = _live_views(lesson)
    active = bool(views) and any(v.active for v in views.values())
    polling.live_fragment("lesson", _charts, POLL_SECONDS, 0.04, active)(lesson, lang, present)
    if present:
        from streamlit_shortcuts import add_shortcuts

        add_shortcuts(lesson_next=["arrowright", "pagedown"], lesson_prev=["arrowleft", "pageup"])
        return
    with st.expander(t("lessons.claims", lang)):
        st.markdown("\n".join(f"- {c.text[lang]}: {c.bound_text()}" for c in lesson.claims))
