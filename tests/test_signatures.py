"""Signature checks with genuine and tampered bodies, against published examples where they exist."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from valuenet.ingest.platforms.discourse.verify import sign_discourse, verify_discourse
from valuenet.ingest.platforms.generic.verify import verify_bearer, verify_generic_hmac
from valuenet.ingest.platforms.github.verify import sign_github, verify_github
from valuenet.ingest.platforms.slack.verify import sign_slack, verify_slack
from valuenet.ingest.platforms.zendesk.verify import ZENDESK_MAX_AGE_S, sign_zendesk, verify_zendesk
from valuenet.ingest.signatures import hmac_sha256_hex

BODY = b'{"action":"opened","issue":{"number":1}}'


def test_slack_signature_matches_slacks_documented_example() -> None:
    # Slack's "Verifying requests from Slack" worked example (signing secret, timestamp, body, signature).
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    ts = "1531420618"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign_slack(secret, ts, body) == expected
    assert verify_slack(secret, ts, expected, body, now=1531420618 + 10)


def test_slack_rejects_tampered_stale_and_missing() -> None:
    secret = "s3cret"
    ts = "1700000000"
    good = sign_slack(secret, ts, BODY)
    assert verify_slack(secret, ts, good, BODY, now=1700000000).ok
    tampered = verify_slack(secret, ts, good, BODY.replace(b"1", b"2"), now=1700000000)
    assert not tampered and "does not match" in tampered.reason
    stale = verify_slack(secret, ts, good, BODY, now=1700000000 + 301)
    assert not stale and "stale" in stale.reason
    assert verify_slack(secret, ts, good, BODY, now=1700000000 + 300).ok
    assert not verify_slack(secret, None, good, BODY, now=1700000000)
    assert not verify_slack(secret, "abc", good, BODY, now=1700000000)
    assert not verify_slack(None, ts, good, BODY, now=1700000000)
    assert secret not in tampered.reason and good not in tampered.reason


def test_github_signature_matches_githubs_documented_example() -> None:
    # GitHub docs, "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_github("It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify_github("It's a Secret to Everybody", expected, b"Hello, World!")
    assert not verify_github("It's a Secret to Everybody", expected, b"Hello, World?")
    assert not verify_github("It's a Secret to Everybody", None, b"Hello, World!")
    assert not verify_github("It's a Secret to Everybody", expected.replace("sha256=", "sha1="), b"Hello, World!")


def test_discourse_signature_is_sha256_prefixed_hex_hmac() -> None:
    secret = "discourse-secret"
    header = "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_discourse(secret, BODY) == header
    assert verify_discourse(secret, header, BODY)
    assert not verify_discourse(secret, header, BODY + b" ")
    assert not verify_discourse("other", header, BODY)


def test_zendesk_signature_is_base64_hmac_of_timestamp_plus_body() -> None:
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    ts = "2026-01-05T09:00:00Z"
    expected = base64.b64encode(hmac.new(secret.encode(), ts.encode() + BODY, hashlib.sha256).digest()).decode()
    assert sign_zendesk(secret, ts, BODY) == expected
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()
    assert verify_zendesk(secret, ts, expected, BODY, now=at + 60)
    assert not verify_zendesk(secret, "2026-01-05T09:00:01Z", expected, BODY, now=at)
    assert not verify_zendesk(secret, ts, expected, BODY[:-1], now=at)
    assert not verify_zendesk(secret, ts, None, BODY, now=at)
    stale = verify_zendesk(secret, ts, expected, BODY, now=at + ZENDESK_MAX_AGE_S + 1)  # a replay
    assert not stale and "stale" in stale.reason


def test_generic_bearer_and_hmac() -> None:
    assert verify_bearer("tok", "Bearer tok")
    assert verify_bearer("tok", "bearer tok")
    assert not verify_bearer("tok", "Bearer tok2")
    assert not verify_bearer("tok", "Basic tok")
    assert not verify_bearer("tok", None)
    assert not verify_bearer(None, "Bearer tok")
    header = "sha256=" + hmac_sha256_hex("tok", BODY)
    assert verify_generic_hmac("tok", header, BODY)
    assert not verify_generic_hmac("tok", header, BODY + b"x")
