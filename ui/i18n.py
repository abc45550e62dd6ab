"""One translation table for every UI string, English and French.

Each page contributes its own strings with :func:`register` (a dict ``key -> {"en": ..., "fr": ...}``),
usually in a ``ui/strings_<page>.py`` module; :func:`t` looks a key up in the current language.
A key missing in one language is a bug: ``missing()`` lists them and a test asserts it is empty.
"""
from __future__ import annotations

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"

_TABLE: dict[str, dict[str, str]] = {}


def register(strings: dict[str, dict[str, str]]) -> None:
    """Add strings to the table. Re-registering the same key with other text is an error."""
    for key, texts in strings.items():
        old = _TABLE.get(key)
        if old is not None and old != texts:
            raise ValueError(f"translation key {key!r} registered twice with different texts")
        _TABLE[key] = dict(texts)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """The text of ``key`` in ``lang`` (falling back to English), formatted with ``fmt``."""
    texts = _TABLE.get(key)
    if texts is None:
        return key  # visible in the UI and caught by the completeness test
    text = texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or key
    return text.format(**fmt) if fmt else text


def missing() -> list[tuple[str, str]]:
    """(key, language) pairs without a text."""
    return [(k, lang) for k, v in _TABLE.items() for lang in LANGUAGES if not v.get(lang)]


def keys() -> list[str]:
    return list(_TABLE)
