"""Sweeps: many short runs over a grid or random set of spec fields (the trainability phase diagram).

* :mod:`labcore.sweep.plan`: :class:`SweepPlan` (base spec, axes, steps per point), range parsing,
  the phase-diagram plans;
* :mod:`labcore.sweep.worker`: one point, run anywhere, summarised; never raises;
* :mod:`labcore.sweep.backends`: ``local`` process pool (default), ``ray``, ``serial``;
* :mod:`labcore.sweep.runner`: run/resume/stop, results streamed into the run store as one sweep;
* :mod:`labcore.sweep.estimate`: the dry run (plan, calibrated CPU-seconds, wall time on N workers).

Layer: above families/presets/figures/store/train, below the CLI (pyproject's import contracts).
"""
from labcore.sweep.plan import SweepPlan, lr_plan, parse_values, phase_plan, point_key  # noqa: F401
from labcore.sweep.runner import Progress, SweepResult, resume_sweep, run_sweep  # noqa: F401
