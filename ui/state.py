"""Session state of the app: language, sidebar choices, the process-wide job manager, and the
Lab's controls <-> RunSpec mapping (both ways, with per-control error messages).

Session state holds only UI choices and job ids (design.md §3). Every key is initialised with
``setdefault``. Widget keys start with ``app_`` (sidebar) or ``lab_`` (Lab page).
"""
from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import replace

import streamlit as st

from labcore.spec.codec import from_url
from labcore.train.jobs import JobManager
from labcore.spec.mlp import (MAX_DEPTH, DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError,
                          TrainSpec)
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES

log = logging.getLogger(__name__)

LANG, SEED, DEVICE = "app_lang", "app_seed", "app_device"
LAYER_COLS = ("width", "activation", "norm", "skip")  # columns of the per-layer table
# The boundary and histograms are redrawn every few seconds while a run trains (ui/lab_live.py):
# a snapshot (a few forward passes, on the training thread) more often than this is wasted work.
SNAPSHOT_SECONDS = 2.0


# ----------------------------------------------------------------------------- app-wide
def lang() -> str:
    """The interface language of this session ("en" or "fr")."""
    v = st.session_state.get(LANG, DEFAULT_LANGUAGE)
    return v if v in LANGUAGES else DEFAULT_LANGUAGE


def owner_id() -> str:
    """This browser session's id: the owner of its jobs."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is not None:
            return ctx.session_id
    except Exception:
        pass
    return st.session_state.setdefault("app_owner", uuid.uuid4().hex)


def _session_alive(session_id: str) -> bool:
    """False once the browser session is gone (tab closed); True when we cannot tell."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return Runtime.instance().is_active_session(session_id)
    except Exception:
        return True


_STORE = {"store": None, "error": None, "tried": False}
_STORE_LOCK = threading.Lock()


def run_store():
    """The shared run store, or None if it is missing or cannot be opened (the Runs page explains)."""
    with _STORE_LOCK:
        if not _STORE["tried"]:
            _STORE["tried"] = True
            try:
                from labcore.store.db import RunStore

                _STORE["store"] = RunStore()
            except Exception as e:  # corrupt file, store module not there yet...
                _STORE["error"] = f"{type(e).__name__}: {e}"
                log.warning("run store unavailable: %s", e)
        return _STORE["store"]


def _store_sink(job):
    store = run_store()
    return store.sink(name=job.name, tags=("lab",)) if store is not None else None


def _warm_up() -> None:
    """Pay first-use costs (torch, Streamlit's emoji regex) before the first Train click."""
    try:
        from labcore.presets import list_presets
        from labcore.train.mlp import Trainer

        spec = list_presets()[0].spec
        spec = replace(spec, train=replace(spec.train, steps=2, device="cpu"))
        Trainer(spec).steps(2)
        from labcore.train import snapshot  # noqa: F401  (imports the snapshot code too)
        # Streamlit compiles its emoji regex (about 0.2 s) the first time an alert shows
        # non-ASCII text, such as the first diagnosis after Train: pay that now.
        from streamlit.string_util import extract_leading_emoji

        extract_leading_emoji("→ ")
    except Exception as e:
        log.warning("warm-up failed: %s", e)


@st.cache_resource
def manager() -> JobManager:
    """The process-wide job manager (thread-safe; the one cached object pages may mutate)."""
    m = JobManager(max_workers=int(os.environ.get("LAB_MAX_JOBS", "2")), sink_factory=_store_sink,
                   heartbeat_timeout=float(os.environ.get("LAB_JOB_TIMEOUT", "120")),
                   owner_alive=_session_alive, gone_grace=float(os.environ.get("LAB_JOB_GONE_GRACE", "20")),
                   snapshot_seconds=SNAPSHOT_SECONDS)
    threading.Thread(target=_warm_up, name="lab-warmup", daemon=True).start()
    return m


def ensure_router() -> None:
    """Make a page that the server's very first request opened directly go through app.py.

    Streamlit decides once per process how to run scripts: while no script has called
    ``st.navigation`` yet and a ``pages/`` folder exists, it runs the requested page file on its
    own (the old multipage mode), so a link such as ``/runs`` opened first on a fresh server showed
    the page without the shared sidebar, under an automatic menu. Every page calls this first: in
    that mode it switches Streamlit to ``st.navigation`` and reruns, and app.py then routes to the
    same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this internal: nothing to fix
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def heartbeat() -> None:
    manager().heartbeat(owner_id())


def init_app() -> None:
    """Sidebar defaults: from a pending request, then the link's query parameters, then defaults."""
    ss = st.session_state
    pending = ss.pop("app_pending", None)
    if pending:  # set by a page before a rerun (a widget's value cannot change after it is drawn)
        for k, v in pending.items():
            ss[k] = v
    qp = st.query_params
    if LANG not in ss:
        ss[LANG] = qp.get("lang") if qp.get("lang") in LANGUAGES else DEFAULT_LANGUAGE
    if SEED not in ss or DEVICE not in ss:
        spec = None
        if qp.get("spec"):
            try:
                spec = from_url(qp.get("spec"))
            except SpecError:
                spec = None  # the Lab page reports the bad link
        ss.setdefault(SEED, spec.train.seed if spec else 0)
        ss.setdefault(DEVICE, spec.train.device if spec else "auto")


def request_sidebar(**values) -> None:
    """Change sidebar widgets (seed, device) from a page: applied at the top of the next run."""
    st.session_state["app_pending"] = {f"app_{k}": v for k, v in values.items()}


# ----------------------------------------------------------------------------- Lab controls
CONTROL_DEFAULTS = {}  # filled by spec_to_controls; kept for reference


def spec_to_controls(spec: RunSpec) -> dict:
    """Widget values (``lab_*`` keys) for a spec; layers that differ from the first become overrides."""
    layers, n, tr, d = spec.net.layers, spec.net, spec.train, spec.train.data
    base = layers[0]
    overrides = {}
    for i, l in enumerate(layers):
        diff = {c: getattr(l, c) for c in LAYER_COLS if getattr(l, c) != getattr(base, c)}
        if diff:
            overrides[i] = diff
    return {
        "lab_depth": len(layers), "lab_width": base.width, "lab_activation": base.activation,
        "lab_norm": base.norm, "lab_skip": base.skip, "lab_dropout": float(base.dropout),
        "lab_init": n.init.scheme, "lab_gain": float(n.init.gain), "lab_sigma": float(n.init.sigma),
        "lab_dataset": d.name, "lab_noise": float(d.noise), "lab_classes": d.classes,
        "lab_samples": d.n_samples, "lab_test_fraction": float(d.test_fraction),
        "lab_optimizer": tr.optimizer, "lab_lr": f"{tr.lr:g}", "lab_batch": tr.batch_size,
        "lab_steps": tr.steps, "lab_momentum": float(tr.momentum), "lab_wd": float(tr.weight_decay),
        "lab_l1": float(tr.l1), "lab_clip": float(tr.clip_norm), "lab_record": tr.record_every,
        "lab_flush": tr.flush_every, "lab_eval": tr.eval_every, "lab_overrides": overrides,
    }


def apply_spec(spec: RunSpec) -> None:
    """Put a spec into the Lab's widgets (call before they are drawn, or from a callback)."""
    ss = st.session_state
    for k, v in spec_to_controls(spec).items():
        ss[k] = v
    ss["lab_editor_rev"] = ss.get("lab_editor_rev", 0) + 1  # the layer table shows the new stack


def _parse_float(text) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    return float(str(text).strip().replace(",", "."))  # "3e-3", "0,001" (French decimal comma)


# Which control shows the error of each spec field.
FIELD_SLOT = {
    "width": "width", "activation": "activation", "norm": "norm", "skip": "skip", "dropout": "dropout",
    "net.depth": "depth", "net.layers": "depth", "net": "depth", "init.scheme": "init", "init.gain": "gain",
    "init.sigma": "sigma", "data.name": "dataset", "data.n_samples": "samples", "data.noise": "noise",
    "data.classes": "classes", "data.test_fraction": "test_fraction", "train.optimizer": "optimizer",
    "train.lr": "lr", "train.momentum": "momentum", "train.weight_decay": "wd", "train.l1": "l1",
    "train.batch_size": "batch", "train.steps": "steps", "train.clip_norm": "clip", "train.seed": "seed",
    "train.device": "device", "train.record_every": "record", "train.flush_every": "flush",
    "train.eval_every": "eval",
}


def controls_to_spec(values: dict) -> tuple[RunSpec | None, dict[str, SpecError]]:
    """Build the RunSpec from widget values. Returns (spec or None, {slot: error})."""
    errors: dict[str, SpecError] = {}

    def attempt(fn, slot_default):
        try:
            return fn()
        except SpecError as e:
            slot = FIELD_SLOT.get(e.field, slot_default)
            errors.setdefault(slot, e)
        except (TypeError, ValueError) as e:  # a value that is not even a number
            errors.setdefault(slot_default, SpecError(slot_default, str(e), "a number"))
        return None

    v = values
    depth = v.get("lab_depth")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        errors["depth"] = SpecError("net.depth", depth, f"an integer from 1 to {MAX_DEPTH}")
        depth = None
    base = attempt(lambda: LayerSpec(v["lab_width"], v["lab_activation"], v["lab_norm"], v["lab_skip"],
                                     float(v["lab_dropout"])), "width")
    layers = []
    if base is not None and depth is not None:
        overrides = v.get("lab_overrides") or {}
        for i in range(depth):
            o = overrides.get(i) or {}
            if not o:
                layers.append(base)
                continue
            try:
                layers.append(replace(base, **o))
            except SpecError as e:
                errors.setdefault("layers", SpecError(f"layer {i + 1}: {e.field}", e.value, e.allowed))
            except (TypeError, ValueError) as e:
                errors.setdefault("layers", SpecError(f"layer {i + 1}", o, str(e)))
    init = attempt(lambda: InitSpec(v["lab_init"], _parse_float(v["lab_gain"]), _parse_float(v["lab_sigma"])), "gain")
    data = attempt(lambda: DataSpec(v["lab_dataset"], v["lab_samples"], _parse_float(v["lab_noise"]),
                                    v["lab_classes"], _parse_float(v["lab_test_fraction"])), "dataset")
    lr = None
    try:
        lr = _parse_float(v["lab_lr"])
    except (TypeError, ValueError):
        errors["lr"] = SpecError("train.lr", v.get("lab_lr"), "a number > 0 and ≤ 10, e.g. 0.001")
    train = None
    if data is not None and lr is not None:
        train = attempt(lambda: TrainSpec(
            data, v["lab_optimizer"], lr, _parse_float(v["lab_momentum"]), _parse_float(v["lab_wd"]),
            _parse_float(v["lab_l1"]), v["lab_batch"], v["lab_steps"], _parse_float(v["lab_clip"]),
            v["app_seed"], v["app_device"], v["lab_record"], v["lab_flush"], v["lab_eval"]), "steps")
    if errors or init is None or train is None or len(layers) != (depth or -1):
        return None, errors
    spec = attempt(lambda: RunSpec(NetSpec(tuple(layers), init), train), "depth")
    if spec is None:
        return None, errors
    from labcore.spec.size import check_size

    if attempt(lambda: check_size(spec), "depth") is None:
        return None, errors
    from labcore.train.device import resolve_device

    if attempt(lambda: resolve_device(spec.train.device), "device") is None:  # e.g. cuda on a CPU box
        return None, errors
    return spec, errors


def control_values() -> dict:
    ss = st.session_state
    keys = list(spec_to_controls(RunSpec()).keys()) + [SEED, DEVICE]
    return {k: ss.get(k) for k in keys}


__all__ = ["apply_spec", "control_values", "controls_to_spec", "ensure_router", "heartbeat", "init_app", "lang",
           "manager", "owner_id", "request_sidebar", "run_store", "spec_to_controls"]
