"""What every webhook signature check shares; each platform's check is its ``platforms/<name>/verify.py``.

Every check is constant-time (:func:`hmac.compare_digest`) and returns a
:class:`Verdict`; none logs or echoes a secret or a signature.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["MAX_HEADER_CHARS", "OK", "Verdict", "hmac_sha256_hex", "same", "verify_sha256_prefixed"]

#: Longest accepted header value (a timestamp or signature); longer ones are refused, never parsed.
MAX_HEADER_CHARS = 256


@dataclass(frozen=True)
class Verdict:
    """Outcome of a signature check; ``reason`` is safe to log (no secrets)."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


#: The verdict of every check that passed.
OK = Verdict(True)


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` under ``secret``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def verify_sha256_prefixed(secret: str | None, signature: str | None, body: bytes, header: str) -> Verdict:
    """Check ``header`` = ``sha256=`` + hex HMAC-SHA256(secret, body)."""
    if not secret:
        return Verdict(False, f"secret for {header} not configured")
    if not signature:
        return Verdict(False, f"missing {header}")
    if not same("sha256=" + hmac_sha256_hex(secret, body), signature.strip()):
        return Verdict(False, f"{header} does not match")
    return OK
