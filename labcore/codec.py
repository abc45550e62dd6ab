"""Spec <-> dict / JSON / TOML / URL string. Strict: unknown keys and bad types raise SpecError.

The dict form is compact: a stack of identical layers is written ``depth`` + one ``layer``
table; otherwise ``layers`` lists them all. Fields equal to their defaults may be omitted on
input. The URL form is the JSON of the non-default fields, deflated and base64url-encoded,
prefixed with a version tag so old links stay readable.
"""
from __future__ import annotations

import base64
import binascii
import json
import tomllib
import zlib
from dataclasses import MISSING, fields
from typing import Any

import tomli_w

from .spec import DataSpec, InitSpec, LayerSpec, NetSpec, RunSpec, SpecError, TrainSpec

URL_PREFIX = "g1."  # version tag of the URL encoding
MAX_TEXT_BYTES = 256 * 1024  # spec files and strings above this are refused before parsing


# ----------------------------------------------------------------------------- dict
def _plain(obj, *, drop_defaults: bool) -> dict:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, (LayerSpec, InitSpec, DataSpec)):
            sub = _plain(v, drop_defaults=drop_defaults)
            if sub or not drop_defaults:
                out[f.name] = sub
            continue
        if drop_defaults and f.default is not MISSING and v == f.default:
            continue
        out[f.name] = v
    return out


def to_dict(spec: RunSpec, *, drop_defaults: bool = False) -> dict:
    """Nested plain dict (JSON/TOML-ready). Full-model specs (``kind == "model"``) write their own."""
    if getattr(spec, "kind", None) == "model":
        return spec.to_dict()
    layers = spec.net.layers
    net: dict[str, Any] = {}
    if all(l == layers[0] for l in layers):
        net["depth"] = len(layers)
        net["layer"] = _plain(layers[0], drop_defaults=drop_defaults)
    else:
        net["layers"] = [_plain(l, drop_defaults=drop_defaults) for l in layers]
    init = _plain(spec.net.init, drop_defaults=drop_defaults)
    if init or not drop_defaults:
        net["init"] = init
    train = _plain(spec.train, drop_defaults=drop_defaults)
    return {"net": net, "train": train}


def _build(cls, d: Any, where: str):
    if not isinstance(d, dict):
        raise SpecError(where, d, "a table of fields")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}" if where else unknown[0], d[unknown[0]],
                        "a known field: " + ", ".join(sorted(known)))
    try:
        return cls(**d)
    except SpecError as e:
        name = e.field.split(".")[-1]
        raise SpecError(f"{where}.{name}" if where else name, e.value, e.allowed) from None
    except TypeError as e:  # e.g. a nested value of the wrong kind
        raise SpecError(where, d, f"valid fields ({e})") from None


def from_dict(d: Any, *, allow_model: bool = True) -> RunSpec:
    """Build and validate a RunSpec from the dict form; raises SpecError on anything wrong.

    A dict with ``kind = "model"`` is a full-model run (:mod:`labcore.model_spec`); pass
    ``allow_model=False`` where only an MLP spec makes sense (the Lab's link codes).
    """
    if isinstance(d, dict) and "kind" in d:
        if d["kind"] != "model" or not allow_model:
            raise SpecError("kind", d["kind"], "an MLP spec here (full-model runs open on the Models page)"
                            if d["kind"] == "model" else "'model', or no kind for an MLP spec")
        from .model_spec import from_dict as model_from_dict

        return model_from_dict(d)
    if not isinstance(d, dict):
        raise SpecError("spec", d, "a table with 'net' and 'train'")
    unknown = sorted(set(d) - {"net", "train"})
    if unknown:
        raise SpecError(unknown[0], d[unknown[0]], "only 'net' and 'train' at the top level")
    net = d.get("net", {})
    if not isinstance(net, dict):
        raise SpecError("net", net, "a table")
    unknown = sorted(set(net) - {"depth", "layer", "layers", "init"})
    if unknown:
        raise SpecError(f"net.{unknown[0]}", net[unknown[0]], "one of depth, layer, layers, init")
    if "layers" in net:
        if "depth" in net or "layer" in net:
            raise SpecError("net.layers", "...", "either 'layers' or 'depth' + 'layer', not both")
        raw = net["layers"]
        if not isinstance(raw, list) or not raw:
            raise SpecError("net.layers", raw, "a non-empty list of layer tables")
        layers = tuple(_build(LayerSpec, l, f"net.layers[{i}]") for i, l in enumerate(raw))
    else:
        depth = net.get("depth", 4)
        layer = _build(LayerSpec, net.get("layer", {}), "net.layer")
        try:
            return_net = NetSpec.uniform(depth, layer.width, layer.activation, norm=layer.norm,
                                         skip=layer.skip, dropout=layer.dropout)
        except SpecError as e:
            raise SpecError("net.depth" if e.field.endswith("depth") else e.field, e.value, e.allowed) from None
        layers = return_net.layers
    init = _build(InitSpec, net.get("init", {}), "net.init")
    netspec = NetSpec(layers, init)
    train = d.get("train", {})
    if not isinstance(train, dict):
        raise SpecError("train", train, "a table")
    train = dict(train)
    data = _build(DataSpec, train.pop("data", {}), "train.data")
    return RunSpec(netspec, _build(TrainSpec, {**train, "data": data}, "train"))


# ----------------------------------------------------------------------------- text forms
def _check_size(text: str | bytes) -> None:
    if len(text) > MAX_TEXT_BYTES:
        raise SpecError("spec", f"{len(text):,} bytes", f"a spec of at most {MAX_TEXT_BYTES // 1024} KiB")


def to_json(spec: RunSpec, indent: int | None = 2) -> str:
    return json.dumps(to_dict(spec), indent=indent)


def from_json(text: str | bytes) -> RunSpec:
    _check_size(text)
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SpecError("spec", str(text)[:40], f"valid JSON ({e})") from None
    return from_dict(d)


def to_toml(spec: RunSpec) -> str:
    return tomli_w.dumps(to_dict(spec))


def from_toml(text: str | bytes) -> RunSpec:
    _check_size(text)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError("spec", "binary data", f"UTF-8 TOML text ({e})") from None
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError("spec", text[:40], f"valid TOML ({e})") from None
    return from_dict(d)


def to_url(spec: RunSpec) -> str:
    """Compact URL-safe string (only non-default fields are kept)."""
    raw = json.dumps(to_dict(spec, drop_defaults=True), separators=(",", ":")).encode()
    return URL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def from_url(s: str) -> RunSpec:
    if not isinstance(s, str) or not s.startswith(URL_PREFIX):
        raise SpecError("url", s, f"a lab link code starting with '{URL_PREFIX}'")
    _check_size(s)
    body = s[len(URL_PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raw = zlib.decompressobj().decompress(packed, MAX_TEXT_BYTES + 1)  # bounded: no zip bombs
        if len(raw) > MAX_TEXT_BYTES:
            raise ValueError("too large")
        d = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError) as e:
        raise SpecError("url", s[:40], f"an intact lab link code ({e})") from None
    return from_dict(d, allow_model=False)


def load_spec_file(path) -> RunSpec:
    """Read a .json or .toml spec file (size-capped, validated)."""
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() not in (".json", ".toml"):
        raise SpecError("file", p.name, "a .json or .toml spec file")
    try:
        if p.stat().st_size > MAX_TEXT_BYTES:
            raise SpecError("file", p.name, f"a spec file of at most {MAX_TEXT_BYTES // 1024} KiB")
        data = p.read_bytes()
    except OSError as e:
        raise SpecError("file", str(p), f"a readable file ({e.strerror})") from None
    return from_json(data) if p.suffix.lower() == ".json" else from_toml(data)
