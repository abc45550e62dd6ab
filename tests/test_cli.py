"""The CLI as a user runs it: real subprocesses, JSON output, clean errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labcore.presets import list_presets, load_preset

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "labcore", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_presets_lists_every_preset_with_its_description():
    out = cli("presets")
    assert out.returncode == 0
    for p in list_presets():
        assert p.name in out.stdout and p.description in out.stdout


# The five teaching presets and the signature each must show over its short run.
SIGNATURES = {
    "sigmoid-deep": lambda r: r["status"] == "finished" and r["first_last_ratio"] < 1e-3,
    "relu-he": lambda r: r["status"] == "finished" and 1e-2 <= r["first_last_ratio"] <= 1e2,
    "batchnorm": lambda r: r["status"] == "finished" and 1e-2 <= r["first_last_ratio"] <= 1e2,
    "residual": lambda r: r["status"] == "finished" and 1e-2 <= r["first_last_ratio"] <= 1e2,
    "exploding": lambda r: r["status"] == "diverged" or r["first_last_ratio"] > 1e2,
}


@pytest.mark.parametrize("preset", list(SIGNATURES))
def test_preset_signature_through_the_cli_json(preset, tmp_path):
    out_path = tmp_path / "run.json"
    out = cli("run", "--preset", preset, "--json", str(out_path))
    assert out.returncode == 0, out.stderr
    r = json.loads(out_path.read_text())
    for key in ("status", "steps", "layers", "grad_norm", "loss", "steps_per_second", "params", "spec"):
        assert key in r
    assert r["layers"][0] == "h1" and r["layers"][-1] == "out"
    assert len(r["grad_norm"]) == len(r["loss"]) and all(len(row) == len(r["layers"]) for row in r["grad_norm"])
    # the JSON ratio is the median over recorded steps of second / last hidden layer (h1 reads the data)
    import numpy as np
    g = np.array([[np.nan if v is None else v for v in row] for row in r["grad_norm"]])
    with np.errstate(all="ignore"):
        ratios = g[:, 1] / g[:, -2]
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios):
        assert r["first_last_ratio"] == pytest.approx(float(np.median(ratios)), rel=1e-9)
    assert SIGNATURES[preset](r), {k: r[k] for k in ("status", "first_last_ratio", "first_bad_step")}
    assert "first/last hidden-layer gradient ratio" in out.stdout and "status:" in out.stdout
    # the page's verdict, in the JSON and on the terminal
    d = r["diagnosis"]
    assert set(d) >= {"kind", "sentence"} and d["sentence"] and f"diagnosis: {d['sentence']}" in out.stdout
    assert d["kind"] in load_preset(preset).claim["verdict"], d


def test_exploding_json_has_nulls_not_nans(tmp_path):
    out_path = tmp_path / "x.json"
    assert cli("run", "--preset", "exploding", "--quiet", "--json", str(out_path)).returncode == 0
    text = out_path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    r = json.loads(text)
    assert r["status"] == "diverged" and r["steps"] == r["first_bad_step"]
    # the first bad step's non-finite values (its loss may still be finite, its gradients are not) are nulls
    assert r["loss"][-1] is None or None in r["grad_norm"][-1]
    assert None in r["grad_norm"][-1] + [r["loss"][-1]] + r["out_grad_norm"][-1]


def test_overrides_apply(tmp_path):
    out_path = tmp_path / "o.json"
    out = cli("run", "--preset", "relu-he", "--depth", "3", "--width", "8", "--activation", "tanh",
              "--skip", "residual", "--steps", "20", "--dataset", "moons", "--optimizer", "sgd", "--lr", "0.05",
              "--seed", "9", "--batch-size", "16", "--init", "xavier_uniform", "--gain", "1.5", "--norm",
              "layernorm", "--device", "cpu", "--quiet", "--json", str(out_path))
    assert out.returncode == 0, out.stderr
    r = json.loads(out_path.read_text())
    assert r["layers"] == ["h1", "h2", "h3", "out"] and r["steps"] == 20
    net, train = r["spec"]["net"], r["spec"]["train"]
    assert net["depth"] == 3 and net["layer"] == {"width": 8, "activation": "tanh", "norm": "layernorm",
                                                  "skip": "residual", "dropout": 0.0}
    assert net["init"]["scheme"] == "xavier_uniform" and net["init"]["gain"] == 1.5
    assert train["optimizer"] == "sgd" and train["lr"] == 0.05 and train["data"]["name"] == "moons"


@pytest.mark.parametrize("args, says", [
    (["--depth", "0"], "net.depth"),
    (["--width", "1000000000"], "width"),
    (["--lr", "nan"], "train.lr"),
    (["--preset", "nope"], "preset"),
    (["--depth", "300", "--width", "4000"], "parameters"),
    (["--spec", "/nonexistent.toml"], "file"),
])
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(args, says):
    out = cli("run", *args, "--quiet")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and says in out.stderr and out.stderr.startswith("error:")


def test_malformed_spec_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[net\ndepth = ")
    out = cli("run", "--spec", str(bad), "--quiet")
    assert out.returncode == 2 and "valid TOML" in out.stderr and "Traceback" not in out.stderr
