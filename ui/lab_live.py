"""The Lab's run panel: the action bar (Train, Pause, Step, Stop, Reset, Compare with) and the
live view of this session's runs.

The panel is a fragment, so pressing Train reruns the panel only, not the whole page of
controls: the browser redraws a few elements instead of the whole Lab (on a small machine that
was most of the time between the click and the first chart). Inside it, two nested fragments
poll the jobs while they run: a fast one (status, diagnosis, gradient charts, loss) and a slow
one (update ratios, activations, decision boundary, histograms). Re-running the panel declares
them again, which is how their polling starts and stops.

Nothing here trains or computes statistics: it reads :class:`labcore.train.jobs.JobView` objects and
hands them to :mod:`labcore.figures.plots` and :mod:`labcore.figures.diagnose`.
"""
from __future__ import annotations

import collections
import threading

import streamlit as st

from labcore.figures import plots
from labcore.core.status import RUNNING_OR_WAITING
from labcore.figures.diagnose import diagnose
from labcore.spec.twins import VARIANTS, twin
from labcore.figures import lesson_plots
from labcore.figures.theory_lab import predict_for
from labcore.spec.mlp import RunSpec
from ui import lab_session, polling, resources, slots, state, surgery, widgets
from ui.safe import md
from ui.i18n import t
from ui.keys import Keys

POLL_SECONDS = 0.4  # refresh of the gradient charts while a run is active (target >= 2 per second)
SLOW_SECONDS = 4.0  # refresh period of the secondary charts while training
POLL_PER_SESSION, SLOW_PER_SESSION = 0.04, 0.3  # ... at least this many seconds per open session
# While training, the heatmap and the loss (in the fast part) are rebuilt at most this often: the
# depth chart shows each new step, these two change little between polls, and each rebuild costs
# the server (GIL, shared with training) and the browser (a redraw) time the training thread loses.
BACK_SECONDS = 2 * POLL_SECONDS


def _L(key: str, **fmt) -> str:
    return t(key, state.lang(), **fmt)


# ----------------------------------------------------------------------------- jobs + actions
def session_jobs():
    """This session's jobs (A, and B when twinned) that the manager still knows."""
    m = resources.manager()
    return [j for j in (m.get(i) for i in st.session_state.get(Keys.JOBS, [])) if j is not None]


def _own(jobs):
    """This session's own copy of its runs before a control changes them (a shared run goes on
    for the others: :meth:`labcore.train.jobs.JobManager.private`)."""
    mine = resources.manager().private(jobs, state.owner_id())
    if mine is not jobs:
        st.session_state[Keys.JOBS] = [j.id for j in mine]
    return mine


def _submit(spec, paused: bool = False) -> None:
    ss = st.session_state
    m = resources.manager()
    for j in session_jobs():
        m.forget(j.id, owner=state.owner_id())
    name = ss.get(Keys.RUN_NAME) or _L("run.custom")
    specs, names = [spec], [name]
    variant = ss.get(Keys.TWIN, "none")
    if variant != "none":
        specs.append(twin(spec, variant))
        names.append(f"{name} · {_L(f'twin.{variant}')}")
    # Identical runs are trained once for every session that asks (a class on one preset); an
    # unchanged preset already run is handed back at once.
    jobs = m.submit_group(specs, owner=state.owner_id(), names=names, paused=paused, share=True,
                          reuse_done=lab_session.is_preset(spec))
    ss[Keys.JOBS] = [j.id for j in jobs]
    ss[Keys.JUST_STARTED] = True
    ss[Keys.DEFER_MORE] = True  # the first redraw after Train carries the gradient charts only
    if paused:
        for j in jobs:
            j.step()


def _on_train() -> None:
    if st.session_state.get(Keys.SPEC) is not None:
        _submit(st.session_state[Keys.SPEC])


def _on_pause() -> None:
    jobs = session_jobs()
    if any(j.paused for j in jobs):
        for j in jobs:
            j.resume()
    else:
        for j in _own(jobs):
            j.pause()


def _on_step() -> None:
    jobs = [j for j in session_jobs() if not j.done]
    if not jobs:
        if st.session_state.get(Keys.SPEC) is not None:
            _submit(st.session_state[Keys.SPEC], paused=True)
        return
    for j in _own(jobs):
        j.step()


def _on_stop() -> None:
    for j in _own([j for j in session_jobs() if not j.done]):
        j.stop()


def _on_reset() -> None:
    m = resources.manager()
    for j in session_jobs():
        m.forget(j.id, owner=state.owner_id())
    st.session_state[Keys.JOBS] = []


def _action_bar(jobs) -> None:
    ss, L = st.session_state, _L
    spec = ss.get(Keys.SPEC)
    active = [j for j in jobs if not j.done]
    paused = bool(active) and any(j.paused for j in active)
    # Buttons sized to their words in a row that wraps when narrow (French at 1280 wide cut
    # equal columns' labels: "Entr…", "Arrê…"); the twin picker keeps the rest of the line.
    left, right = st.columns([5, 3], vertical_alignment="bottom")
    bar = left.container(horizontal=True, gap="small", key="lab_action_bar")
    bar.button(L("btn.train"), key=Keys.TRAIN, type="primary", on_click=_on_train, disabled=spec is None,
               icon=":material/play_arrow:")
    bar.button(L("btn.resume") if paused else L("btn.pause"), key=Keys.PAUSE, on_click=_on_pause,
               disabled=not active, icon=":material/pause:" if not paused else ":material/play_arrow:")
    bar.button(L("btn.step"), key=Keys.STEP, on_click=_on_step, disabled=spec is None and not active,
               icon=":material/skip_next:", help=L("help.step"))
    bar.button(L("btn.stop"), key=Keys.STOP, on_click=_on_stop, disabled=not active, icon=":material/stop:")
    bar.button(L("btn.reset"), key=Keys.RESET, on_click=_on_reset, disabled=not jobs, icon=":material/restart_alt:")
    c = [None] * 5 + [right]
    lang = state.lang()  # bound now: a format_func may be called outside a script run
    c[5].selectbox(L("ctl.twin"), list(VARIANTS), key=Keys.TWIN, persist_state="session",
                   format_func=lambda k: t(f"twin.{k}", lang), help=L("help.twin"))
    if ss[Keys.TWIN] != (st.query_params.get("twin") or "none"):  # the link carries the twin too
        if ss[Keys.TWIN] == "none":
            st.query_params.pop("twin", None)
        else:
            st.query_params["twin"] = ss[Keys.TWIN]


@st.fragment
@slots.gated
def panel() -> None:
    """Action bar + live view. Reruns alone when one of its buttons is pressed."""
    jobs = session_jobs()
    _action_bar(jobs)
    surgery.panel(jobs)  # live changes while a run trains or is paused
    running = any(j.status in RUNNING_OR_WAITING for j in jobs)
    if jobs:  # which gradient the depth chart shows; here, not in the polling fragment (cheaper)
        labels = widgets.plot_labels(state.lang())
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        c1.radio(_L("chart.depth_metric"), ["out_grad_norm", "grad_norm"], key=Keys.DEPTH_METRIC,
                 persist_state="session", format_func=lambda k: labels[k], horizontal=True)
        c2.toggle(_L("chart.theory"), key=Keys.THEORY, persist_state="session", help=_L("chart.theory_help"))
    # polling slows down as more sessions are open (a class): ui/polling.py
    polling.live_fragment("lab", _live, POLL_SECONDS, POLL_PER_SESSION, running)()
    polling.live_fragment("lab_more", _live_more, SLOW_SECONDS, SLOW_PER_SESSION, running)()


# ----------------------------------------------------------------------------- live view
def _views():
    """(jobs, their views, tags "A"/"B", chart run list, cache key, zoom key) of this session's runs."""
    jobs = session_jobs()
    views = [j.view() for j in jobs]
    tags = ["A", "B"][:len(views)]
    if len(views) == 1:
        runs = [(views[0].name, views[0].metrics)]
    else:
        runs = [(tag, v.metrics) for tag, v in zip(tags, views)]
    ver = tuple((v.id, v.version) for v in views) + (state.lang(),)
    rev = "-".join(v.id for v in views)  # the user's zoom survives refreshes of the same runs
    return jobs, views, tags, runs, ver, rev


@st.cache_data(show_spinner=False, max_entries=32)
def _prediction(spec):
    """The mean-field prediction for an MLP spec at init (None for other families or non-plain stacks)."""
    return predict_for(spec) if isinstance(spec, RunSpec) else None


def _theory(fig: dict, views, runs, metric: str, on: bool) -> dict:
    """The dashed prediction on a per-layer chart when the theory toggle is on."""
    if not on:
        return fig
    label = _L("chart.theory_legend")
    return lesson_plots.overlay_theory(fig, runs, [_prediction(v.spec) for v in views], metric, label)


def _per_run(name: str, views, tags, ver, rev, streaming: bool, build, every: float = 0.0) -> None:
    """One chart per run, side by side (A | B): ``build(view, tag)`` makes run ``tag``'s figure."""
    cols = st.columns(len(views))
    for i, (v, tag) in enumerate(zip(views, tags)):
        with cols[i]:
            widgets.cached_chart(f"{name}{i}", ver, lambda v=v, tag=tag: build(v, tag), key=Keys.chart(f"{name}{i}"),
                                 live=streaming, rev=rev, every=every, shared=True, hold=_hold(rev, views))


def _hold(rev, views) -> tuple:
    """What a throttled chart's previous figure must share to stand in: the runs, their events, status."""
    return (rev,) + tuple((len(v.events), str(v.status)) for v in views)


_DIAGNOSES: collections.OrderedDict = collections.OrderedDict()  # (run, version, ...) -> diagnosis
_DIAGNOSES_LOCK = threading.Lock()


def _diagnosis(v):
    """The diagnosis of a view, computed once per version of the run for every session watching
    it (a class on one shared run: once, not thirty times)."""
    key = (v.id, v.version, v.status, v.summary.get("first_bad_step"), v.error)
    with _DIAGNOSES_LOCK:  # held while computing: the sessions polling the same version wait for it
        hit = _DIAGNOSES.get(key)
        if hit is None:
            hit = _DIAGNOSES[key] = diagnose(v.metrics, v.status, v.summary.get("first_bad_step"), v.error)
            while len(_DIAGNOSES) > 64:
                _DIAGNOSES.popitem(last=False)
        return hit


def _status(views, tags) -> None:
    L, two = _L, len(views) > 1
    for v, tag in zip(views, tags):
        name, s = (f"{tag} · {v.name}" if two else v.name), v.summary
        if v.status == "queued":
            st.info(L("live.queued", name=name, position=v.position or 1), icon=":material/hourglass_top:")
            continue
        st.progress(min(1.0, v.steps / max(1, v.total_steps)),
                    text=L("live.status", name=name, status=L(f"status.{v.status}"), steps=v.steps,
                           total=v.total_steps, sps=s.get("wall_steps_per_second", 0.0),
                           device=widgets.device_text(s.get("device") or "…", state.lang())))
        if v.error:
            st.error(L("live.failed", error=md(v.error)), icon="⚠️")
        if s.get("sink_error"):
            st.caption(L("live.sink_error", error=md(s["sink_error"])))


def _live() -> None:
    """Fast part (every POLL_SECONDS): status, diagnosis, gradient charts, loss."""
    ss, L, lang = st.session_state, _L, state.lang()
    resources.manager().heartbeat(state.owner_id())
    jobs = session_jobs()
    if not jobs:
        st.info(L("live.empty"))
        return
    if ss.pop(Keys.JUST_STARTED, False):
        for j in jobs:  # right after Train: show the first chunk now rather than one poll later
            with slots.released():  # waiting: no drawing slot held
                j.wait_for_data(1.0)
    jobs, views, tags, runs, ver, rev = _views()
    streaming = any(v.active for v in views)  # charts of a finished run are drawn at once
    labels = widgets.plot_labels(lang)
    two = len(views) > 1
    _status(views, tags)
    surgery.event_log(views, tags)
    if views[0].summary.get("device"):
        ss[Keys.DEVICE_LABEL] = views[0].summary["device"]
    for v, tag in zip(views, tags):
        d = _diagnosis(v)
        widgets.diagnosis_box(d, lang, prefix=f"{tag}:" if two else "")
    # Chart titles live inside the figures (they also land in a downloaded PNG): every element
    # of this fragment is redrawn by the browser at each refresh, a figure title costs nothing.
    metric = ss.get(Keys.DEPTH_METRIC, lab_session.DEFAULT_DEPTH_METRIC)
    theory = bool(ss.get(Keys.THEORY))
    left, right = st.columns(2)
    with left:
        widgets.cached_chart("depth", ver + (metric, theory), lambda: _theory(plots.grad_vs_depth(
            runs, metric=metric, labels=labels, title=L("chart.depth"), raw=True), views, runs, metric, theory),
            key=Keys.chart("depth"), live=streaming, rev=rev, priority=True, shared=True)
        if theory:
            st.caption(L("chart.theory_note") if metric == "out_grad_norm" else L("chart.theory_signal_only"))
    with right:
        # Twins share one colour range; computed only when a heatmap is rebuilt (new data).
        zr = (lambda: plots.heat_range([v.metrics for v in views])) if two else (lambda: None)
        _per_run("heat", views, tags, ver, rev, streaming, lambda v, tag: surgery.marked(plots.grad_heatmap(
            v.metrics, labels=labels, zrange=zr(), raw=True,
            title=f"{tag} · {L('chart.heatmap_short')}" if two else L("chart.heatmap")), [v], [tag]), every=BACK_SECONDS)
    widgets.cached_chart("loss", ver, lambda: surgery.marked(plots.loss_curves(
        runs, labels=labels, height=330, raw=True), views, tags), key=Keys.chart("loss"), live=streaming, rev=rev,
        every=BACK_SECONDS, shared=True, hold=_hold(rev, views))
    polling.track(Keys.LIVE_STATE, streaming)  # ended: the page reruns at the next poll (buttons, polling)


def _live_more() -> None:
    """Slow part (every SLOW_SECONDS): update ratios, activations, boundary, histograms.

    A separate fragment so the browser redraws these less often: on a small machine the
    browser's drawing competes with the training thread for the CPU.
    """
    ss, L, lang = st.session_state, _L, state.lang()
    jobs, views, tags, runs, ver, rev = _views()
    if not views:
        return
    if ss.pop(Keys.DEFER_MORE, False) and any(v.active for v in views):
        st.caption(L("live.more_soon"))  # drawn by this fragment's next run, SLOW_SECONDS later
        return
    streaming = any(v.active for v in views)
    labels = widgets.plot_labels(lang)
    two = len(views) > 1
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{L('chart.update')}**")
        _per_run("update", views, tags, ver, rev, streaming, lambda v, tag: surgery.marked(plots.update_ratio(
            v.metrics, labels=labels, title=tag if two else None, height=380, raw=True), [v], [tag]))
    with right:
        st.markdown(f"**{L('chart.acts')}**")
        theory = bool(ss.get(Keys.THEORY))
        widgets.cached_chart("acts", ver + (theory,), lambda: _theory(plots.activation_stats(
            runs, labels=labels, height=380, raw=True), views, runs, "act_std", theory),
            key=Keys.chart("acts"), live=streaming, rev=rev, shared=True)
    left, right = st.columns(2)
    if any(v.extras.get("boundary") for v in views):
        with left:
            st.markdown(f"**{L('chart.boundary')}**")
            _per_run("boundary", views, tags, ver, rev, streaming, lambda v, tag: plots.decision_boundary(
                v.extras.get("boundary"), labels=labels, title=tag if two else None, height=320, raw=True))
    with right:
        st.markdown(f"**{L('chart.hist')}**")
        layers = list(views[0].metrics.layers)
        if not layers:
            return
        if ss.get(Keys.HIST_LAYER) not in layers:
            ss[Keys.HIST_LAYER] = layers[0]
        out_name = labels.get("out_layer") or "out"
        st.selectbox(L("ctl.hist_layer"), layers, key=Keys.HIST_LAYER, persist_state="session",
                     format_func=lambda k: out_name if k == "out" else k)
        focus = ss[Keys.HIST_LAYER]
        for j in jobs:
            if j.focus != focus:
                j.set_focus(focus)
                if j.done or j.paused:
                    j.refresh_snapshot()
        for i, (j, tag) in enumerate(zip(jobs, tags)):
            v = j.view()
            h = v.extras.get("hist")
            widgets.cached_chart(f"hist{i}", (v.id, v.version, lang, focus), lambda h=h, tag=tag, i=i: plots.histograms(
                h, labels=labels, color=plots.RUN_COLORS[i], height=260,
                title=(f"{tag} · " if two else "") + (h or {}).get("layer", ""), raw=True),
                key=Keys.chart(f"hist{i}"), live=streaming, rev=rev)


__all__ = ["BACK_SECONDS", "POLL_SECONDS", "SLOW_SECONDS", "panel", "session_jobs"]
