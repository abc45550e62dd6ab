"""User text made inert for plotly's HTML-like labels (trace names, annotations, titles, hovers).

Plotly renders ``<a href>``, ``<b>``, ``<br>``... in labels and substitutes ``%{...}`` in hover
templates, so a run called ``<a href="http://x">run</a>`` would become a live link in a legend.
:func:`plot_text` escapes the markup characters as entities, which plotly decodes back into the
characters typed.
"""
from __future__ import annotations

import html


def plot_text(text: object) -> str:
    """``text`` for a plotly label: shown exactly as typed, never as markup or a template field."""
    return html.escape(str(text), quote=False).replace("%", "&#37;").replace("{", "&#123;")


__all__ = ["plot_text"]
