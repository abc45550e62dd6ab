"""A run panel for one family's page: Train / Pause / Step / Stop / Reset, twins, live charts.

The Lab's panel (:mod:`ui.lab_live`) is written for MLP specs; this one takes any spec, a twin
table and a ``charts(views, tags, streaming)`` callback, so a family's page gets the same
controls, the same job manager and store, and draws its own charts. Session keys are prefixed
(``prefix``), so two pages never share jobs.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from labcore.core.status import RUNNING_OR_WAITING
from ui import polling, resources, state
from ui.i18n import t

POLL_SECONDS = 0.5


class Panel:
    def __init__(self, prefix: str, variants: dict[str, Callable], twin_label: Callable[[str], str]):
        self.prefix, self.variants, self.twin_label = prefix, variants, twin_label
        self.k_jobs, self.k_spec, self.k_twin = f"{prefix}_jobs", f"{prefix}_spec", f"{prefix}_twin"
        self.k_name, self.k_poll = f"{prefix}_run_name", f"{prefix}_polling"
        st.session_state.setdefault(self.k_jobs, [])

    def L(self, key: str, **fmt) -> str:
        return t(key, state.lang(), **fmt)

    # ------------------------------------------------------------------ jobs + actions
    def jobs(self):
        m = resources.manager()
        return [j for j in (m.get(i) for i in st.session_state.get(self.k_jobs, [])) if j is not None]

    def _submit(self, paused: bool = False) -> None:
        ss, m = st.session_state, resources.manager()
        spec = ss.get(self.k_spec)
        if spec is None:
            return
        for j in self.jobs():
            m.forget(j.id)
        name = ss.get(self.k_name) or self.L("run.custom")
        specs, names = [spec], [name]
        variant = ss.get(self.k_twin, "none")
        if variant != "none":
            specs.append(self.variants[variant](spec))
            names.append(f"{name} · {self.twin_label(variant)}")
        jobs = m.submit_group(specs, owner=state.owner_id(), names=names, paused=paused)
        ss[self.k_jobs] = [j.id for j in jobs]
        if paused:
            for j in jobs:
                j.step()

    def _pause(self) -> None:
        jobs = self.jobs()
        paused = any(j.paused for j in jobs)
        for j in jobs:
            j.resume() if paused else j.pause()

    def _step(self) -> None:
        jobs = [j for j in self.jobs() if not j.done]
        if not jobs:
            self._submit(paused=True)
        for j in jobs:
            j.step()

    def _stop(self) -> None:
        for j in self.jobs():
            j.stop()

    def _reset(self) -> None:
        m = resources.manager()
        for j in self.jobs():
            m.forget(j.id)
        st.session_state[self.k_jobs] = []

    # ------------------------------------------------------------------ drawing
    def action_bar(self) -> None:
        ss, L, p = st.session_state, self.L, self.prefix
        jobs = self.jobs()
        active = [j for j in jobs if not j.done]
        paused = bool(active) and any(j.paused for j in active)
        c = st.columns([1, 1, 1, 1, 1, 3], vertical_alignment="bottom")
        c[0].button(L("btn.train"), key=f"{p}_train", type="primary", on_click=self._submit,
                    disabled=ss.get(self.k_spec) is None, icon=":material/play_arrow:", use_container_width=True)
        c[1].button(L("btn.resume") if paused else L("btn.pause"), key=f"{p}_pause", on_click=self._pause,
                    disabled=not active, icon=":material/pause:", use_container_width=True)
        c[2].button(L("btn.step"), key=f"{p}_step", on_click=self._step, icon=":material/skip_next:",
                    use_container_width=True, help=L("help.step"))
        c[3].button(L("btn.stop"), key=f"{p}_stop", on_click=self._stop, disabled=not active,
                    icon=":material/stop:", use_container_width=True)
        c[4].button(L("btn.reset"), key=f"{p}_reset", on_click=self._reset, disabled=not jobs,
                    icon=":material/restart_alt:", use_container_width=True)
        if ss.get(self.k_twin) not in self.variants:
            ss[self.k_twin] = "none"
        c[5].selectbox(L("seq.twin"), list(self.variants), key=self.k_twin, format_func=self.twin_label)

    def views(self):
        views = [j.view() for j in self.jobs()]
        return views, ["A", "B"][:len(views)]

    def status(self, views, tags) -> None:
        L, two = self.L, len(views) > 1
        for v, tag in zip(views, tags):
            name, s = (f"{tag} · {v.name}" if two else v.name), v.summary
            if v.status == "queued":
                st.info(L("live.queued", name=name, position=v.position or 1), icon=":material/hourglass_top:")
                continue
            st.progress(min(1.0, v.steps / max(1, v.total_steps)),
                        text=L("live.status", name=name, status=L(f"status.{v.status}"), steps=v.steps,
                               total=v.total_steps, sps=s.get("wall_steps_per_second", 0.0) or 0.0,
                               device=s.get("device") or "…"))
            if v.error:
                st.error(L("live.failed", error=v.error), icon="⚠️")

    def live(self, charts: Callable) -> None:
        """The action bar, then the live part (polled while a run is active)."""
        self.action_bar()
        running = any(j.status in RUNNING_OR_WAITING for j in self.jobs())

        def body() -> None:
            resources.manager().heartbeat(state.owner_id())
            views, tags = self.views()
            if not views:
                st.info(self.L("live.empty"))
                return
            self.status(views, tags)
            streaming = any(v.active for v in views)
            charts(views, tags, streaming)
            polling.track(self.k_poll, streaming)  # ended: the page reruns at the next poll

        polling.live_fragment("seq", body, POLL_SECONDS, 0.04, running)()


__all__ = ["Panel", "POLL_SECONDS"]
