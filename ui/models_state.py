"""The Models page's process-wide job queue (importable, so tests and other pages can reach it)."""
from __future__ import annotations

import streamlit as st

from labcore.train.jobs import JobManager
from ui import state


@st.cache_resource
def model_jobs() -> JobManager:
    """Full-model runs, one worker (these runs are heavy); thread-safe, the one cached object pages mutate.

    Jobs live until their browser session is gone (no heartbeat timeout: a finished experiment
    stays on screen while the tab is open); runs go to the run store like the Lab's.
    """
    return JobManager(max_workers=1, sink_factory=state._store_sink, heartbeat_timeout=float("inf"),
                      owner_alive=state._session_alive, keep_done=12)
