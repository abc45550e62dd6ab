"""Sweeps: plans, a failing point, stop and resume, the store group, the phase figure, the CLI.

Real parts: a real SQLite store, real training (tiny nets, few steps), the real process pool.
The Ray backend is in tests/test_sweep_ray.py.
"""
import json
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from labcore.cli import main
from labcore.core.errors import SpecError
from labcore.figures.phase import measured_boundary, phase_diagram
from labcore.figures.theory import gradient_depth_scale
from labcore.store import sweeps as ss
from labcore.store.db import SCHEMA_V1, SCHEMA_VERSION, RunStore
from labcore.store.schema import UPGRADES
from labcore.sweep import SweepPlan, parse_values, phase_plan, point_key, resume_sweep, run_sweep
from labcore.sweep.estimate import makespan
from labcore.sweep.plan import phase_base


def tiny_plan(**kw):
    return phase_plan("tanh", kw.pop("depths", (2, 4)), kw.pop("gains", (0.5, 1.5)), kw.pop("steps", 8), width=8, **kw)


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def test_parse_values_and_bad_input():
    assert parse_values("5:60:5") == list(range(5, 61, 5))
    assert parse_values("0.5:3:0.25")[-1] == 3.0 and len(parse_values("0.5:3:0.25")) == 11
    assert parse_values("adam,sgd") == ["adam", "sgd"] and parse_values("1e-3,0.1") == [1e-3, 0.1]
    for bad in ("5:1:1", "1:5:0", "a:b", "1:2:3:4", ""):
        with pytest.raises(SpecError):
            parse_values(bad, "--depths")
    with pytest.raises(SpecError, match="colour"):
        SweepPlan(axes=(("colour", (1, 2)),))
    with pytest.raises(SpecError, match="depth"):
        tiny_plan(depths=(0, 2)).check()  # every point is validated before anything runs


def test_plan_round_trip_and_random_mode():
    p = tiny_plan(seeds=(0, 1))
    assert SweepPlan.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert p.size == 8 and len({point_key(x) for x in p.points()}) == 8
    r = SweepPlan(phase_base("relu", 8), (("depth", (1, 2, 3, 4)), ("lr", (0.1, 0.01, 0.001))), 5, mode="random",
                  samples=5, seed=3)
    assert len(r.points()) == 5 and r.points() == r.points()
    assert all(r.spec_for(x).train.steps == 5 for x in r.points())


def test_failing_point_stop_and_resume(store):
    """A point over the size guard fails alone; a stop keeps what finished; resume runs the rest only."""
    plan = SweepPlan(phase_base("tanh", 8), (("depth", (2, 3)), ("width", (8, 16384)), ("seed", (0, 1, 2))), 6,
                     meta=(("kind", "grid"),))
    stop = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done == 4:
            stop.set()

    first = run_sweep(plan, store=store, backend="serial", stop=stop, progress=progress)
    assert first.stopped and len(first.results) == 4 and seen == [1, 2, 3, 4]
    assert ss.get_sweep(store, first.sweep_id)["status"] == "stopped"
    done_before = {r["key"] for r in first.results}
    again = resume_sweep(store, first.sweep_id, backend="serial")
    assert not again.stopped and again.skipped == 4
    assert {r["key"] for r in again.results}.isdisjoint(done_before) and len(again.results) == 8
    df = ss.sweep_points(store, first.sweep_id)
    assert len(df) == 12 and df["point"].is_unique
    failed = df[df.status == "failed"]
    assert set(failed["width"]) == {16384} and len(failed) == 6
    assert failed["error"].str.contains("SizeError|size|budget", case=False).all()
    ok = df[df.status == "finished"]
    assert len(ok) == 6 and ok["test_acc"].notna().all() and ok["signal_ratio_init"].notna().all()
    assert ss.get_sweep(store, first.sweep_id)["status"] == "finished"
    # a third resume has nothing left to run
    assert resume_sweep(store, first.sweep_id, backend="serial").results == []


def test_sweep_group_list_export_delete_and_other_runs_untouched(store, tmp_path):
    other = store.create_run(phase_base().net and tiny_plan().spec_for({"depth": 2, "gain": 1.0}), name="mine")
    res = run_sweep(tiny_plan(), store=store, backend="serial")
    runs = store.list_runs()
    assert len(runs) == 5 and sum("sweep" in r["tags"] for r in runs) == 4
    assert [s["id"] for s in ss.list_sweeps(store)] == [res.sweep_id]
    assert main(["sweep", "export", str(res.sweep_id), "--out", str(tmp_path / "s.csv"), "--db", str(store.path)]) == 0
    csv = pd.read_csv(tmp_path / "s.csv")
    assert len(csv) == 4 and {"depth", "gain", "test_acc", "run_id"} <= set(csv.columns)
    assert main(["sweep", "delete", str(res.sweep_id), "--db", str(store.path)]) == 0
    assert [r["id"] for r in store.list_runs()] == [other] and ss.list_sweeps(store) == []
    assert main(["sweep", "delete", "99", "--db", str(store.path)]) == 2


def test_version_2_store_upgrades_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_V1)
    UPGRADES[1](con)
    con.execute("INSERT INTO runs (name, created, spec, status) VALUES ('old', 0, '{}', 'finished')")
    con.execute("PRAGMA application_id=1195789378")
    con.execute("PRAGMA user_version=2")
    con.commit()
    con.close()
    with RunStore(path) as s:
        assert s.version() == SCHEMA_VERSION == 4
        assert [r["name"] for r in s.list_runs()] == ["old"] and ss.list_sweeps(s) == []


def test_phase_figure_cells_links_and_theory_line():
    rows = [{"depth": d, "gain": g, "status": "finished", "test_acc": 0.9 if g == 1.0 or d == 2 else 0.1,
             "signal_ratio_init": 10.0 ** -d, "run_id": 10 * d + int(g * 2)} for d in (2, 4, 8) for g in (0.5, 1.0, 2.0)]
    df = pd.DataFrame(rows[:-1])  # one cell still running
    fig = phase_diagram(df, total_shape=([0.5, 1.0, 2.0], [2, 4, 8]), activation="tanh", sigma_b2=0.0)
    heat, line, grad_line = fig.data
    z = np.array(heat.z, dtype=float)
    assert z.shape == (3, 3) and np.isnan(z[2, 2]) and z[0, 0] == pytest.approx(0.9)
    assert np.array(heat.customdata)[1, 1] == 42 and np.array(heat.customdata)[2, 2] == -1
    # the theory line peaks at σ_w = 1, the tanh critical point with σ_b = 0
    assert line.x[int(np.argmax(line.y))] == pytest.approx(1.0, abs=0.02)
    # the gradient-explosion line: only on the chaotic side (σ_w > 1), 6·|ξ_∇| = -6/ln χ1 there
    gx = np.array(grad_line.x, dtype=float)
    gy = np.array([np.nan if v is None else v for v in grad_line.y], dtype=float)
    assert np.isnan(gy[gx < 0.98]).all() and np.isfinite(gy[gx > 1.05]).all()
    i = int(np.argmin(abs(gx - 2.0)))
    xi = gradient_depth_scale("tanh", gx[i] ** 2, 0.0)
    j = int(np.argmin(abs(gx - 1.5)))
    assert xi < 0 and gy[i] == pytest.approx(-6 * xi) and gy[j] > gy[i]  # falls as σ_w grows
    fr = phase_diagram(df, colour="signal_ratio_init")
    assert np.nanmin(np.array(fr.data[0].z, dtype=float)) == pytest.approx(-8)
    assert measured_boundary(df) == {0.5: 2, 1.0: 8, 2.0: 2}


def test_makespan_deals_longest_first():
    assert makespan([3, 3, 2, 2, 2], 2) == 7 and makespan([1] * 10, 1) == 10 and makespan([5, 1], 4) == 5


def test_cli_local_pool_json_and_dry_run(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    out = tmp_path / "local.json"
    assert main(["sweep", "phase", "--depths", "2,4", "--gains", "0.5,1.5", "--steps", "8", "--width", "8",
                 "--backend", "local", "--workers", "2", "--json", str(out), "--db", db]) == 0
    d = json.loads(out.read_text())
    assert d["done"] == d["total"] == 4 and d["workers"] == 2 and d["theory"]["activation"] == "tanh"
    assert all(p["status"] == "finished" and p["link"].startswith("?spec=") for p in d["points"])
    assert len({p["run_id"] for p in d["points"]}) == 4
    # dry run: a plan and an estimate, nothing run, nothing stored
    dry = tmp_path / "dry.json"
    assert main(["sweep", "phase", "--depths", "2,4", "--gains", "0.5,1.5", "--steps", "8", "--width", "8",
                 "--dry-run", "--json", str(dry), "--db", db]) == 0
    e = json.loads(dry.read_text())["estimate"]
    assert e["points"] == 4 and e["cpu_seconds"] > 0 and e["wall_seconds"] > 0
    # measured the way the points run: a pool of 2 workers, its start-up and the CPU share they got
    assert e["workers"] == 2 and e["start_seconds"] > 0 and 0 < e["cpu_share_per_worker"] <= 1
    assert e["wall_seconds_at_current_load"] >= e["wall_seconds"] and len(e["assumptions"]) >= 3
    assert "assuming:" in capsys.readouterr().out
    with RunStore(db) as s:
        assert len(ss.list_sweeps(s)) == 1
    assert main(["sweep", "phase", "--depths", "0:4:2", "--db", db]) == 2
    assert "net.depth" in capsys.readouterr().err


def test_cli_lr_and_grid_sweeps(tmp_path):
    out = tmp_path / "lr.json"
    assert main(["sweep", "lr", "--depths", "2", "--lrs", "0.01,0.1", "--steps", "5", "--width", "8",
                 "--backend", "serial", "--no-store", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [p["lr"] for p in d["points"]] == [0.01, 0.1] and d["sweep_id"] is None and d["theory"] is None
    out = tmp_path / "grid.json"
    assert main(["sweep", "grid", "--preset", "relu-he", "--set", "depth=1,2", "--set", "norm=none,layernorm",
                 "--steps", "5", "--backend", "serial", "--no-store", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert {(p["depth"], p["norm"]) for p in d["points"]} == {(1, "none"), (1, "layernorm"), (2, "none"), (2, "layernorm")}
    assert main(["sweep", "grid", "--set", "depth", "--no-store"]) == 2


def test_phase_points_use_the_sigma_w_and_sigma_b_the_chart_shows():
    """The diagram labels a cell σ_w = gain and the sweep's meta says σ_b² = 0: the built net must
    have W ~ N(0, gain²/fan_in) and zero biases, or the k·ξ line would be drawn for another net."""
    import torch

    from labcore.nets.mlp import build_mlp

    plan = phase_plan("tanh", depths=(6,), gains=(0.5, 2.0), steps=5, width=256)
    assert dict(plan.meta)["sigma_b2"] == 0.0
    for p in plan.points():
        spec = plan.spec_for(p)
        net = build_mlp(spec.net, 64, 10, seed=0)
        hidden = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][1:-1]  # past the input layer, before the head
        assert len(hidden) >= 4
        for m in hidden:
            assert torch.count_nonzero(m.bias) == 0
            assert float(m.weight.detach().std() * m.weight.shape[1] ** 0.5) == pytest.approx(p["gain"], rel=0.03)


def test_pool_workers_are_forks_with_one_torch_thread():
    """The local pool's workers start from the preloaded forkserver (Linux) with torch on one thread,
    and a second pool in the same process reuses the forkserver."""
    import os as _os

    from labcore.sweep.backends import pool_context, start_pool
    from labcore.sweep.worker import worker_info

    for _ in range(2):
        ex = start_pool(2)
        try:
            infos = [f.result() for f in [ex.submit(worker_info) for _ in range(4)]]
        finally:
            ex.shutdown()
        assert all(i["threads"] == 1 and i["pid"] != _os.getpid() for i in infos)
    if "forkserver" in __import__("multiprocessing").get_all_start_methods():
        assert pool_context().get_start_method() == "forkserver"
