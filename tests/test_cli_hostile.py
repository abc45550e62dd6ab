"""``python -m labcore runs import`` and ``run --spec`` with the issue's hostile files: exit 2 and
one line naming the field, never a traceback; a valid full-model spec imports (issue 13)."""
from __future__ import annotations

import json

import pytest

from labcore.cli import EXIT_BAD_INPUT, main

HOSTILE = {
    "deep.json": ("[" * 100_000, "spec"),
    "deep-object.json": ('{"a":' * 5000 + "1" + "}" * 5000, "spec"),
    "deep.toml": ("x = " + "[" * 5000 + "]" * 5000, "spec"),
    "inline.toml": ("x = " + "{a=" * 3000 + "1" + "}" * 3000, "spec"),
    "dotted.toml": ("[" + ".".join(["a"] * 2000) + "]\nx = 1\n", "spec"),
    "seed.json": ('{"train": {"seed": ' + "7" * 5000 + "}}", "train.seed"),
    "seed.toml": ("[train]\nseed = " + "7" * 5000 + "\n", "spec"),
    "gain.json": ('{"net": {"init": {"gain": ' + "9" * 400 + "}}}", "net.init.gain"),
    "gain.toml": ("[net.init]\ngain = " + "9" * 400 + "\n", "net.init.gain"),
    "bn1.json": (json.dumps({"net": {"layer": {"norm": "batchnorm"}}, "train": {"batch_size": 1}}), "train.batch_size"),
    "nesterov.json": (json.dumps({"train": {"optimizer": "nesterov", "momentum": 0}}), "train.momentum"),
    "evalbomb.json": (json.dumps({"net": {"depth": 8, "layer": {"width": 16384}}}), "net"),
    "model-bn1.json": (json.dumps({"kind": "model", "batch_size": 1}), "batch_size"),
    "kind.json": ('{"kind": [1]}', "kind"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_runs_import_refuses_hostile_files_in_one_line(tmp_path, capsys, name):
    text, field = HOSTILE[name]
    path = tmp_path / name
    path.write_text(text)
    assert main(["runs", "import", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and len(err) < 500
    assert err.startswith(f"error: {field} = "), err


def test_a_valid_full_model_spec_imports(tmp_path, capsys):
    path = tmp_path / "model.json"
    path.write_text('{"kind": "model"}')
    assert main(["runs", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid full model spec" in out and "?spec=" not in out  # full models open on their own page


def test_run_spec_refuses_a_cross_field_error_before_training(tmp_path, capsys):
    path = tmp_path / "bn1.toml"
    path.write_text('[net.layer]\nnorm = "batchnorm"\n[train]\nbatch_size = 1\n')
    assert main(["run", "--spec", str(path)]) == EXIT_BAD_INPUT
    assert "train.batch_size" in capsys.readouterr().err
