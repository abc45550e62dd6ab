"""Text a user typed, made inert before Streamlit renders it as markdown.

Every ``st.error``/``st.caption``/``st.markdown``/label that quotes a run name, a tag, a link's
contents, a file name or an error message quoting input passes that text through :func:`md`:
markdown links and images (``[x](http://…)``, ``![x](…)``), emphasis, headings, HTML, Streamlit's
``:color[...]``/``:material/...:`` directives, LaTeX ``$…$`` and bare-URL autolinks all come out
as the characters typed. Plotly labels use :func:`labcore.figures.text.plot_text` instead.
"""
from __future__ import annotations

import re

MAX_CHARS = 300  # a quoted value longer than this is cut: one line, not a wall of text

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the ones
# that can start markup (``.`` and ``:`` too: they make bare URLs and directives).
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'@^%])")
# GFM turns bare ``http://…``, ``www.…`` and e-mail addresses into links even when their
# punctuation is escaped; an invisible WORD JOINER before each ``.``, ``:`` and ``@`` breaks them.
_AUTOLINK = re.compile(r"(\\[.:@])")
WORD_JOINER = "\u2060"


def md(text: object, max_chars: int = MAX_CHARS) -> str:
    """``text`` as markdown that renders exactly those characters, on one line."""
    s = " ".join(str(text).split())  # newlines would start new blocks (headings, lists, tables)
    if len(s) > max_chars:
        s = s[:max_chars - 1] + "…"
    return _AUTOLINK.sub(WORD_JOINER + r"\1", _MARKUP.sub(r"\\\1", s))


__all__ = ["md"]
