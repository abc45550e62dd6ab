"""Spec <-> dict / JSON / TOML / URL string, for every registered family. Strict: unknown keys
and bad types raise SpecError.

The dict form is the family's own (:attr:`labcore.core.family.Family.to_dict`), found through the
family registry by the spec's type or the dict's ``kind``. Fields equal to their defaults may be
omitted on input. The URL form is the JSON of the non-default fields, deflated and base64url-encoded,
prefixed with a version tag so old links stay readable.

Parsing cannot crash: text is size-capped, its nesting is measured by a cheap scan *before* the
parser sees it (``[[[[...`` 100,000 deep would otherwise be a RecursionError), integer literals too
long to convert become :class:`~labcore.core.errors.HugeNumber` (refused by the field's check, which
names the field), and the parsed tree is walked with a depth bound before any field is read.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
import zlib
from typing import Any, Collection

import tomli_w

from labcore.core.errors import MAX_NESTING, HugeNumber, SpecError, check_tree
from labcore.core.family import FAMILIES, family_named, family_of, kind_of

URL_PREFIX = "g1."  # version tag of the URL encoding
MAX_TEXT_BYTES = 256 * 1024  # spec files and strings above this are refused before parsing
MAX_INT_DIGITS = 40  # longer integer literals are refused by the field's check, unconverted


# ----------------------------------------------------------------------------- nesting scan
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_TOML_STRINGS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_TOML_SEGMENTS = re.compile(r"[\n{,]")  # a key starts a line, an inline table or follows a comma
_BRACKETS = re.compile(r"[^\[\]{}]+")


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for c in _BRACKETS.sub("", text):
        depth += 1 if c in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check_nesting(text: str, toml: bool = False, field: str = "spec") -> None:
    """Refuse text nested deeper than MAX_NESTING before it is parsed (strings do not count)."""
    bare = (_TOML_STRINGS if toml else _JSON_STRINGS).sub('""', text)
    deepest = _bracket_depth(bare)
    if toml:  # a dotted key or table header a.b.c opens one table per dot (string ops: linear time)
        for seg in _TOML_SEGMENTS.split(bare):
            seg = seg.lstrip(" \t[")
            key = seg.split("=", 1)[0] if "=" in seg else seg.split("]", 1)[0] if "]" in seg else ""
            deepest = max(deepest, key.count(".") + 1)
    if deepest > MAX_NESTING:
        raise SpecError(field, f"{deepest:,} levels", f"at most {MAX_NESTING} levels of nested tables and lists")


def _int_literal(text: str):
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else HugeNumber(text)


def _loads_json(text: str | bytes, field: str) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError(field, "binary data", f"UTF-8 JSON text ({e})") from None
    _check_nesting(text, field=field)
    try:
        return json.loads(text, parse_int=_int_literal)
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise SpecError(field, text[:40], f"valid JSON ({e})") from None


# ----------------------------------------------------------------------------- dict
def to_dict(spec: Any, *, drop_defaults: bool = False) -> dict:
    """Nested plain dict (JSON/TOML-ready) of a spec of any registered family."""
    return family_of(spec).to_dict(spec, drop_defaults=drop_defaults)


def from_dict(d: Any, *, families: Collection[str] | None = None) -> Any:
    """Build and validate a spec of the family named by the dict's ``kind`` (none: an MLP spec).

    ``families`` limits which families are accepted here (for example the Lab's link codes);
    anything wrong raises a SpecError naming the field.
    """
    if not isinstance(d, dict):
        raise SpecError("spec", d, "a table of spec fields")
    check_tree(d)
    kind = kind_of(d)
    if not isinstance(kind, str):
        raise SpecError("kind", kind, "the name of a family: " + ", ".join(FAMILIES))
    if families is not None and kind not in families:
        where = {f: FAMILIES[f].label or f for f in FAMILIES}
        raise SpecError("kind", kind, f"a {' or '.join(where.get(f, f) for f in families)} spec here"
                        + (f" ({FAMILIES[kind].label or kind} runs open on their own page)" if kind in FAMILIES else ""))
    return family_named(kind).from_dict(d)


# ----------------------------------------------------------------------------- text forms
def _check_size(text: str | bytes) -> None:
    if len(text) > MAX_TEXT_BYTES:
        raise SpecError("spec", f"{len(text):,} bytes", f"a spec of at most {MAX_TEXT_BYTES // 1024} KiB")


def to_json(spec: Any, indent: int | None = 2) -> str:
    return json.dumps(to_dict(spec), indent=indent)


def from_json(text: str | bytes, *, families: Collection[str] | None = None) -> Any:
    _check_size(text)
    return from_dict(_loads_json(text, "spec"), families=families)


def to_toml(spec: Any) -> str:
    return tomli_w.dumps(to_dict(spec))


def from_toml(text: str | bytes, *, families: Collection[str] | None = None) -> Any:
    _check_size(text)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SpecError("spec", "binary data", f"UTF-8 TOML text ({e})") from None
    _check_nesting(text, toml=True)
    try:
        d = tomllib.loads(text)
    except (ValueError, RecursionError) as e:  # TOMLDecodeError, or an integer past 4,300 digits
        raise SpecError("spec", text[:40], f"valid TOML ({e})") from None
    return from_dict(d, families=families)


def to_url(spec: Any) -> str:
    """Compact URL-safe string (only non-default fields are kept)."""
    raw = json.dumps(to_dict(spec, drop_defaults=True), separators=(",", ":")).encode()
    return URL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def from_url(s: str, *, families: Collection[str] | None = None) -> Any:
    if not isinstance(s, str) or not s.startswith(URL_PREFIX):
        raise SpecError("url", s, f"a lab link code starting with '{URL_PREFIX}'")
    _check_size(s)
    body = s[len(URL_PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raw = zlib.decompressobj().decompress(packed, MAX_TEXT_BYTES + 1)  # bounded: no zip bombs
        if len(raw) > MAX_TEXT_BYTES:
            raise ValueError("too large")
    except (binascii.Error, zlib.error, ValueError) as e:
        raise SpecError("url", s[:40], f"an intact lab link code ({e})") from None
    return from_dict(_loads_json(raw, "url"), families=families)


def load_spec_file(path, *, families: Collection[str] | None = None) -> Any:
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
    return (from_json if p.suffix.lower() == ".json" else from_toml)(data, families=families)
