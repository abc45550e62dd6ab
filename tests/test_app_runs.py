"""AppTest of the Runs and Compare pages on real SQLite stores in temp folders."""
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labcore.spec.codec import from_url, to_json, to_toml
from labcore.figures.compare import depth_axis, row_at, step_bounds
from labcore.spec.edit import override
from labcore.presets import load_preset
from labcore.core.sinks import train_into
from labcore.store.db import SCHEMA_VERSION, RunStore
from labcore.cli.runs import export_bytes
from labcore.train.mlp import Trainer
from tests.charts import chart_specs

ROOT = Path(__file__).resolve().parents[1]
RUNS, COMPARE = str(ROOT / "pages" / "runs.py"), str(ROOT / "pages" / "compare.py")


def tiny(**kw):
    return override(load_preset("relu-he").spec, **{"depth": 3, "width": 16, "steps": 40, "device": "cpu", **kw})


def record(store, spec, name):
    sink = store.sink(name=name)
    train_into(Trainer(spec), sink, name=name)
    return sink.run_id


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh LAB_HOME, and the app's shared store forgotten so it opens the new one."""
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    from ui import resources

    resources.reset_run_store(close=True)
    yield tmp_path
    resources.reset_run_store(close=True)


@pytest.fixture
def three(home):
    """Three finished runs of different depths and a run whose process died."""
    with RunStore() as s:
        ids = [record(s, tiny(), "relu3"), record(s, tiny(depth=6, activation="sigmoid", init="xavier_normal"), "sigmoid6"),
               record(s, tiny(depth=4, steps=60), "relu4")]
        p = subprocess.Popen([sys.executable, "-c", "pass"])
        p.wait()
        dead = s.create_run(tiny(), name="killed", summary={"layers": ["h1", "h2", "h3", "out"], "device": "CPU"})
        s.con.execute("UPDATE runs SET owner_pid=?, owner_start='' WHERE id=?", (p.pid, dead))
    return ids + [dead]


def page(path, lang="en"):
    at = AppTest.from_file(path, default_timeout=120)
    at.session_state["app_lang"] = lang
    return at.run()


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at) -> pd.DataFrame:
    return at.dataframe[0].value


# ----------------------------------------------------------------------------- Runs page
def test_runs_table_lists_everything_with_diagnosis(three):
    at = ok(page(RUNS))
    df = table(at)
    assert list(df["#"]) == [4, 3, 2, 1]
    st = dict(zip(df["Name"], df["Status"]))
    assert st == {"killed": "interrupted", "relu4": "finished", "sigmoid6": "finished", "relu3": "finished"}
    assert dict(zip(df["Name"], df["Steps"]))["relu4"] == 60
    row = df[df["Name"] == "relu3"].iloc[0]
    assert row["Device"].startswith("CPU") and row["Final loss"] > 0 and 0 <= row["Accuracy"] <= 1
    assert row["Depth"] == 3
    diag = dict(zip(df["Name"], df["Diagnosis"]))
    assert all(len(diag[n]) > 10 for n in ("relu3", "sigmoid6", "relu4"))
    assert diag["killed"].startswith("Waiting")


def test_filter_by_text_and_status(three):
    at = page(RUNS)
    at.text_input(key="runs_filter").set_value("relu").run()
    assert set(table(ok(at))["Name"]) == {"relu3", "relu4"}
    at.text_input(key="runs_filter").set_value("").run()
    at.multiselect(key="runs_status").set_value(["interrupted"]).run()
    assert list(table(ok(at))["Name"]) == ["killed"]


def test_rename_and_tag(three):
    at = page(RUNS)
    at.selectbox(key="runs_pick").set_value(1).run()
    at.text_input(key="runs_name_1").set_value("baseline")
    at.text_input(key="runs_tags_1").set_value("relu, demo ,")
    at.form_submit_button[0].click().run()
    ok(at)
    with RunStore() as s:
        info = s.get(1)
    assert info["name"] == "baseline" and info["tags"] == ["demo", "relu"]
    at.text_input(key="runs_filter").set_value("demo").run()
    assert list(table(ok(at))["Name"]) == ["baseline"]


def test_delete_needs_confirmation_and_can_be_undone(three):
    at = page(RUNS)
    at.selectbox(key="runs_pick").set_value(2).run()
    at.button(key="runs_delete_2").click().run()
    assert any("Delete run #2" in w.value for w in ok(at).warning)
    at.button(key="runs_no_2").click().run()
    assert 2 in list(table(ok(at))["#"])
    at.button(key="runs_delete_2").click().run()
    at.button(key="runs_yes_2").click().run()
    assert 2 not in list(table(ok(at))["#"])
    assert any("Run #2" in i.value for i in at.info)
    with RunStore() as s:
        assert [r["id"] for r in s.list_runs()] == [4, 3, 1]
    at.button(key="runs_undo_2").click().run()
    assert 2 in list(table(ok(at))["#"])
    with RunStore() as s:
        assert len(s.list_runs()) == 4 and s.metrics(2).layer.size > 0


def test_running_run_cannot_be_deleted(home):
    with RunStore() as s:
        s.create_run(tiny(), name="live", summary={"layers": ["h1", "out"]})  # owned by this live process
        at = ok(page(RUNS))
        assert at.button(key="runs_delete_1").disabled
        assert list(table(at)["Status"]) == ["running"]


def test_open_in_lab_link_and_exports(three):
    at = page(RUNS)
    at.selectbox(key="runs_pick").set_value(2).run()
    ok(at)
    links = [m.value for m in at.markdown if "?spec=" in m.value]
    code = re.search(r"\?spec=([A-Za-z0-9_.-]+)", links[0]).group(1)
    with RunStore() as s:
        spec = s.spec(2)
        assert from_url(code) == spec
        labels = [b.label for b in at.download_button]
        assert sorted(labels) == ["Configuration (JSON)", "Configuration (TOML)", "Metrics (CSV)", "Metrics (Parquet)"]
        csv = pd.read_csv(__import__("io").BytesIO(export_bytes(s, 2, "csv")))
        pq = pd.read_parquet(__import__("io").BytesIO(export_bytes(s, 2, "parquet")))
        assert len(csv) == len(pq) == len(s.metrics(2).steps) * 7  # 6 hidden + head
        assert export_bytes(s, 2, "json").decode() == to_json(spec)
        assert export_bytes(s, 2, "toml").decode() == to_toml(spec)


def test_import_accepts_valid_and_refuses_bad_files(three):
    at = page(RUNS)
    good = to_toml(tiny(depth=7))
    at.file_uploader(key="runs_import").set_value(("mine.toml", good.encode(), "application/toml")).run()
    ok(at)
    assert any("7 hidden layers" in s.value for s in at.success)
    code = re.search(r"\?spec=([A-Za-z0-9_.-]+)", [m.value for m in at.markdown if "?spec=" in m.value][-1]).group(1)
    assert from_url(code) == tiny(depth=7)
    bad = json.dumps({"net": {"depth": 3, "layer": {"activation": "__import__('os')"}}})
    at.file_uploader(key="runs_import").set_value(("evil.json", bad.encode(), "application/json")).run()
    assert any("refused" in e.value and "activation" in e.value for e in ok(at).error)
    at.file_uploader(key="runs_import").set_value(("big.json", b" " * (300 * 1024), "application/json")).run()
    assert any("KiB" in e.value for e in ok(at).error)


def test_corrupt_store_is_explained_and_moved_aside_on_request(home):
    path = home / "runs.sqlite"
    junk = b"not a database at all " * 200
    path.write_bytes(junk)
    at = ok(page(RUNS))
    assert any("not a run store" in e.value for e in at.error)
    assert path.read_bytes() == junk  # untouched until asked
    at.button(key="runs_move_aside").click().run()
    ok(at)
    moved = list(home.glob("runs.sqlite.bad-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == junk
    assert any("kept as" in s.value for s in at.success)
    assert any("No runs yet" in i.value for i in at.info)


def test_newer_store_is_refused_without_a_move_button(home):
    RunStore().close()
    con = sqlite3.connect(home / "runs.sqlite")
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 3}")
    con.close()
    at = ok(page(RUNS))
    assert any("newer" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "runs_move_aside"]


def test_runs_page_in_french(three):
    at = ok(page(RUNS, "fr"))
    assert at.title[0].value == "Historique des entraînements"
    assert "interrompu" in list(table(at)["Statut"])


# ----------------------------------------------------------------------------- Compare page
def charts(at) -> dict:
    """The Compare page's four figures, by chart key (profiles, curves, heatmaps, difference)."""
    return chart_specs(at)


def test_compare_overlays_profiles_and_one_slider_moves_every_chart(three):
    at = page(COMPARE)
    at.multiselect(key="cmp_runs").set_value([1, 2, 3]).run()
    ok(at)
    figs = charts(at)
    assert list(figs) == ["cmp_profiles", "cmp_curves", "cmp_heatmaps", "cmp_difference"]
    prof = figs["cmp_profiles"]["data"]
    assert [d["name"].split(" · ")[0] for d in prof] == ["#1 relu3", "#2 sigmoid6", "#3 relu4"]
    assert [len(d["y"]) for d in prof] == [4, 7, 5]  # each run's probe points, on one chart
    assert all(d["x"][0] == 0 and d["x"][-1] == 1 for d in prof)  # relative depth
    heat = figs["cmp_heatmaps"]["data"]
    assert [d["type"] for d in heat] == ["heatmap"] * 3 and heat[0]["zmin"] == heat[2]["zmin"]
    at.slider(key="cmp_step").set_value(20).run()
    figs = charts(ok(at))
    assert all(d["name"].endswith("step 20") for d in figs["cmp_profiles"]["data"])
    for f in figs.values():  # every other chart marks the same step
        if "shapes" in f["layout"]:
            assert {s["x0"] for s in f["layout"]["shapes"]} == {20}
    assert sum("shapes" in f["layout"] for f in figs.values()) == 3
    at.radio(key="cmp_align").set_value("absolute").run()
    prof = charts(ok(at))["cmp_profiles"]["data"]
    assert [d["x"][-1] for d in prof] == [4, 7, 5]


def test_compare_difference_and_guard_rails(three):
    at = page(COMPARE)
    at.multiselect(key="cmp_runs").set_value([1]).run()
    assert any("at least two" in i.value for i in ok(at).info)
    at.multiselect(key="cmp_runs").set_value([1, 3]).run()
    diff = charts(ok(at))["cmp_difference"]
    assert diff["data"][0]["zmid"] == 0 and "#1 relu3 / #3 relu4" in diff["layout"]["title"]["text"]
    at.selectbox(key="cmp_diff_a").set_value(3).run()
    assert "#3 relu4 / #3 relu4" in charts(ok(at))["cmp_difference"]["layout"]["title"]["text"]


def test_compare_needs_two_runs(home):
    with RunStore() as s:
        record(s, tiny(), "only")
    at = ok(page(COMPARE))
    assert any("at least two stored runs" in i.value for i in at.info)


def test_compare_in_french(three):
    at = ok(page(COMPARE, "fr"))
    assert at.title[0].value == "Comparer des entraînements"


def test_alignment_helpers():
    assert list(depth_axis(3, "relative")) == [0, 0.5, 1] and list(depth_axis(3, "absolute")) == [1, 2, 3]
    with pytest.raises(ValueError):
        depth_axis(3, "sideways")
    from labcore.core.metrics import MetricsChunk
    import numpy as np
    m = MetricsChunk(["h1", "out"], np.array([1, 5, 10]), np.zeros(3), np.zeros(3), np.ones((3, 8, 2)))
    assert (row_at(m, 0), row_at(m, 5), row_at(m, 7), row_at(m, 99)) == (0, 1, 1, 2)
    assert step_bounds([("a", m)]) == (1, 10)


def test_strings_complete():
    import ui.strings_compare  # noqa: F401
    import ui.strings_runs  # noqa: F401
    from ui.i18n import keys, missing

    mine = [k for k in keys() if k.split(".")[0] in ("runs", "cmp", "plotc")]
    assert len(mine) > 60 and not [m for m in missing() if m[0] in mine]
