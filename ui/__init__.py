"""Streamlit-side helpers shared by the pages: translation, widgets, session state.

This package may import streamlit; labcore never does.
"""
