"""The settings side of a sequence family's page (Through time, Through depth), written once.

A :class:`SeqForm` keeps a spec's widget fields under ``<prefix>_<field>`` session keys: it starts
them from the link (``?<prefix>=<code>&<prefix>_twin=...``) or the first preset, offers the presets
(each sets the fields and its claim's twin), turns the widgets back into a validated spec (its
fields without a widget come from the loaded spec), and writes the settings back into the URL.
:func:`heat_and_loss` draws the charts both pages show the same way: one heatmap per run, loss.
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from labcore.core.errors import SpecError
from labcore.figures import plots
from ui import widgets


class SeqForm:
    def __init__(self, prefix: str, family: str, fields: tuple[str, ...], default: Any, presets: dict,
                 variants: dict, L: Callable[..., str]):
        self.P, self.family, self.fields, self.default = prefix, family, fields, default
        self.presets, self.variants, self.L = presets, variants, L

    def load(self, spec: Any) -> None:
        ss = st.session_state
        ss[f"{self.P}_base"] = spec  # fields without a widget (batch, cadence...) come from here
        for f in self.fields:
            ss[f"{self.P}_{f}"] = getattr(spec, f)

    def start(self) -> None:
        """First visit: the link's settings, else the first preset's (and its twin)."""
        from labcore.spec import codec

        ss, P = st.session_state, self.P
        if f"{P}_{self.fields[0]}" in ss:
            return
        start = self.default
        if self.presets:
            first = next(iter(self.presets.values()))
            start, ss[f"{P}_run_name"] = first.spec, first.name
            ss[f"{P}_twin"] = (first.claim or {}).get("twin", "none")
        code = st.query_params.get(P)
        if code:
            try:
                start = codec.from_url(code, families=[self.family])
                ss[f"{P}_run_name"] = ""
            except SpecError as e:
                st.warning(self.L("seq.bad_input", error=e), icon="⚠️")
        if st.query_params.get(f"{P}_twin") in self.variants:
            ss[f"{P}_twin"] = st.query_params[f"{P}_twin"]
        self.load(start)

    def _on_preset(self) -> None:
        ss, name = st.session_state, st.session_state.get(f"{self.P}_preset")
        if name in self.presets:
            self.load(self.presets[name].spec)
            ss[f"{self.P}_run_name"] = name
            ss[f"{self.P}_twin"] = (self.presets[name].claim or {}).get("twin", ss.get(f"{self.P}_twin", "none"))

    def preset_picker(self) -> None:
        if self.presets:
            st.selectbox(self.L("seq.preset"), ["", *self.presets], key=f"{self.P}_preset", on_change=self._on_preset,
                         format_func=lambda n: f"{n} — {self.presets[n].description}" if n else self.L("seq.preset_none"))

    def build(self, convert: Callable[[str, Any], Any], **extra) -> Any:
        """The widgets' spec (``convert(field, value)`` types each value), or None with the error shown;
        the URL follows it."""
        from labcore.spec import codec

        ss, P, spec = st.session_state, self.P, None
        try:
            values = {f: convert(f, ss[f"{P}_{f}"]) for f in self.fields}
            spec = ss.get(f"{P}_base", self.default).with_changes(**values, **extra)
            st.query_params[P] = codec.to_url(spec)  # the link reopens these settings
        except SpecError as e:
            st.error(self.L("seq.bad_input", error=e), icon="⚠️")
        ss[f"{P}_spec"] = spec
        chosen = ss.get(f"{P}_preset")
        if chosen and spec is not None and spec != self.presets[chosen].spec.with_changes(seed=spec.seed,
                                                                                          device=spec.device):
            ss[f"{P}_run_name"] = ""  # edited: no longer the preset
        return spec

    def sync_twin(self) -> None:
        twin = st.session_state.get(f"{self.P}_twin", "none")
        if twin != "none":
            st.query_params[f"{self.P}_twin"] = twin
        else:
            st.query_params.pop(f"{self.P}_twin", None)


def heat_and_loss(P: str, views, tags, runs, labels: dict, ver, rev: str, streaming: bool,
                  heat_title: Callable[[str | None], str]) -> Callable:
    """One heatmap per run (a shared colour range for twins) in the current column; returns a
    function that draws the loss chart where it is called."""
    two = len(views) > 1
    zr = plots.heat_range([v.metrics for v in views]) if two else None
    cols = st.columns(len(views))
    for i, (v, tag) in enumerate(zip(views, tags)):
        with cols[i]:
            widgets.cached_chart(f"{P}_heat{i}", ver, lambda v=v, tag=tag: plots.grad_heatmap(
                v.metrics, labels=labels, zrange=zr, raw=True, title=heat_title(tag if two else None)),
                key=f"{P}_chart_heat{i}", live=streaming, rev=rev)

    def loss() -> None:
        widgets.cached_chart(f"{P}_loss", ver, lambda: plots.loss_curves(runs, labels=labels, raw=True),
                             key=f"{P}_chart_loss", live=streaming, rev=rev)
    return loss


__all__ = ["SeqForm", "heat_and_loss"]
