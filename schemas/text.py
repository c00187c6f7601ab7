"""Text hygiene at the parse boundary: one repair rule for webhook, replay, stream and the stage.

JSON may carry text that no later step can encode: lone UTF-16 surrogates (``"\\udcff"``),
NUL characters and bytes that are not UTF-8. Every entry point decodes through
:func:`loads` (or cleans an already decoded value with :func:`clean`), which replaces each such
character with U+FFFD, so an Interaction, a Kafka record or a ClickHouse row never holds one.
Nesting deeper than :data:`MAX_DEPTH` is refused with a ``ValueError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "REPLACEMENT", "TextError", "clean", "clean_text", "loads", "needs_repair"]

REPLACEMENT = "\ufffd"
#: Deepest JSON nesting accepted (platform payloads nest fewer than 20 levels).
MAX_DEPTH = 200

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
# In raw JSON bytes: a \u0000 or surrogate escape, a raw NUL, or a non-ASCII byte (maybe not UTF-8).
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])|\x00")
# The same escapes in JSON text.
_SUSPECT_ESCAPE = re.compile("\\\\u(?:0000|[dD][89abcdefABCDEF])")


class TextError(ValueError):
    """A document that cannot be decoded: invalid JSON or nested too deeply."""


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate and NUL replaced by U+FFFD (unchanged when clean)."""
    if _BAD_CHARS.search(text) is None:
        return text
    return _BAD_CHARS.sub(REPLACEMENT, text)


def clean(value: Any, _depth: int = 0) -> Any:
    """``value`` (decoded JSON: dicts, lists, strings) with every string and key cleaned by :func:`clean_text`."""
    if _depth > MAX_DEPTH:
        raise TextError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, _depth + 1) for v in value]
    return value


def needs_repair(raw: bytes) -> bool:
    """True when raw JSON bytes may hold text :func:`clean` would change (an escape, a NUL, invalid UTF-8)."""
    if _SUSPECT.search(raw) is not None:
        return True
    if raw.isascii():
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _nothing_to_repair(text: str) -> bool:
    """True when JSON ``text`` holds no NUL or lone surrogate, raw or as an escape (substring checks first)."""
    if "\x00" in text or ("\\u" in text and _SUSPECT_ESCAPE.search(text) is not None):
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # a lone surrogate cannot be encoded
    except UnicodeEncodeError:
        return False
    return True


def loads(raw: bytes | str) -> Any:
    """Decode a JSON document with its text repaired (invalid UTF-8, lone surrogates, NUL → U+FFFD).

    Raises :class:`TextError` (a ``ValueError``) for invalid JSON or nesting deeper than :data:`MAX_DEPTH`.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else raw
    try:
        if _nothing_to_repair(text) and text.count("{") + text.count("[") <= MAX_DEPTH:
            return json.loads(text)  # nothing clean() would change, nesting within MAX_DEPTH: no second walk
        return clean(json.loads(text))
    except RecursionError:
        raise TextError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except TextError:
        raise
    except ValueError as e:
        raise TextError(f"malformed JSON: {e}") from e
