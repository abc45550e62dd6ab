"""The Lab's configuration across reruns, links and pages: which spec the controls start from.

One rule, run at the top of every Lab rerun (:func:`start`):

* a link (``?spec=``) or another page (``Keys.OPEN_SPEC``) asks for a configuration that this page
  did not write itself: load it once, or remember why it could not be read;
* else the controls keep what the user set (Streamlit holds the widget values);
* a fresh session starts from the first preset.

Each valid spec the controls describe goes back into the link (:func:`publish`), so the address
bar always reproduces the Lab; the codes written that way are remembered, so reading the link
back on the next rerun is no new request.
"""
from __future__ import annotations

import streamlit as st

from labcore.presets import list_presets
from labcore.spec.codec import from_url, to_url
from labcore.spec.mlp import RunSpec, SpecError
from labcore.spec.twins import VARIANTS
from ui import form, state
from ui.keys import Keys

# The depth chart shows the backprop signal ‖∂L/∂h‖ first: in ReLU nets a scale error cancels in
# ‖∇W‖ (the exploding preset's ‖∇W‖ is *smaller* at the input while its signal grows 2e3× there).
DEFAULT_DEPTH_METRIC = "out_grad_norm"

CUSTOM = "—"  # the preset picker's entry for a configuration that is no preset
_REMEMBERED = 50  # link codes this page remembers having written


@st.cache_data(show_spinner=False)
def presets() -> dict[str, tuple[str, str]]:
    """{preset name: (description, link code)}, in the presets' order."""
    return {p.name: (p.description, to_url(p.spec)) for p in list_presets()}


def _preset_of(spec: RunSpec) -> str:
    code = to_url(spec)
    return next((n for n, (_, u) in presets().items() if u == code), CUSTOM)


def is_preset(spec) -> bool:
    """Whether ``spec`` is a preset exactly as shipped (seed included): its run may be served
    from an earlier identical one."""
    return spec is not None and _preset_of(spec) != CUSTOM


def start() -> None:
    """Decide what the controls show on this rerun (see the module's docstring); may rerun once
    to move the sidebar's seed and device to a loaded spec's."""
    ss = st.session_state
    written = ss.setdefault(Keys.WRITTEN, [])
    asked = st.query_params.get("spec")
    if ss.get(Keys.OPEN_SPEC) or (asked and asked != ss.get(Keys.URL) and asked not in written):
        code = ss.pop(Keys.OPEN_SPEC, None) or asked
        ss[Keys.URL] = code
        try:
            spec = from_url(code)
            form.apply_spec(spec)
            ss[Keys.PRESET] = _preset_of(spec)
            if (state.seed(), state.device()) != (spec.train.seed, spec.train.device):
                state.request_sidebar(seed=spec.train.seed, device=spec.train.device)
                st.rerun()
        except SpecError as e:
            ss[Keys.URL_ERROR] = str(e)
    if Keys.control("depth") not in ss:  # a fresh session: the first preset
        first = next(iter(presets()))
        form.apply_spec(from_url(presets()[first][1]))
        ss[Keys.PRESET] = first
    twin = st.query_params.get("twin")
    ss.setdefault(Keys.TWIN, twin if twin in VARIANTS else "none")
    for k, v in ((Keys.JOBS, []), (Keys.OVERRIDES, {}), (Keys.EDITOR_REV, 0), (Keys.HIST_LAYER, None),
                 (Keys.DEPTH_METRIC, DEFAULT_DEPTH_METRIC)):
        ss.setdefault(k, v)


def on_preset() -> None:
    """The preset picker's callback: load the picked preset into the controls."""
    name = st.session_state[Keys.PRESET]
    if name in presets():
        form.apply_spec(from_url(presets()[name][1]))


def publish(spec: RunSpec) -> str:
    """Put a valid spec into the link (``?spec=``) and into session state; returns its code."""
    ss = st.session_state
    code = to_url(spec)
    if st.query_params.get("spec") != code:
        st.query_params["spec"] = code
    written = ss.setdefault(Keys.WRITTEN, [])
    if code not in written:
        written[:] = written[-(_REMEMBERED - 1):] + [code]
    ss[Keys.URL] = code
    return code


def run_name(custom: str) -> str:
    """The name new runs get: the preset's, or ``custom``."""
    name = st.session_state.get(Keys.PRESET)
    return name if name in presets() else custom


__all__ = ["CUSTOM", "is_preset", "on_preset", "presets", "publish", "run_name", "start"]
