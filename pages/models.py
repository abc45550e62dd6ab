"""Models page: the degradation experiment (plain vs ResNet, He et al. 2016) and single full-model runs.

Widgets -> ModelRunSpec (validated) -> JobManager (the job queue; the experiment's runs are
one batch, trained in lockstep on one worker) -> a polling fragment reads each job's view ->
labcore.figures.models / labcore.figures.plots draw it. Nothing here trains or computes statistics.
"""
from __future__ import annotations

import streamlit as st

import ui.strings_lab  # noqa: F401  (status words shared with the Lab)
import ui.strings_models  # noqa: F401  (registers the page's strings)
from labcore.figures import models as model_plots
from labcore.figures import plots
from labcore.data.images import IMAGE_DATASETS, UPSAMPLE_SIZES, download, is_available, torchvision_root
from labcore.spec.model import DEFAULT_RECIPE, NORM_CHOICES, ModelRunSpec, degradation_spec
from labcore.nets.cifar_resnet import CIFAR_DEPTHS
from labcore.nets.zoo import MODELS
from labcore.core.status import RUNNING_OR_WAITING
from labcore.spec.choices import INITS
from labcore.spec.mlp import SpecError
from labcore.core.family import family_of
from ui.safe import md
from ui import slots, state, widgets
from ui.resources import model_jobs
from ui.i18n import t

state.ensure_router()  # a first request straight to this page still gets the sidebar

POLL_SECONDS = 1.0
ss = st.session_state
lang = state.lang()


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


for k, v in {"models_deg_jobs": [], "models_one_jobs": [], "models_error": None}.items():
    ss.setdefault(k, v)
mplot_labels = {k: L(f"mplot.{k}") for k in model_plots.LABELS}


def _jobs(key: str):
    m = model_jobs()
    return [j for j in (m.get(i) for i in ss[key]) if j is not None]


def _submit(key: str, specs: list[ModelRunSpec], names: list[str]) -> None:
    m = model_jobs()
    for j in _jobs(key):
        m.forget(j.id)
    ss[key] = [j.id for j in m.submit_group(specs, owner=state.owner_id(), names=names)]


def _stop(key: str) -> None:
    for j in _jobs(key):
        j.stop()


def _dataset_box(prefix: str) -> tuple[str, int]:
    """Data set (+ digits size) selectors, and a Download button for a missing torchvision set."""
    names = list(IMAGE_DATASETS)
    c = st.columns(2)
    name = c[0].selectbox(L("models.dataset"), names, key=f"{prefix}_dataset",
                          format_func=lambda n: f"{n} — {IMAGE_DATASETS[n].description}")
    up = 0
    if name == "digits":
        up = c[1].selectbox(L("models.upsample"), list(UPSAMPLE_SIZES), key=f"{prefix}_upsample",
                            format_func=lambda s: L(f"models.upsample.{s}"))
    if not is_available(name):
        st.warning(L("models.missing", name=name, root=md(torchvision_root())), icon=":material/download:")
        if st.button(L("models.download", name=name), key=f"{prefix}_download"):
            with st.spinner(L("models.downloading", name=name)):
                try:
                    download(name)
                    st.success(L("models.downloaded", name=name))
                except Exception as e:  # noqa: BLE001 - no network, disk full...: say so
                    st.error(L("models.download_failed", error=md(f"{type(e).__name__}: {e}")))
    return name, up


def _recipe(prefix: str, defaults: dict) -> dict:
    with st.expander(L("models.advanced")):
        c = st.columns(4)
        lr = c[0].number_input(L("models.lr"), 1e-4, 5.0, defaults.get("lr", 0.1), format="%g", key=f"{prefix}_lr")
        batch = c[1].number_input(L("models.batch"), 8, 4096, 128, step=8, key=f"{prefix}_batch")
        warm = c[2].number_input(L("models.warmup"), 0.0, 50.0, defaults.get("warmup", 1.0), step=0.5,
                                 key=f"{prefix}_warmup", help=L("models.warmup_help"))
        n_train = c[3].number_input(L("models.n_train"), 0, 10_000_000, 0, step=256, key=f"{prefix}_n_train")
        c = st.columns(3)
        shortcut = c[0].selectbox(L("models.shortcut"), ["auto", "A", "B"], key=f"{prefix}_shortcut",
                                  format_func=lambda s: L(f"models.shortcut.{s}"))
        norm = c[1].selectbox(L("models.norm"), list(NORM_CHOICES), key=f"{prefix}_norm",
                              format_func=lambda s: L(f"models.norm.{s}"))
        zero = c[2].checkbox(L("models.zero_init"), DEFAULT_RECIPE["zero_init_residual"], key=f"{prefix}_zero")
    return {"lr": float(lr), "batch_size": int(batch), "warmup_epochs": float(warm), "n_train": int(n_train),
            "shortcut": shortcut, "norm": norm, "zero_init_residual": bool(zero)}


def _device() -> str:
    return state.device()


def _seed() -> int:
    return state.seed()


def _status_lines(views) -> None:
    for v in views:
        s = v.summary
        if v.status == "queued":
            st.info(L("models.queued", name=v.name, position=v.position or 1), icon=":material/hourglass_top:")
            continue
        st.progress(min(1.0, v.steps / max(1, v.total_steps)),
                    text=L("models.status", name=v.name, status=L(f"status.{v.status}"), epoch=s.get("epoch", 0),
                           epochs=s.get("epochs", "?"), steps=v.steps, total=v.total_steps,
                           ips=s.get("images_per_second", 0.0) or 0.0, device=s.get("device") or "…"))
        if v.error:
            st.error(L("models.failed", name=md(v.name), error=md(v.error)), icon="⚠️")
    errors = {v.summary.get("sink_error") for v in views if v.summary.get("sink_error")}
    for e in errors:  # the run trains on; the store could not record it
        st.caption(L("models.store_note", error=e))


def _topk_rows(views) -> list[dict]:
    return [{"label": v.name, "model": v.spec.model, "dataset": v.spec.dataset,
             "top1": v.summary.get("top1"), "top5": v.summary.get("top5")} for v in views if v.summary]


# ----------------------------------------------------------------------------- page
st.title(L("models.title"))
st.caption(L("models.subtitle"))
tab_deg, tab_one = st.tabs([L("models.tab_degradation"), L("models.tab_single")])

with tab_deg:
    c = st.columns([2, 2, 1])
    depths = c[0].multiselect(L("models.depths"), list(CIFAR_DEPTHS), default=[20, 56], key="models_deg_depths",
                              help=L("models.depths_help"))
    kinds = c[1].multiselect(L("models.kinds"), ["plain", "resnet"], default=["plain", "resnet"],
                             key="models_deg_kinds", format_func=lambda k: L(f"models.kind.{k}"))
    epochs = c[2].number_input(L("models.epochs"), 1, 1000, DEFAULT_RECIPE["epochs"], key="models_deg_epochs")
    dataset, upsample = _dataset_box("models_deg")
    recipe = _recipe("models_deg", {"lr": 0.1, "warmup": DEFAULT_RECIPE["warmup_epochs"]})
    specs, names, error = [], [], None
    try:
        for kind in kinds:
            for d in sorted(depths):
                specs.append(degradation_spec(d, kind == "resnet", dataset=dataset, upsample=upsample,
                                              epochs=int(epochs), seed=_seed(), device=_device(), **recipe))
                names.append(f"{kind}{d}")
        for s in specs:  # checks across fields and the size guard, before Run is offered
            family_of(s).check(s)
    except SpecError as e:
        error = e
    b = st.columns([2, 1, 5])
    if error is not None:
        st.error(L("models.bad_input", error=md(error)), icon="⚠️")
    elif not specs:
        st.info(L("models.pick_runs"))
    else:
        st.caption(L("models.recipe_note", runs=len(specs), steps=specs[0].total_steps))
    b[0].button(L("models.run"), key="models_deg_run", type="primary", disabled=not specs or error is not None,
                on_click=_submit, args=("models_deg_jobs", specs, names), icon=":material/play_arrow:")
    b[1].button(L("models.stop"), key="models_deg_stop", on_click=_stop, args=("models_deg_jobs",),
                icon=":material/stop:")

    def _live_degradation() -> None:
        jobs = _jobs("models_deg_jobs")
        if not jobs:
            st.info(L("models.empty"))
            return
        views = [j.view() for j in jobs]
        _status_lines(views)
        key = (tuple(v.version for v in views), lang)
        runs = [(v.name, v.metrics) for v in views if len(v.metrics.steps)]
        st.subheader(L("models.fig6"))
        st.caption(L("models.fig6_help"))
        widgets.cached_chart("models_fig6", key, lambda: model_plots.training_error(
            [(v.name, v.summary.get("history", [])) for v in views], labels=mplot_labels), key="models_chart_fig6")
        st.subheader(L("models.grads"))
        st.caption(L("models.grads_help"))
        widgets.cached_chart("models_grads", key, lambda: model_plots.grad_profiles(runs, labels=mplot_labels),
                             key="models_chart_grads")
        st.subheader(L("models.fig7"))
        widgets.cached_chart("models_fig7", key, lambda: model_plots.response_std(runs, labels=mplot_labels),
                             key="models_chart_fig7")
        st.subheader(L("models.topk"))
        widgets.chart(model_plots.topk_table(_topk_rows(views), labels=mplot_labels), key="models_chart_topk")
        st.caption(L("models.topk_note"))
        if ss.get("models_deg_polling") and not any(v.active for v in views):
            ss["models_deg_polling"] = False
            st.rerun()

    active = any(j.status in RUNNING_OR_WAITING for j in _jobs("models_deg_jobs"))
    ss["models_deg_polling"] = active
    st.fragment(slots.gated(_live_degradation), run_every=POLL_SECONDS if active else None)()

with tab_one:
    c = st.columns([2, 1, 2])
    model = c[0].selectbox(L("models.model"), list(MODELS), index=list(MODELS).index("resnet20"),
                           key="models_one_model", format_func=lambda n: f"{n} — {MODELS[n].description}")
    epochs1 = c[1].number_input(L("models.epochs"), 1, 1000, DEFAULT_RECIPE["epochs"], key="models_one_epochs")
    init = c[2].selectbox(L("models.init"), list(INITS), index=list(INITS).index("he_normal"), key="models_one_init")
    dataset1, upsample1 = _dataset_box("models_one")
    recipe1 = _recipe("models_one", {"lr": 0.1, "warmup": DEFAULT_RECIPE["warmup_epochs"]})
    spec1, error1 = None, None
    try:
        spec1 = ModelRunSpec(model=model, dataset=dataset1, upsample=upsample1, epochs=int(epochs1), init=init,
                             seed=_seed(), device=_device(), **recipe1)
        family_of(spec1).check(spec1)  # checks across fields and the size guard, before Train is offered
    except SpecError as e:
        spec1, error1 = None, e
        st.error(L("models.bad_input", error=md(e)), icon="⚠️")
    b = st.columns([2, 1, 5])
    b[0].button(L("models.train"), key="models_one_run", type="primary", disabled=spec1 is None,
                on_click=_submit, args=("models_one_jobs", [spec1], [model]), icon=":material/play_arrow:")
    b[1].button(L("models.stop"), key="models_one_stop", on_click=_stop, args=("models_one_jobs",),
                icon=":material/stop:")

    def _live_single() -> None:
        jobs = _jobs("models_one_jobs")
        if not jobs:
            return
        views = [j.view() for j in jobs]
        _status_lines(views)
        v = views[0]
        if v.summary.get("params"):
            st.caption(L("models.params", model=v.spec.model, params=v.summary["params"],
                         layers=len(v.summary.get("layers", []))))
        labels = widgets.plot_labels(lang)
        key = (v.version, lang)
        st.subheader(L("models.single_charts"))
        cols = st.columns(2)
        with cols[0]:
            widgets.cached_chart("models_one_loss", key, lambda: plots.loss_curves(
                [(v.name, v.metrics)], labels=labels, raw=True), key="models_chart_one_loss")
        with cols[1]:
            widgets.cached_chart("models_one_depth", key, lambda: plots.grad_vs_depth(
                [(v.name, v.metrics)], labels=labels, raw=True), key="models_chart_one_depth")
        widgets.cached_chart("models_one_heat", key, lambda: plots.grad_heatmap(v.metrics, labels=labels, raw=True),
                             key="models_chart_one_heat")
        widgets.chart(model_plots.topk_table(_topk_rows(views), labels=mplot_labels), key="models_chart_one_topk")
        if ss.get("models_one_polling") and not any(x.active for x in views):
            ss["models_one_polling"] = False
            st.rerun()

    active1 = any(j.status in RUNNING_OR_WAITING for j in _jobs("models_one_jobs"))
    ss["models_one_polling"] = active1
    st.fragment(slots.gated(_live_single), run_every=POLL_SECONDS if active1 else None)()
