"""Generic webhooks: ``Authorization: Bearer`` or ``X-Valuenet-Signature: sha256=``."""

from __future__ import annotations

from valuenet.ingest.signatures import OK, Verdict, same, verify_sha256_prefixed

__all__ = ["verify_bearer", "verify_generic_hmac"]


def verify_bearer(token: str | None, authorization: str | None) -> Verdict:
    """Check an ``Authorization: Bearer <token>`` header."""
    if not token:
        return Verdict(False, "generic webhook token not configured")
    if not authorization:
        return Verdict(False, "missing Authorization")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not same(value.strip(), token):
        return Verdict(False, "bearer token does not match")
    return OK


def verify_generic_hmac(token: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check ``X-Valuenet-Signature: sha256=<hex HMAC-SHA256(token, body)>``."""
    return verify_sha256_prefixed(token, signature, body, "X-Valuenet-Signature")
