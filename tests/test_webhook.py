"""Webhook receiver: signatures (genuine, tampered, missing, stale), Slack handshake, acks only after Kafka."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.fixtures_kafka import consume_records
from valuenet.ingest.platforms.discourse.verify import sign_discourse
from valuenet.ingest.platforms.github.verify import sign_github
from valuenet.ingest.platforms.slack.verify import sign_slack
from valuenet.ingest.platforms.zendesk.verify import sign_zendesk
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.signatures import hmac_sha256_hex
from valuenet.ingest.webhook import WebhookSecrets, create_app
from valuenet.schemas.dlq import DlqRecord
from valuenet.schemas.envelope import RawEnvelope

FIXTURES = Path(__file__).parent / "payloads" / "github"
SECRETS = WebhookSecrets(
    slack_signing_secret="slack-signing-secret-123",
    github_webhook_secret="github-secret-456",
    discourse_webhook_secret="discourse-secret-789",
    zendesk_webhook_secret="zendesk-secret-abc",
    generic_webhook_token="generic-token-def",
)
ALL_SECRETS = (
    "slack-signing-secret-123",
    "github-secret-456",
    "discourse-secret-789",
    "zendesk-secret-abc",
    "generic-token-def",
)


class Recorder:
    """A sender that records envelopes (pure tests); ``fail`` makes it raise like a Kafka outage."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[RawEnvelope] = []
        self.dlq: list[DlqRecord] = []
        self.fail = fail

    def send(self, env: RawEnvelope) -> None:
        if self.fail:
            raise TimeoutError("no broker")
        self.sent.append(env)

    def send_dlq(self, rec: DlqRecord) -> None:
        self.dlq.append(rec)


def _client(rec: Recorder) -> TestClient:
    return TestClient(create_app(rec.send, secrets=SECRETS, network="acme", send_dlq=rec.send_dlq))


def _slack_headers(body: bytes, ts: int | None = None, secret: str = "slack-signing-secret-123") -> dict[str, str]:
    t = str(int(time.time()) if ts is None else ts)
    return {
        "X-Slack-Request-Timestamp": t,
        "X-Slack-Signature": sign_slack(secret, t, body),
        "Content-Type": "application/json",
    }


SLACK_EVENT = json.dumps(
    {
        "token": "x",
        "team_id": "T1",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1767603600,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hi <@U2>", "ts": "1767603600.000100"},
    }
).encode()


def test_slack_genuine_is_forwarded_with_timestamp_header() -> None:
    rec = Recorder()
    r = _client(rec).post("/slack", content=SLACK_EVENT, headers=_slack_headers(SLACK_EVENT))
    assert r.status_code == 200
    assert len(rec.sent) == 1
    env = rec.sent[0]
    assert env.source.value == "slack" and env.network == "acme"
    assert env.payload["event"]["text"] == "hi <@U2>"
    assert set(env.headers) == {"x-slack-request-timestamp"}


def test_slack_tampered_missing_and_stale_are_401() -> None:
    rec = Recorder()
    c = _client(rec)
    headers = _slack_headers(SLACK_EVENT)
    assert c.post("/slack", content=SLACK_EVENT.replace(b"hi", b"yo"), headers=headers).status_code == 401
    assert c.post("/slack", content=SLACK_EVENT).status_code == 401
    stale = _slack_headers(SLACK_EVENT, ts=int(time.time()) - 301)
    r = c.post("/slack", content=SLACK_EVENT, headers=stale)
    assert r.status_code == 401 and "stale" in r.json()["error"]
    wrong_key = _slack_headers(SLACK_EVENT, secret="not-the-secret")
    assert c.post("/slack", content=SLACK_EVENT, headers=wrong_key).status_code == 401
    assert rec.sent == []


def test_slack_url_verification_echoes_challenge_without_forwarding() -> None:
    rec = Recorder()
    body = json.dumps(
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    ).encode()
    r = _client(rec).post("/slack", content=body, headers=_slack_headers(body))
    assert r.status_code == 200
    assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert rec.sent == []
    assert _client(rec).post("/slack", content=body).status_code == 401  # the handshake is signed too


def test_github_real_fixture_keeps_delivery_and_event_headers_but_not_signature() -> None:
    rec = Recorder()
    body = (FIXTURES / "issue_comment_created.json").read_bytes()
    delivery = str(uuid.UUID(int=7))
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign_github("github-secret-456", body),
    }
    r = _client(rec).post("/github", content=body, headers=headers)
    assert r.status_code == 200
    env = rec.sent[0]
    assert env.headers == {"x-github-event": "issue_comment", "x-github-delivery": delivery}
    assert env.payload["comment"]["user"]["login"] == "Codertocat"
    bad = dict(headers, **{"X-Hub-Signature-256": sign_github("wrong", body)})
    assert _client(rec).post("/github", content=body, headers=bad).status_code == 401
    no_sig = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    assert _client(rec).post("/github", content=body, headers=no_sig).status_code == 401
    assert len(rec.sent) == 1


def test_discourse_and_zendesk_signatures() -> None:
    rec = Recorder()
    c = _client(rec)
    body = json.dumps(
        {
            "post": {
                "id": 1,
                "user_id": 2,
                "username": "ana",
                "created_at": "2026-01-05T09:00:00.000Z",
                "raw": "hello",
                "topic_id": 3,
                "post_number": 1,
            }
        }
    ).encode()
    dh = {
        "X-Discourse-Event": "post_created",
        "X-Discourse-Event-Type": "post",
        "X-Discourse-Event-Id": "42",
        "X-Discourse-Instance": "https://forum.example",
        "X-Discourse-Event-Signature": sign_discourse("discourse-secret-789", body),
    }
    assert c.post("/discourse", content=body, headers=dh).status_code == 200
    assert rec.sent[-1].headers["x-discourse-event-id"] == "42"
    assert "x-discourse-event-signature" not in rec.sent[-1].headers
    assert c.post("/discourse", content=body + b" ", headers=dh).status_code == 401

    zbody = json.dumps(
        {
            "type": "zen:event-type:ticket.created",
            "id": "e1",
            "time": "2026-01-05T09:00:00Z",
            "subject": "zen:ticket:5",
            "detail": {"id": "5", "requester_id": "9"},
            "event": {},
        }
    ).encode()
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    zh = {
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "X-Zendesk-Webhook-Signature": sign_zendesk("zendesk-secret-abc", ts, zbody),
        "X-Zendesk-Webhook-Id": "01HZ",
    }
    assert c.post("/zendesk", content=zbody, headers=zh).status_code == 200
    assert rec.sent[-1].source.value == "zendesk" and rec.sent[-1].headers["x-zendesk-webhook-id"] == "01HZ"
    replayed_ts = dict(zh, **{"X-Zendesk-Webhook-Signature-Timestamp": "2026-01-05T09:00:02Z"})
    assert c.post("/zendesk", content=zbody, headers=replayed_ts).status_code == 401
    stale = "2026-01-05T09:00:01Z"  # correctly signed, but a replay from long ago
    stale_h = dict(zh, **{"X-Zendesk-Webhook-Signature-Timestamp": stale})
    stale_h["X-Zendesk-Webhook-Signature"] = sign_zendesk("zendesk-secret-abc", stale, zbody)
    r = c.post("/zendesk", content=zbody, headers=stale_h)
    assert r.status_code == 401 and "stale" in r.json()["error"]
    assert len(rec.sent) == 2


def test_generic_bearer_hmac_unknown_source_and_bad_json(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder()
    c = _client(rec)
    body = b'{"from": "a", "to": "b", "kind": "reply"}'
    with caplog.at_level(logging.DEBUG):
        assert (
            c.post("/generic/generic", content=body, headers={"Authorization": "Bearer generic-token-def"}).status_code
            == 200
        )
        assert (
            c.post(
                "/generic/generic?network=other",
                content=body,
                headers={"X-Valuenet-Signature": "sha256=" + hmac_sha256_hex("generic-token-def", body)},
            ).status_code
            == 200
        )
        assert c.post("/generic/generic", content=body, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/generic/generic", content=body).status_code == 401
        assert (
            c.post("/generic/myspace", content=body, headers={"Authorization": "Bearer generic-token-def"}).status_code
            == 404
        )
        r = c.post("/generic/generic", content=b"{not json", headers={"Authorization": "Bearer generic-token-def"})
        assert r.status_code == 400
        c.post("/slack", content=SLACK_EVENT, headers=_slack_headers(SLACK_EVENT, secret="leak?"))
    assert [e.network for e in rec.sent] == ["acme", "acme"]  # ?network= is not the caller's to choose
    assert len(rec.dlq) == 1 and rec.dlq[0].field == "body" and rec.dlq[0].record == "{not json"
    assert rec.dlq[0].stage == "webhook" and "not JSON" in rec.dlq[0].reason
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "rejected" in logged
    assert not any(s in logged for s in ALL_SECRETS)


def test_oversized_bodies_are_413_and_write_nothing() -> None:
    rec = Recorder()
    c = TestClient(create_app(rec.send, secrets=SECRETS, network="acme", send_dlq=rec.send_dlq, max_body_bytes=1000))
    big = json.dumps({"from": "a", "to": "b", "text": "x" * 5000}).encode()
    auth = {"Authorization": "Bearer generic-token-def"}
    r = c.post("/generic/generic?network=n2", content=big, headers=auth)  # declared Content-Length
    assert r.status_code == 413 and "1000" in r.json()["error"]

    def chunks():  # no Content-Length: counted while streaming
        for i in range(0, len(big), 700):
            yield big[i : i + 700]

    r = c.post("/github", content=chunks(), headers={"X-GitHub-Event": "push"})
    assert r.status_code == 413
    small = b'{"from": "a", "to": "b", "kind": "reply"}'
    assert c.post("/generic/generic", content=small, headers=auth).status_code == 200
    assert [e.payload for e in rec.sent] == [json.loads(small)]
    assert rec.dlq == []  # an oversize body cannot be verified: anyone could write it, so nothing is written


def test_unconfigured_secret_answers_401() -> None:
    rec = Recorder()
    c = TestClient(
        create_app(rec.send, secrets=WebhookSecrets(_env_file=None, slack_signing_secret=None), network="acme")
    )
    assert c.post("/github", content=b"{}", headers={"X-Hub-Signature-256": sign_github("", b"{}")}).status_code == 401


def test_kafka_failure_is_503() -> None:
    rec = Recorder(fail=True)
    r = _client(rec).post("/slack", content=SLACK_EVENT, headers=_slack_headers(SLACK_EVENT))
    assert r.status_code == 503


@pytest.mark.kafka
def test_acknowledged_webhooks_are_on_the_broker(kafka_bootstrap: str, new_topic) -> None:
    raw, dlq = new_topic(4), new_topic(1)
    producer = RawProducer(kafka_bootstrap, raw_topic=raw, dlq_topic=dlq, linger_ms=5)
    try:
        c = TestClient(
            create_app(producer.send_and_wait, secrets=SECRETS, network="acme", send_dlq=producer.send_dlq_record)
        )
        acks = []
        for name, event in (("issue_comment_created", "issue_comment"), ("watch_started", "watch"), ("fork", "fork")):
            body = (FIXTURES / f"{name}.json").read_bytes()
            r = c.post(
                "/github",
                content=body,
                headers={
                    "X-GitHub-Event": event,
                    "X-GitHub-Delivery": f"d-{name}",
                    "X-Hub-Signature-256": sign_github("github-secret-456", body),
                },
            )
            assert r.status_code == 200
            acks.append(r.json())
        assert (
            c.post(
                "/generic/generic", content=b"[1,", headers={"Authorization": "Bearer generic-token-def"}
            ).status_code
            == 400
        )
        producer.flush()
    finally:
        producer.close()
    # every 2xx carried the broker's offset: it was acknowledged before the answer
    assert all(a["ok"] and a["offset"] >= 0 for a in acks)
    got = consume_records(kafka_bootstrap, raw, 3)
    # keyed by network + thread (ingest/routing.py): the issue, the star, the fork
    assert {r.key for r in got} == {
        b"acme\x1fCodertocat/Hello-World#1",
        b"acme\x1fstar:186853002:Codertocat",
        b"acme\x1ffork:186853261",
    }
    envs = [RawEnvelope.model_validate_json(r.value) for r in got]
    assert sorted(e.headers["x-github-delivery"] for e in envs) == [
        "d-fork",
        "d-issue_comment_created",
        "d-watch_started",
    ]
    assert {e.headers["x-github-event"] for e in envs} == {"issue_comment", "watch", "fork"}
    dead = [DlqRecord.model_validate_json(r.value) for r in consume_records(kafka_bootstrap, dlq, 1)]
    assert dead[0].field == "body" and dead[0].record == "[1," and dead[0].source == "generic"


def test_hostile_header_values_are_401_never_500() -> None:
    rec = Recorder()
    c = _client(rec)
    body = SLACK_EVENT
    for ts in ("9" * 400, "-5", "\u0661\u0662".encode(), b"\xd9\xa1", " 17", "1e9", ""):
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + "0" * 64}
        assert c.post("/slack", content=body, headers=headers).status_code == 401, ts
    long_sig = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "f" * 5000}
    assert c.post("/slack", content=body, headers=long_sig).status_code == 401
    for zts in ("9" * 400, "yesterday", "2026-13-45T99:00:00Z", "99999-01-01T00:00:00"):
        zh = {"X-Zendesk-Webhook-Signature-Timestamp": zts, "X-Zendesk-Webhook-Signature": "AAAA"}
        assert c.post("/zendesk", content=b"{}", headers=zh).status_code == 401, zts
    latin = {"X-Hub-Signature-256": b"sha256=\xe9\xe9", "X-GitHub-Event": "push"}
    assert c.post("/github", content=b"{}", headers=latin).status_code == 401
    assert rec.sent == [] and rec.dlq == []


def test_unsigned_oversize_body_writes_nothing_and_undecodable_signed_body_is_400_plus_dlq() -> None:
    rec = Recorder()
    c = TestClient(create_app(rec.send, secrets=SECRETS, network="acme", send_dlq=rec.send_dlq, max_body_bytes=500))
    assert c.post("/slack", content=b"x" * 2000).status_code == 413
    assert c.post("/generic/generic", content=b"[" * 2000).status_code == 413
    assert rec.dlq == [] and rec.sent == []
    nested = b"[" * 240 + b"]" * 240  # signed, under the size limit, but nested too deeply
    headers = {"X-Hub-Signature-256": sign_github("github-secret-456", nested), "X-GitHub-Event": "push"}
    assert c.post("/github", content=nested, headers=headers).status_code == 400
    assert [(d.stage, d.field) for d in rec.dlq] == [("webhook", "body")] and "nested" in rec.dlq[0].reason


def test_a_signed_body_with_lone_surrogates_is_repaired_not_503() -> None:
    rec = Recorder()
    body = b'{"type": "event_callback", "event": {"type": "message", "text": "hi \\udcff\\u0000", "user": "U1"}}'
    r = _client(rec).post("/slack", content=body, headers=_slack_headers(body))
    assert r.status_code == 200
    assert rec.sent[0].payload["event"]["text"] == "hi \ufffd\ufffd"
    rec.sent[0].model_dump_json().encode("utf-8")  # encodable all the way to Kafka


def test_kafka_that_hangs_is_503_after_the_ack_timeout() -> None:
    class Hanging(Recorder):
        def send(self, env: RawEnvelope) -> None:
            time.sleep(2.0)  # a broker that never answers (the producer blocks)

    rec = Hanging()
    c = TestClient(create_app(rec.send, secrets=SECRETS, network="acme", ack_timeout_s=0.2))
    r = c.post("/slack", content=SLACK_EVENT, headers=_slack_headers(SLACK_EVENT))
    assert r.status_code == 503 and r.headers["retry-after"]


def test_the_network_comes_from_route_configuration() -> None:
    rec = Recorder()
    networks = {"slack": "acme-chat", "generic/reddit": "acme-social"}
    c = TestClient(create_app(rec.send, secrets=SECRETS, network="acme", networks=networks))
    auth = {"Authorization": "Bearer generic-token-def", "X-Valuenet-Network": "evil"}
    body = b'{"from": "a", "to": "b", "kind": "reply"}'
    assert c.post("/slack?network=evil", content=SLACK_EVENT, headers=_slack_headers(SLACK_EVENT)).status_code == 200
    assert c.post("/generic/reddit?network=evil", content=body, headers=auth).status_code == 200
    assert c.post("/generic/generic?network=evil", content=body, headers=auth).status_code == 200
    assert [e.network for e in rec.sent] == ["acme-chat", "acme-social", "acme"]
