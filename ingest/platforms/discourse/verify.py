"""Discourse webhook signing: ``X-Discourse-Event-Signature``."""

from __future__ import annotations

from valuenet.ingest.signatures import Verdict, hmac_sha256_hex, verify_sha256_prefixed

__all__ = ["sign_discourse", "verify_discourse"]


def sign_discourse(secret: str, body: bytes) -> str:
    """Discourse's ``X-Discourse-Event-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def verify_discourse(secret: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check Discourse's ``X-Discourse-Event-Signature`` over the raw body."""
    return verify_sha256_prefixed(secret, signature, body, "X-Discourse-Event-Signature")
