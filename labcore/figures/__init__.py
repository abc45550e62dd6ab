"""Figures: pure functions from metric chunks to plotly figure dicts (:mod:`labcore.figures.plots`,
:mod:`labcore.figures.models`, :mod:`labcore.figures.compare`) and the one-sentence diagnosis
(:mod:`labcore.figures.diagnose`).

May import: :mod:`labcore.core`, :mod:`labcore.spec`, :mod:`labcore.data`. Never a trainer, the
store or torch.
"""
