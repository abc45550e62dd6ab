"""Lessons: short course steps as data files, each with a one-click twin and a claim checked on seeds.

The layer between the CLI and the families: it reads its TOML files (:mod:`.model`), trains their
runs through the family protocol and measures their claims (:mod:`.claims`), and gives the pages
their recorded results (:mod:`.recorded`). It never imports streamlit.
"""
from labcore import families  # noqa: F401  (registers the families the lesson specs belong to)
from labcore.lessons.model import SEEDS, Claim, Lesson, Look, Run, get_lesson, load_lessons

__all__ = ["SEEDS", "Claim", "Lesson", "Look", "Run", "get_lesson", "load_lessons"]
