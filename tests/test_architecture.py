"""The structure holds: import contracts (and they do fail when broken), one run protocol that a new
family joins from one module, no oversized module without a reason, and an installable package."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labcore.core.family import FAMILIES, family_of, unregister
from labcore.core.status import Status
from labcore.spec.codec import from_json, to_json

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports")


def _lint(cwd: Path, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# ----------------------------------------------------------------------------- import contracts
@pytest.mark.skipif(LINT is None, reason="import-linter is installed by scripts/test.sh")
def test_import_contracts_hold():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


@pytest.mark.skipif(LINT is None, reason="import-linter is installed by scripts/test.sh")
@pytest.mark.parametrize("module,line,contract", [
    ("labcore/spec/mlp.py", "import streamlit", "never imports streamlit"),
    ("labcore/store/db.py", "from labcore.train import jobs", "layers"),
    ("labcore/figures/plots.py", "from labcore.train import mlp", "layers"),
    ("labcore/spec/codec.py", "import torch", "without torch"),
])
def test_import_contracts_fail_when_a_forbidden_import_is_added(tmp_path, module, line, contract):
    shutil.copytree(ROOT / "labcore", tmp_path / "labcore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # injected by the test\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = _lint(tmp_path, env)
    assert r.returncode != 0, r.stdout[-2000:]
    broken = [l for l in r.stdout.splitlines() if l.endswith("BROKEN")]
    assert any(contract in l for l in broken), r.stdout[-2000:]


# ----------------------------------------------------------------------------- sizes
def test_no_module_over_400_lines_without_a_reason():
    offenders = []
    for path in sorted((ROOT / "labcore").rglob("*.py")) + sorted((ROOT / "ui").rglob("*.py")) \
            + sorted((ROOT / "pages").rglob("*.py")):
        lines = path.read_text().splitlines()
        head = "\n".join(lines[:12]).lower()
        if len(lines) > 420 and "why this file is long" not in head:
            offenders.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert not offenders, offenders


# ----------------------------------------------------------------------------- one run protocol
@pytest.fixture
def toy():
    sys.modules.pop("tests.toy_family", None)
    mod = importlib.import_module("tests.toy_family")  # registers the family on import
    yield mod
    unregister("toy")
    sys.modules.pop("tests.toy_family", None)


def test_model_jobs_module_is_gone():
    assert not (ROOT / "labcore" / "model_jobs.py").exists()
    assert importlib.util.find_spec("labcore.model_jobs") is None


def test_builtin_families_are_registered():
    from labcore.presets import load_preset
    from labcore.spec.model import ModelRunSpec

    assert {"mlp", "model"} <= set(FAMILIES)
    assert family_of(load_preset("relu-he").spec).name == "mlp"
    assert family_of(ModelRunSpec()).name == "model"


def test_a_new_family_runs_through_codec_jobs_store_and_cli(toy, tmp_path, capsys):
    from labcore.cli import main
    from labcore.store.db import RunStore
    from labcore.train.jobs import JobManager

    spec = toy.ToySpec(steps=25, lr=0.2, size=3, seed=4)
    # codec: through the registry, both ways
    assert from_json(to_json(spec)) == spec
    # job manager + store
    store = RunStore(tmp_path / "runs.sqlite")
    m = JobManager(max_workers=1, sink_factory=lambda job: store.sink(name=job.name), snapshot_fn=None)
    try:
        job = m.submit(spec, name="toy-run")
        deadline = time.monotonic() + 30
        while not job.done and time.monotonic() < deadline:
            time.sleep(0.02)
        v = job.view()
        assert v.status == Status.FINISHED and v.steps == 25 and v.total_steps == 25
        assert v.metrics.layers == ["w"] and len(v.metrics.steps) == 25
        loss = v.metrics.step_loss
        assert loss[-1] < loss[0] * 1e-3  # the toy really trained
    finally:
        m.shutdown()
    store.writer().flush(10)
    runs = store.list_runs()
    assert [r["name"] for r in runs] == ["toy-run"] and runs[0]["status"] == "finished"
    assert store.spec(runs[0]["id"]) == spec  # the store reads it back through the registry
    stored = store.metrics(runs[0]["id"])
    assert len(stored.steps) == 25
    # CLI: a spec file of the new family, run and recorded, with the usual JSON
    path = tmp_path / "toy.json"
    path.write_text(to_json(spec))
    out = tmp_path / "out.json"
    assert main(["run", "--spec", str(path), "--json", str(out), "--db", str(tmp_path / "cli.sqlite"),
                 "--quiet"]) == 0
    r = json.loads(out.read_text())
    assert r["status"] == "finished" and r["steps"] == 25 and r["layers"] == ["w"]
    assert r["spec"] == {"kind": "toy", "steps": 25, "lr": 0.2, "size": 3, "seed": 4}
    assert len(RunStore(tmp_path / "cli.sqlite").list_runs()) == 1
    # A flat MLP override makes no sense for it: one clear line, exit 2.
    assert main(["run", "--spec", str(path), "--depth", "3", "--no-store", "--quiet"]) == 2
    assert "--depth" in capsys.readouterr().err


def test_unknown_kind_is_a_spec_error_naming_kind():
    from labcore.core.errors import SpecError
    from labcore.spec.codec import from_dict

    with pytest.raises(SpecError) as e:
        from_dict({"kind": "no-such-family"})
    assert e.value.field == "kind"


# ----------------------------------------------------------------------------- installable
def test_pip_install_then_import_from_another_folder(tmp_path):
    """``pip install .`` into a fresh venv, then ``import labcore`` and the console script elsewhere.

    The venv sees this machine's site packages (torch and the rest are not reinstalled: no
    network), and pip builds with the system setuptools (``--no-build-isolation``).
    """
    src = tmp_path / "src"
    shutil.copytree(ROOT / "labcore", src / "labcore", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                        "--no-build-isolation", str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import labcore; from labcore import load_preset, override; "
            "s = override(load_preset('sigmoid-deep').spec, steps=3); print(labcore.__file__)")
    r = subprocess.run([str(py), "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert str(venv) in r.stdout  # the installed copy, not the checkout
    r = subprocess.run([str(venv / "bin" / "gradient-flow-lab"), "presets"], cwd=elsewhere, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "sigmoid-deep" in r.stdout, r.stderr[-2000:]
