"""Runs: the history of every stored run. Filter, rename, tag, delete (with undo), export, import.

Thin by design: the store (labcore.store.db) does the reading and writing, labcore.figures.diagnose the
sentence, labcore.cli.runs the export bytes. Session state holds only UI choices: the picked
run, a pending delete confirmation and this session's undo list.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

import ui.strings_lab  # noqa: F401  (the diagnosis sentences)
import ui.strings_runs  # noqa: F401
from labcore.spec.codec import MAX_TEXT_BYTES, from_json, from_toml, to_url
from labcore.core.family import family_of
from labcore.core.status import Status
from labcore.figures.diagnose import diagnose
from labcore.spec.mlp import SpecError
from labcore.store.db import STATUSES, RunStore, StoreError, move_aside
from labcore.cli.runs import export_bytes
from ui import resources, state, widgets
from ui.safe import md
from ui.i18n import t

state.ensure_router()  # a first request straight to this page still gets the sidebar

TRASH_KEEP_SECONDS = 3600  # a deleted run can be undone this long (while its page is open)
lang = state.lang()
ss = st.session_state
ss.setdefault("runs_trash", [])  # [(id, name)] deleted by this session, newest last
ss.setdefault("runs_confirm", None)  # run id awaiting "Yes, delete"


def L(key: str, **fmt) -> str:
    return t(key, lang, **fmt)


def bad_store() -> None:
    """The store cannot be opened: say why, offer to move the file aside, never touch it otherwise."""
    try:
        RunStore().close()
    except StoreError as e:
        st.error(L("runs.bad_store", error=md(e)), icon="⚠️")
        if e.kind in ("corrupt", "foreign"):
            st.info(L("runs.bad_store_help"))
            if st.button(L("runs.move_aside"), key="runs_move_aside", type="primary"):
                ss["runs_moved"] = str(move_aside(e.path))
                resources.reset_run_store()
                st.rerun()
        elif e.kind == "newer":
            st.info(L("runs.newer_help"))
        st.stop()
    except Exception as e:  # noqa: BLE001 - e.g. an unwritable LAB_HOME: say it, don't crash
        st.error(L("runs.bad_store", error=md(f"{type(e).__name__}: {e}")), icon="⚠️")
        st.stop()
    resources.reset_run_store()  # it opens now (e.g. the folder became writable): use it
    st.rerun()


@st.cache_data(show_spinner=False, max_entries=5000)
def _diagnosis(path: str, run_id: int, steps: int, status: str, first_bad: int | None, error: str | None):
    """The run's diagnosis from its last chunks (cached until its step count or status moves)."""
    store = resources.run_store()
    try:
        m = store.tail_metrics(run_id)
    except (StoreError, KeyError):
        return None
    return diagnose(m, status=status if status in (Status.FAILED, Status.DIVERGED) else None,
                    first_bad_step=first_bad, error=error)


def diagnosis_text(r) -> str:
    d = _diagnosis(str(store.path), int(r.id), int(r.steps), r.status,
                   None if pd.isna(r.first_bad_step) else int(r.first_bad_step), r.error)
    if d is None:
        return "—"
    return " ".join([widgets.diagnosis_text(d, lang)] + [widgets.diagnosis_text(n, lang) for n in d.notes])


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "run"


def lab_link(spec, label: str) -> None:
    """A link to the Lab page with the configuration in its ``?spec=`` parameter (MLP runs only)."""
    if family_of(spec).page != "lab":  # full-model runs are set up on the Models page
        return
    try:
        st.page_link("pages/lab.py", label=label, icon=":material/science:", query_params={"spec": to_url(spec)})
    except Exception:  # noqa: BLE001 - the page alone (tests) has no navigation to link into
        st.markdown(f"[{label}](./?spec={to_url(spec)})")


# ----------------------------------------------------------------------------- the store
st.title(L("runs.title"))
st.caption(L("runs.intro"))
store = resources.run_store()
if store is None:
    bad_store()
if ss.get("runs_moved"):
    st.success(L("runs.moved", path=md(ss.pop("runs_moved"))))
try:
    store.recover()  # a CLI run killed since the last look reads "interrupted"
    store.purge_trash(older_than_s=TRASH_KEEP_SECONDS)
    runs = store.runs_frame()
except StoreError as e:
    resources.reset_run_store()
    st.error(L("runs.bad_store", error=md(e)), icon="⚠️")
    st.stop()
st.caption(L("runs.store_at", path=md(store.path)))

# ----------------------------------------------------------------------------- undo
for rid, name in list(reversed(ss["runs_trash"])):
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(L("runs.deleted", id=rid, name=md(name or "—")), icon=":material/delete:")
    if c2.button(L("runs.undo"), key=f"runs_undo_{rid}"):
        store.restore(rid)
        ss["runs_trash"] = [x for x in ss["runs_trash"] if x[0] != rid]
        ss["runs_pick"] = rid
        st.toast(L("runs.restored", id=rid))
        st.rerun()

# ----------------------------------------------------------------------------- table
if runs.empty:
    st.info(L("runs.empty"))
else:
    f1, f2, f3 = st.columns([3, 3, 1], vertical_alignment="bottom")
    query = f1.text_input(L("runs.filter"), key="runs_filter").strip().lower()
    statuses = f2.multiselect(L("runs.filter_status"), list(STATUSES), key="runs_status",
                              format_func=lambda s: L(f"runs.status.{s}"))
    if f3.button(L("runs.refresh"), key="runs_refresh", icon=":material/refresh:"):
        st.cache_data.clear()
    shown = runs
    if query:
        hit = shown["name"].str.lower().str.contains(query, regex=False) | shown["tags"].map(
            lambda tags: any(query in x.lower() for x in tags))
        shown = shown[hit]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    counts = runs["status"].value_counts()
    st.caption(L("runs.count", shown=len(shown), total=len(runs)) + " — " + " · ".join(
        f"{int(counts[s])} {L(f'runs.status.{s}')}" for s in STATUSES if s in counts))
    acc = shown["final_test_acc"].where(shown["final_test_acc"].notna(), shown["final_acc"])
    table = pd.DataFrame({
        L("runs.col.id"): shown["id"],
        L("runs.col.name"): shown["name"],
        L("runs.col.status"): shown["status"].map(lambda s: L(f"runs.status.{s}")),
        L("runs.col.steps"): shown["steps"],
        L("runs.col.depth"): shown["depth"],
        L("runs.col.device"): shown["device"],
        L("runs.col.loss"): shown["final_loss"],
        L("runs.col.acc"): acc,
        L("runs.col.diagnosis"): [diagnosis_text(r) for r in shown.itertuples()],
        L("runs.col.tags"): shown["tags"].map(", ".join),
        L("runs.col.created"): shown["created"],
    })
    event = st.dataframe(
        table, hide_index=True, key="runs_table", on_select="rerun", selection_mode="single-row",
        column_config={
            L("runs.col.loss"): st.column_config.NumberColumn(format="%.4g"),
            L("runs.col.acc"): st.column_config.NumberColumn(format="percent"),
            L("runs.col.diagnosis"): st.column_config.TextColumn(width="large"),
            L("runs.col.created"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        })
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if rows and ss.get("runs_table_row") != (rows[0], len(shown)):
        ss["runs_table_row"] = (rows[0], len(shown))
        ss["runs_pick"] = int(shown["id"].iloc[rows[0]])  # a click in the table picks the run below
    try:
        st.page_link("pages/compare.py", label=L("runs.compare"), icon=":material/compare:")
    except Exception:  # noqa: BLE001 - the page alone (tests) has no navigation to link into
        pass

    # ------------------------------------------------------------------------- one run
    ids = [int(i) for i in shown["id"]] or [int(i) for i in runs["id"]]
    if ss.get("runs_pick") not in ids:
        ss["runs_pick"] = ids[0]
    names = dict(zip(runs["id"].astype(int), runs["name"]))
    st.subheader(L("runs.details"))
    rid = st.selectbox(L("runs.pick"), ids, key="runs_pick", format_func=lambda i: f"#{i} · {names.get(i) or '—'}")
    info = store.get(rid)
    spec = store.spec(rid)
    left, right = st.columns(2)
    with left.form(f"runs_edit_{rid}", border=True):
        new_name = st.text_input(L("runs.name"), value=info["name"], key=f"runs_name_{rid}", max_chars=200)
        new_tags = st.text_input(L("runs.tags"), value=", ".join(info["tags"]), key=f"runs_tags_{rid}")
        if st.form_submit_button(L("runs.save")):
            store.rename(rid, new_name)
            store.set_tags(rid, new_tags.split(","))
            st.toast(L("runs.saved"))
            st.rerun()
    with right:
        if info["error"]:
            st.caption(L("runs.error", error=md(info["error"])))
        lab_link(spec, L("runs.open_lab"))
        st.markdown(f"**{L('runs.export')}**")
        base = f"run-{rid}-{slug(info['name'])}"
        e1, e2 = st.columns(2)
        for col, fmt, mime in ((e1, "csv", "text/csv"), (e2, "parquet", "application/vnd.apache.parquet"),
                               (e1, "json", "application/json"), (e2, "toml", "application/toml")):
            col.download_button(L(f"runs.dl_{fmt}"), data=lambda fmt=fmt: export_bytes(resources.run_store(), rid, fmt),
                                file_name=f"{base}{'-metrics' if fmt in ('csv', 'parquet') else ''}.{fmt}",
                                mime=mime, key=f"runs_dl_{fmt}_{rid}", on_click="ignore", width="stretch")
        running = info["status"] == "running"
        if running:
            st.caption(L("runs.running_note"))
        if ss["runs_confirm"] != rid:
            if st.button(L("runs.delete"), key=f"runs_delete_{rid}", icon=":material/delete:", disabled=running):
                ss["runs_confirm"] = rid
                st.rerun()
        else:
            st.warning(L("runs.confirm", id=rid, name=md(info["name"] or "—")))
            y, n = st.columns(2)
            if y.button(L("runs.confirm_yes"), key=f"runs_yes_{rid}", type="primary"):
                store.trash(rid)
                ss["runs_trash"] = ss["runs_trash"] + [(rid, info["name"])]
                ss["runs_confirm"] = None
                st.rerun()
            if n.button(L("runs.confirm_no"), key=f"runs_no_{rid}"):
                ss["runs_confirm"] = None
                st.rerun()

# ----------------------------------------------------------------------------- import
st.subheader(L("runs.import"))
up = st.file_uploader(L("runs.import_file"), type=["json", "toml"], key="runs_import", max_upload_size=1,
                      help=L("runs.import_help", kib=MAX_TEXT_BYTES // 1024))
st.caption(L("runs.import_help", kib=MAX_TEXT_BYTES // 1024))
if up is not None:
    suffix = Path(up.name).suffix.lower()
    try:
        if suffix not in (".json", ".toml"):
            raise SpecError("file", up.name, L("runs.import_type"))
        if up.size > MAX_TEXT_BYTES:
            raise SpecError("file", f"{up.size:,} bytes", f"at most {MAX_TEXT_BYTES // 1024} KiB")
        data = up.getvalue()
        imported = from_json(data) if suffix == ".json" else from_toml(data)
        family = family_of(imported)
        family.check(imported)  # checks across fields and the size guard: refused now, not when it runs
    except SpecError as e:
        st.error(L("runs.import_bad", error=md(e)), icon="⚠️")
    else:
        if family.page == "lab":
            st.success(L("runs.import_ok", depth=imported.net.depth, steps=imported.train.steps,
                         dataset=imported.train.data.name))
        else:
            st.success(L("runs.import_ok_other", family=family.label or family.name,
                         steps=family.schedule(imported).total_steps))
        lab_link(imported, L("runs.open_lab"))
        if st.button(L("runs.import_train"), key="runs_import_train"):
            resources.manager().submit(imported, owner=state.owner_id(), name=Path(up.name).stem)
            st.toast(L("runs.import_queued"))
