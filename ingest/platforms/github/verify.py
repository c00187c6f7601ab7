"""GitHub webhook signing: ``X-Hub-Signature-256``."""

from __future__ import annotations

from valuenet.ingest.signatures import Verdict, hmac_sha256_hex, verify_sha256_prefixed

__all__ = ["sign_github", "verify_github"]


def sign_github(secret: str, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def verify_github(secret: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check GitHub's ``X-Hub-Signature-256`` over the raw body."""
    return verify_sha256_prefixed(secret, signature, body, "X-Hub-Signature-256")
