"""Streamlit-side helpers shared by the pages: translation (i18n, strings_*), widgets and charts
(widgets, livechart), session keys (keys), per-session state (state), process-wide resources
(resources: job managers, the run store), the Lab's form from one table (form), its link/session
rules (lab_session) and its run panel (lab_live).

This package may import streamlit; labcore never does.
"""
