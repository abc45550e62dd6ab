"""Every session-state key the app and the Lab share, in one namespace.

Widget keys are session keys too (Streamlit stores a keyed widget's value under its key), and the
browser tests find widgets by them, so the strings themselves must not change. The Lab's spec
controls get theirs from the form table (:data:`ui.form.CONTROLS`: ``Keys.control(slot)``).
A page's private keys that no other module reads (``runs_*``, ``models_*``, ``cmp_*``) stay in
that page.
"""
from __future__ import annotations


class Keys:
    """Session-state keys (plain strings: Streamlit hashes and compares them as such)."""

    # --- the shared sidebar (app.py, ui.state)
    LANG = "app_lang"  # interface language
    SEED = "app_seed"  # seed of new runs (the spec's train.seed)
    DEVICE = "app_device"  # device choice (the spec's train.device)
    OWNER = "app_owner"  # this session's id when Streamlit gives none (tests)
    PENDING = "app_pending"  # sidebar values a page asked for, applied at the top of the next run
    CHART_CACHE = "ui_chart_cache"  # ui.widgets.cached_chart's built charts

    # --- the Lab's configuration (ui.form, ui.lab_session)
    PRESET = "lab_preset"  # the preset picker
    OVERRIDES = "lab_overrides"  # {layer index: {column: value}} of the per-layer table
    EDITOR_REV = "lab_editor_rev"  # bumped to redraw the per-layer table with a new stack
    LAYERS_CLEAR = "lab_layers_clear"  # button: drop every per-layer override
    SPEC = "lab_spec"  # the RunSpec the controls describe (None while one is invalid)
    URL = "lab_url"  # the link code of the configuration on screen
    WRITTEN = "lab_written"  # link codes this page wrote itself (never reloaded as a request)
    OPEN_SPEC = "lab_open_spec"  # a link code another page asks the Lab to open
    URL_ERROR = "lab_url_error"  # why the link's configuration could not be read
    URL_DISMISS = "lab_url_dismiss"  # button: hide that message
    DIAGRAM = "lab_diagram"  # chart: the stack diagram
    PREVIEW = "lab_preview"  # chart: the data preview

    # --- the Lab's run panel (ui.lab_live)
    TWIN = "lab_twin"  # "Compare with": the twin variant, or "none"
    JOBS = "lab_jobs"  # ids of this session's jobs (A, and B when twinned)
    PLANNED_EVENTS = "lab_planned_events"  # a loaded spec's [[events]] (dict form), added to the form's spec
    RUN_NAME = "lab_run_name"  # the name new runs get (the preset's, or "custom")
    JUST_STARTED = "lab_just_started"  # the next poll waits for the first chunk
    DEFER_MORE = "lab_defer_more"  # the first redraw after Train draws the gradient charts only
    LIVE_STATE = "lab_live_state"  # ui.polling.track's state of the Lab's live view
    DEVICE_LABEL = "lab_device_label"  # the device the last run used, for the sidebar
    HIST_LAYER = "lab_hist_layer"  # the layer the histograms show
    DEPTH_METRIC = "lab_depth_metric"  # which gradient the depth chart shows
    THEORY = "lab_theory"  # toggle: the dashed mean-field prediction on the depth and activation charts
    TRAIN, PAUSE, STEP, STOP, RESET = "lab_train", "lab_pause", "lab_step", "lab_stop", "lab_reset"  # buttons

    @staticmethod
    def control(slot: str) -> str:
        """The key of the Lab control ``slot`` (``depth`` -> ``lab_depth``)."""
        return f"lab_{slot}"

    @staticmethod
    def layers_table(rev: int) -> str:
        """The per-layer table's key: a new one each time the stack is replaced from outside."""
        return f"lab_layers_{rev}"

    @staticmethod
    def chart(name: str) -> str:
        """A run-panel chart's key (``depth`` -> ``lab_chart_depth``)."""
        return f"lab_chart_{name}"


__all__ = ["Keys"]
