"""Commands that don't train don't import torch: ``presets``, ``--help`` and ``runs list`` (on a
store holding a real run) run in a fresh interpreter, and the test reads that interpreter's
``sys.modules`` after the command. pandas is also left out of them (it is imported where frames are
built), which is what keeps these commands around 0.4 s instead of 2.4 s."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run the CLI's main() exactly as `python -m labcore ARGS` does, then report what got imported.
PROBE = """
import json, sys
from labcore.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # --help exits through argparse
    code = e.code
print("@@" + json.dumps({"code": code, "mods": sorted(m for m in ("torch", "pandas", "plotly", "streamlit")
                                                       if m in sys.modules)}))
"""


def _modules(*args, env=None):
    p = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env=env)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("@@")]
    assert line, p.stderr
    out = json.loads(line[-1][2:])
    assert out["code"] in (0, None), p.stderr
    return out["mods"], p.stdout


@pytest.mark.parametrize("args", [["presets"], ["--help"], ["runs", "--help"]])
def test_light_commands_do_not_import_torch(args):
    mods, out = _modules(*args)
    assert mods == [], f"`python -m labcore {' '.join(args)}` imported {mods}"
    if args == ["presets"]:
        assert "sigmoid-deep" in out


def test_runs_list_on_a_real_store_does_not_import_torch(tmp_path):
    # A real run recorded by the real CLI (this subprocess does import torch: it trains).
    db = tmp_path / "runs.sqlite"
    p = subprocess.run([sys.executable, "-m", "labcore", "run", "--depth", "2", "--width", "8", "--steps", "5",
                        "--device", "cpu", "--quiet", "--name", "light", "--db", str(db)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    mods, out = _modules("runs", "list", "--db", str(db))
    assert "light" in out
    assert mods == [], f"`runs list` imported {mods}"
    mods, out = _modules("runs", "list", "--json", "--db", str(db))
    assert json.loads(out.split("@@")[0])[0]["name"] == "light"
    assert mods == []


def test_the_probe_sees_torch_when_a_command_needs_it(tmp_path):
    """The check above can fail: a command that trains does import torch."""
    mods, _ = _modules("run", "--depth", "1", "--width", "4", "--steps", "1", "--device", "cpu", "--quiet",
                       "--no-store")
    assert "torch" in mods
