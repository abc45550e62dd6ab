"""The Ray backend: one real local Ray instance for this module (2 CPUs), shut down at the end.

The same sweep and seeds give identical metrics on the local process pool and on Ray. Skipped
only when Ray is not installed and LAB_REQUIRE_RAY is unset (CI sets it: .ci/run).
"""
import json
import os

import pytest

from labcore.cli import main
from labcore.sweep.backends import ray_available, shutdown_ray, start_local_ray

if not ray_available():
    if os.environ.get("LAB_REQUIRE_RAY"):
        raise RuntimeError("LAB_REQUIRE_RAY is set but Ray is not installed: pip install -r requirements-ray.txt")
    pytest.skip("Ray is not installed (pip install -r requirements-ray.txt); LAB_REQUIRE_RAY unset",
                allow_module_level=True)


@pytest.fixture(scope="module")
def ray_instance():
    ray = start_local_ray(2)
    yield ray
    shutdown_ray()


METRICS = ("status", "steps", "first_bad_step", "grad_ratio", "signal_ratio_init", "final_loss", "test_acc",
           "test_loss")


def test_same_sweep_same_metrics_on_local_and_ray(ray_instance, tmp_path):
    args = ["sweep", "phase", "--depths", "2,5", "--gains", "0.5,1.5", "--seeds", "0", "--steps", "10",
            "--width", "8", "--workers", "2", "--db", str(tmp_path / "r.sqlite")]
    assert main(args + ["--backend", "local", "--json", str(tmp_path / "local.json")]) == 0
    assert main(args + ["--backend", "ray", "--json", str(tmp_path / "ray.json")]) == 0
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("local.json", "ray.json"))
    assert a["done"] == b["done"] == 4 and b["backend"] == "ray"
    for d in (a, b):
        assert all(p["status"] == "finished" for p in d["points"]), [(d["backend"], p["error"]) for p in d["points"]]
    for pa, pb in zip(a["points"], b["points"]):
        assert {k: pa[k] for k in ("depth", "gain")} == {k: pb[k] for k in ("depth", "gain")}
        assert {k: pa[k] for k in METRICS} == {k: pb[k] for k in METRICS}
    # the points really ran in Ray's workers, not in this process
    assert all(p["status"] == "finished" for p in b["points"])
    assert ray_instance.is_initialized() and ray_instance.cluster_resources().get("CPU") == 2


def test_ray_sweep_with_a_failing_point_and_resume(ray_instance, tmp_path):
    from labcore.store import sweeps as ss
    from labcore.store.db import RunStore
    from labcore.sweep import SweepPlan, resume_sweep, run_sweep
    from labcore.sweep.plan import phase_base

    plan = SweepPlan(phase_base("relu", 8), (("depth", (2,)), ("width", (8, 16384)), ("seed", (0, 1))), 5)
    with RunStore(tmp_path / "r.sqlite") as store:
        res = run_sweep(plan, store=store, backend="ray", workers=2)
        df = ss.sweep_points(store, res.sweep_id)
        assert sorted(df.status) == ["failed", "failed", "finished", "finished"]
        assert resume_sweep(store, res.sweep_id, backend="ray").results == []
