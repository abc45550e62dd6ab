"""Gradient Flow Lab: the router. ``streamlit run app.py``.

It draws the shared sidebar (language, seed, device in use and device choice) and hands over to
the current page through ``st.navigation``. Pages live in ``pages/``; a page file that is not
there yet is simply left out of the menu.

Nothing that reaches the router becomes a traceback (ui/recover.py): a link that breaks the
session's setup or a page that raises is logged server-side, the Lab's settings go back to the
default preset, and the page says so in one line, with the sidebar and the Train button intact.
"""
from __future__ import annotations

from pathlib import Path

import ui.pyfixes  # noqa: F401  (first: serialises ast.parse on Python < 3.12, see the module)
import streamlit as st

import ui.strings_app  # noqa: F401  (registers the app's strings)
import ui.strings_lessons  # noqa: F401  (the Lessons page's title in the menu)
import ui.strings_sweeps  # noqa: F401  (the Sweeps page's title in the menu)
from labcore.spec.choices import DEVICES
from labcore.spec.mlp import SpecError
from ui import gate, recover, resources, slots, state, widgets
from ui.i18n import LANGUAGES, t
from ui.keys import Keys

ROOT = Path(__file__).resolve().parent

# (file, title key, icon, default). Add a page with one line; missing files are skipped.
PAGES = [
    ("pages/lab.py", "nav.lab", ":material/science:", True),
    ("pages/runs.py", "nav.runs", ":material/history:", False),
    ("pages/compare.py", "nav.compare", ":material/compare:", False),
    ("pages/models.py", "nav.models", ":material/layers:", False),
    ("pages/sequences.py", "nav.sequences", ":material/timeline:", False),
    ("pages/transformers.py", "nav.transformers", ":material/stacks:", False),
    ("pages/lessons.py", "nav.lessons", ":material/school:", False),
    ("pages/sweeps.py", "nav.sweeps", ":material/grid_on:", False),
]

# The presenter view (?present=1, the Lessons page) opens with the sidebar collapsed.
st.set_page_config(page_title="Gradient Flow Lab", page_icon="🌊", layout="wide",
                   initial_sidebar_state="collapsed" if st.query_params.get("present") == "1" else "auto")
def _main() -> None:
    resources.import_training_stack()  # first, once per server: no page thread races into torch
    resources.warm_up()  # then, once per server, a first training step etc. in the background
    gate.require_password(st.session_state.get(Keys.LANG) or st.query_params.get("lang") or "en")  # off unless set
    recover.guarded_init(state.init_app)
    lang = state.lang()

    with st.sidebar:
        # The widgets carry no key: their value comes from the canonical session keys (Keys.LANG,
        # Keys.SEED, Keys.DEVICE) each run, and a change is copied back. With st.navigation, a keyed
        # sidebar widget initialised through session state was reset to its default by the next
        # rerun in the browser (Streamlit 1.67), so the language fell back to English after Train.
        ss = st.session_state
        st.markdown(f"### {t('app.title', lang)}")
        langs = list(LANGUAGES)
        new_lang = st.radio(t("app.language", lang), langs, index=langs.index(lang), format_func=LANGUAGES.get,
                            horizontal=True)
        seed = st.number_input(t("app.seed", lang), min_value=0, max_value=2**31 - 1, step=1,
                               value=int(ss[Keys.SEED]), help=t("app.seed_help", lang))
        devices = list(DEVICES)
        device = st.selectbox(t("app.device", lang), devices, index=devices.index(ss[Keys.DEVICE]),
                              format_func=lambda d: t(f"dev.{d}", lang))
        ss[Keys.SEED], ss[Keys.DEVICE] = seed, device
        if new_lang != lang:
            ss[Keys.LANG] = new_lang
            st.query_params["lang"] = new_lang
            st.rerun()
        in_use_box = st.empty()  # filled at the end: it needs torch, which the first paint does not wait for

        @st.fragment(run_every=15)
        def _heartbeat() -> None:
            """Keeps this session's jobs alive while the tab is open, on every page."""
            resources.heartbeat(state.owner_id())

        _heartbeat()

    pages = [st.Page(path, title=t(key, lang), icon=icon, default=default)
             for path, key, icon, default in PAGES if (ROOT / path).exists()]
    current = st.navigation(pages)  # after the sidebar: its widgets keep their state on every page
    recover.show_notice(lang)


    def _device_in_use() -> None:
        from labcore.train.device import device_label, resolve_device  # imported at the top of the run

        try:
            in_use = st.session_state.get(Keys.DEVICE_LABEL) or device_label(resolve_device(st.session_state[Keys.DEVICE]))
            in_use_box.caption(t("app.device_in_use", lang, label=widgets.device_text(in_use, lang)))
        except SpecError:
            in_use_box.error(t("app.device_missing", lang, device=st.session_state[Keys.DEVICE]), icon="⚠️")


    try:
        recover.guarded_run(current, lang)
    finally:  # also when a page stops early (st.stop): the sidebar keeps its line
        _device_in_use()


# One drawing slot for the whole run (ui/slots.py): with a class on the server, the page runs
# queue instead of taking the GIL from the training thread thirty ways at once.
with slots.drawing():
    _main()
