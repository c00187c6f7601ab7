"""Response header values built from user input: ASCII only, no control character, any Unicode name kept.

HTTP header values are Latin-1 on the wire and may not hold CR, LF or other controls (h11 refuses
them: the client would get no answer at all). Two encodings, one per use:

- :func:`content_disposition`: RFC 6266 with RFC 5987/8187's extended parameter,
  ``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded UTF-8>``;
- :func:`header_text`: a free-text value (a network id, a window) as percent-encoded UTF-8
  (RFC 3986 ``quote``): letters, digits and ``-._~`` stay as they are, so an ASCII id reads the
  same, and ``urllib.parse.unquote`` gives back the exact text.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition", "header_text", "safe_filename"]

#: Characters a filename never keeps: path separators, controls (C0, DEL, C1), quotes and what shells mind.
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f/\\"*:<>?|\ud800-\udfff\ufffe\uffff]')
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@\[\]{}~-]")
MAX_FILENAME = 200


def safe_filename(name: str) -> str:
    """``name`` as a filename: unsafe characters → ``_``, no leading dot, at most 200 characters."""
    out = _UNSAFE_NAME.sub("_", name).strip().lstrip(".") or "export"
    return out[:MAX_FILENAME]


def _ascii_fallback(name: str) -> str:
    """The ``filename=`` of RFC 6266: each character as safe ASCII (accents dropped by NFKD), else ``_`` (runs: one)."""
    out = []
    for c in name:
        if _FALLBACK_UNSAFE.match(c) is None:
            out.append(c)
            continue
        folded = _FALLBACK_UNSAFE.sub("", unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode("ascii"))
        out.append(folded or "_")
    return re.sub("_{2,}", "_", "".join(out)) or "export"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` for any Unicode ``filename`` (made safe first)."""
    name = safe_filename(filename)
    fallback = _ascii_fallback(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def header_text(text: str) -> str:
    """A header value for untrusted text: percent-encoded UTF-8 (unreserved ASCII unchanged; ``unquote`` reverses it)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")
