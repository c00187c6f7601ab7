"""Webhook signature checks: Slack v0, GitHub, Discourse, Zendesk and a generic HMAC/bearer scheme.

Every check is constant-time (:func:`hmac.compare_digest`) and returns a
:class:`Verdict`; none logs or echoes a secret or a signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "MAX_HEADER_CHARS",
    "SLACK_MAX_AGE_S",
    "ZENDESK_MAX_AGE_S",
    "Verdict",
    "hmac_sha256_hex",
    "sign_discourse",
    "sign_github",
    "sign_slack",
    "sign_zendesk",
    "verify_bearer",
    "verify_discourse",
    "verify_generic_hmac",
    "verify_github",
    "verify_slack",
    "verify_zendesk",
]

#: Slack requests older (or newer) than this many seconds are rejected as replays.
SLACK_MAX_AGE_S = 300
#: Zendesk requests whose signature timestamp is further than this from now are rejected as replays.
ZENDESK_MAX_AGE_S = 300
#: Longest accepted header value (a timestamp or signature); longer ones are refused, never parsed.
MAX_HEADER_CHARS = 256


@dataclass(frozen=True)
class Verdict:
    """Outcome of a signature check; ``reason`` is safe to log (no secrets)."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


_OK = Verdict(True)


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` under ``secret``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


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
    if not _same(sign_slack(secret, timestamp, body), signature):
        return Verdict(False, "X-Slack-Signature does not match")
    return _OK


def sign_github(secret: str, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def _verify_sha256_prefixed(secret: str | None, signature: str | None, body: bytes, header: str) -> Verdict:
    if not secret:
        return Verdict(False, f"secret for {header} not configured")
    if not signature:
        return Verdict(False, f"missing {header}")
    if not _same("sha256=" + hmac_sha256_hex(secret, body), signature.strip()):
        return Verdict(False, f"{header} does not match")
    return _OK


def verify_github(secret: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check GitHub's ``X-Hub-Signature-256`` over the raw body."""
    return _verify_sha256_prefixed(secret, signature, body, "X-Hub-Signature-256")


def sign_discourse(secret: str, body: bytes) -> str:
    """Discourse's ``X-Discourse-Event-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, body)."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def verify_discourse(secret: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check Discourse's ``X-Discourse-Event-Signature`` over the raw body."""
    return _verify_sha256_prefixed(secret, signature, body, "X-Discourse-Event-Signature")


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
    if not _same(sign_zendesk(secret, timestamp, body), signature.strip()):
        return Verdict(False, "X-Zendesk-Webhook-Signature does not match")
    return _OK


def verify_bearer(token: str | None, authorization: str | None) -> Verdict:
    """Check an ``Authorization: Bearer <token>`` header."""
    if not token:
        return Verdict(False, "generic webhook token not configured")
    if not authorization:
        return Verdict(False, "missing Authorization")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not _same(value.strip(), token):
        return Verdict(False, "bearer token does not match")
    return _OK


def verify_generic_hmac(token: str | None, signature: str | None, body: bytes) -> Verdict:
    """Check ``X-Valuenet-Signature: sha256=<hex HMAC-SHA256(token, body)>``."""
    return _verify_sha256_prefixed(token, signature, body, "X-Valuenet-Signature")
