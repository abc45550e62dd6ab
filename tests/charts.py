"""Read the charts an AppTest run drew, whichever way ``ui.widgets.chart`` drew them.

``widgets.chart`` draws through the ``gfl_live_chart`` component (``ui/livechart.py``) or, when live
charts are unavailable, falls back to ``st.plotly_chart``. AppTest has no element class for
either: both come back as ``UnknownElement``s,

* the component as type ``"bidi_component"``, whose ``.proto`` is a ``BidiComponent`` with
  ``component_name == "gfl_live_chart"`` and ``json`` holding the data sent from Python
  (``{"fig": <figure JSON string>, "height", "config", "src", "rev", "name", "priority"}``);
* the fallback as type ``"plotly_chart"``, whose ``.proto`` is a ``PlotlyChart`` with the figure
  JSON in ``spec`` and the chart key as the suffix of the element ``id``.

Usage::

    from tests.charts import chart_count, chart_specs
    figs = chart_specs(at)            # {"cmp_profiles": {"data": [...], "layout": {...}}, ...}
"""
from __future__ import annotations

import json

from streamlit.runtime.state.common import user_key_from_element_id

COMPONENT = "gfl_live_chart"


def live_elements(at) -> list:
    """The ``gfl_live_chart`` component elements, in page order."""
    return [e for e in at.get("bidi_component") if e.proto.component_name == COMPONENT]


def live_data(at) -> dict[str, dict]:
    """Chart key -> the data the component received (``fig`` still a JSON string)."""
    out = {}
    for e in live_elements(at):
        data = json.loads(e.proto.json)
        out[data["name"]] = data
    return out


def chart_specs(at) -> dict[str, dict]:
    """Chart key -> plotly figure dict, for every chart on the page, in page order.

    Fallback charts drawn without a key are keyed by their position among the charts (as a str).
    """
    out = {key: json.loads(data["fig"]) for key, data in live_data(at).items()}
    for e in at.get("plotly_chart"):
        key = user_key_from_element_id(e.proto.id) or str(len(out))
        out[key] = json.loads(e.proto.spec)
    return out


def chart_count(at) -> int:
    """How many charts the page drew (component and fallback together)."""
    return len(live_elements(at)) + len(at.get("plotly_chart"))


__all__ = ["COMPONENT", "chart_count", "chart_specs", "live_data", "live_elements"]
