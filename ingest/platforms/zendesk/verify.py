"""Zendesk webhook signing: ``X-Zendesk-Webhook-Signature`` over a fresh timestamp and the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

from valuenet.ingest.signatures import MAX_HEADER_CHARS, OK, Verdict, same

__all__ = ["ZENDESK_MAX_AGE_S", "sign_zendesk", "verify_zendesk"]

#: Zendesk requests whose signature timestamp is further than this from now are rejected as replays.
ZENDESK_MAX_AGE_S = 300


def sign_zendesk(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's ``X-Zendesk-Webhook-Signature``: base64 HMAC-SHA256(secret, timestamp + body)."""
    key = secret.encode("utf-8")
    digest = hmac.new(key, timestamp.encode("utf-8") + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_zendesk(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes, *, now: float | None = None
) -> Verdict:
    """Check Zendesk's ``X-Zendesk-Webhook-Signature`` with its ``...-Signature-Timestamp`` (ISO 8601, fresh)."""
    if not secret:
        return Verdict(False, "zendesk webhook secret not configured")
    if not timestamp or not signature:
        return Verdict(False, "missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp")
    if len(timestamp) > 40 or len(signature) > MAX_HEADER_CHARS:
        return Verdict(False, "X-Zendesk-Webhook-Signature-Timestamp or -Signature too long")
    try:
        at = datetime.fromisoformat(timestamp.strip())
        ts = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        return Verdict(False, "X-Zendesk-Webhook-Signature-Timestamp is not an ISO 8601 time")
    now = time.time() if now is None else now
    if abs(now - ts) > ZENDESK_MAX_AGE_S:
        return Verdict(False, "stale X-Zendesk-Webhook-Signature-Timestamp (more than 5 minutes off)")
    if not same(sign_zendesk(secret, timestamp, body), signature.strip()):
        return Verdict(False, "X-Zendesk-Webhook-Signature does not match")
    return OK
