"""Lessons page: the course's demos, one lesson at a time; ``?present=1`` for the presenter view.

Thin: the view is ui.lessons_view, the lessons and their runs are labcore.lessons.
"""
from __future__ import annotations

import streamlit as st

import ui.strings_lessons  # noqa: F401  (registers the page's strings)
from ui import lessons_view, state

state.ensure_router()  # a first request straight to this page still gets the sidebar
lessons_view.render(present=st.query_params.get("present") == "1")
