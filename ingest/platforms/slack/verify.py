"""Slack request signing: ``X-Slack-Signature`` v0 with a fresh ``X-Slack-Request-Timestamp``."""

from __future__ import annotations

import time

from valuenet.ingest.signatures import MAX_HEADER_CHARS, OK, Verdict, hmac_sha256_hex, same

__all__ = ["SLACK_MAX_AGE_S", "sign_slack", "verify_slack"]

#: Slack requests older (or newer) than this many seconds are rejected as replays.
SLACK_MAX_AGE_S = 300


def sign_slack(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256(secret, ``v0:{ts}:{body}``)."""
    return "v0=" + hmac_sha256_hex(secret, b"v0:" + timestamp.encode("ascii") + b":" + body)


def verify_slack(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes, *, now: float | None = None
) -> Verdict:
    """Check a Slack request: signature present and matching, timestamp within :data:`SLACK_MAX_AGE_S`."""
    if not secret:
        return Verdict(False, "slack signing secret not configured")
    if not timestamp or not signature:
        return Verdict(False, "missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()) or len(signature) > MAX_HEADER_CHARS:
        return Verdict(False, "X-Slack-Request-Timestamp is not an integer of at most 12 digits")
    ts = int(timestamp)
    now = time.time() if now is None else now
    if abs(int(now) - ts) > SLACK_MAX_AGE_S:
        return Verdict(False, "stale X-Slack-Request-Timestamp (more than 5 minutes off)")
    if not same(sign_slack(secret, timestamp, body), signature):
        return Verdict(False, "X-Slack-Signature does not match")
    return OK
