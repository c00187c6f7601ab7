"""Issue 25 (7c, 7d) on the real broker: unknown GitHub events are dead-lettered naming X-GitHub-Event;
``valuenet dlq list|show|replay`` and ``GET /api/dlq`` read and re-send dead letters; the dlq topic's retention."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from tests.fixtures_kafka import consume_records
from valuenet.config import Settings
from valuenet.schemas.dlq import dlq_record
from valuenet.schemas.envelope import RawEnvelope, decode_raw

pytestmark = pytest.mark.kafka

PAYLOADS = Path(__file__).parent / "payloads" / "github" / "real"
SECRET = "gh-webhook-secret"
TOKEN = "a-bearer-token-that-is-long-enough-0123456789"


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings on fresh topics ``<prefix>.raw/.flows/.metrics/.dlq`` of the test broker."""
    from valuenet.kafka_admin import delete_topics, ensure_topics

    prefix = f"t25.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, prefix=prefix)
    settings = Settings(home=tmp_path, topic_prefix=prefix, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, network="gh")
    yield settings
    delete_topics(kafka_bootstrap, [settings.topic(t) for t in ("raw", "flows", "metrics", "dlq")])


def cli(settings: Settings, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``valuenet <args>`` against the test topics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUENET_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        VALUENET_TOPIC_PREFIX=settings.topic_prefix,
        VALUENET_HOME=str(settings.home),
        **(extra or {}),
    )
    return subprocess.run(
        [sys.executable, "-m", "valuenet.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def _send_dead(settings: Settings, records) -> None:
    from valuenet.ingest.producer import open_producer

    with open_producer(settings) as producer:
        for rec in records:
            producer.send_dlq_record(rec).get(timeout=30)


def _future_comment(received: datetime) -> RawEnvelope:
    """A real GitHub issue_comment webhook dated 60 s after it was received."""
    body = json.loads((PAYLOADS / "issue_comment_created.json").read_text())
    body["comment"]["created_at"] = (received + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"x-github-event": "issue_comment", "x-github-delivery": "d-42"}
    return RawEnvelope(source="github", network="gh", received_at=received, headers=headers, payload=body)


def test_an_unknown_github_event_is_dead_lettered_naming_its_header(env: Settings) -> None:
    """Signed webhook → Kafka → the processors' stage: a dead letter naming X-GitHub-Event, not a silent drop."""
    from fastapi.testclient import TestClient

    from valuenet.ingest.producer import open_producer
    from valuenet.ingest.signatures import hmac_sha256_hex
    from valuenet.ingest.webhook import WebhookSecrets, create_app
    from valuenet.pipeline.wiring import build_stage

    body = json.loads((PAYLOADS / "star_created.json").read_text())
    sent = []
    with open_producer(env, batch_envelopes=1) as producer:
        app = create_app(
            producer.send_and_wait,
            secrets=WebhookSecrets(github_webhook_secret=SECRET),
            network="gh",
            send_dlq=producer.send_dlq_record,
        )
        with TestClient(app) as c:
            for event in ("copilot_seat_assignment", "release"):  # one GitHub does not document, one it does
                raw = json.dumps({**body, "action": "created"}).encode()
                headers = {
                    "X-Hub-Signature-256": "sha256=" + hmac_sha256_hex(SECRET, raw),
                    "X-GitHub-Event": event,
                    "X-GitHub-Delivery": f"delivery-{event}",
                    "Content-Type": "application/json",
                }
                r = c.post("/github", content=raw, headers=headers)
                assert r.status_code == 200, r.text
                sent.append(event)
    records = consume_records(env.bootstrap_servers, env.topic("raw"), 2)
    stage = build_stage(env)
    result = stage.process([r.value for r in records])
    assert not result.flows
    (dead,) = result.dead  # the documented but unhandled event (release) gives nothing, silently by design
    assert dead.field == "headers.x-github-event" and dead.source == "github" and dead.stage == "normalise"
    assert "X-GitHub-Event 'copilot_seat_assignment'" in dead.reason
    assert "delivery-copilot_seat_assignment" in dead.reason  # the record is named by its delivery id
    (env_back,) = decode_raw(dead.record.encode())  # the whole envelope, headers included: replayable
    assert env_back.headers["x-github-event"] == "copilot_seat_assignment" and not dead.truncated
    # no header and a body that matches no event (a release body): dead-lettered too
    rel = {"action": "published", "release": {"id": 1, "tag_name": "v1"}, "repository": body["repository"]}
    (dead2,) = stage.process([RawEnvelope(source="github", network="gh", payload=rel).model_dump_json().encode()]).dead
    assert dead2.field == "headers.x-github-event" and "no X-GitHub-Event header" in dead2.reason


def test_dlq_list_show_and_replay_on_the_broker(env: Settings) -> None:
    from valuenet.analytics.storage.sink import rejected_row
    from valuenet.pipeline.wiring import build_stage

    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    original = _future_comment(received)
    raw = original.model_dump_json().encode()
    strict = build_stage(env.model_copy(update={"future_tolerance_seconds": 0}))  # a misconfigured worker
    (future,) = strict.process([raw]).dead
    assert future.field == "timestamp"
    row = rejected_row("flows", {"network": "gh", "giver_followers": 10**20}, OverflowError("int too big to convert"))
    cut = dlq_record(stage="webhook", source="github", network="gh", reason="x", record="y" * 70_000)
    _send_dead(env, [future, row, cut, future])  # the future event's letter twice (e.g. two workers)
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=env.bootstrap_servers)
    p.send(env.topic("dlq"), b"not a dead letter at all").get(timeout=30)
    p.close()

    # list: newest first, paged with the cursor
    r = cli(env, "dlq", "list", "--limit", "2", "--json")
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert first["retained"] == 5 and [d["id"] for d in first["dead_letters"]] == ["0:4", "0:3"]
    assert first["dead_letters"][0]["replayable"] is False and "unreadable value" in first["dead_letters"][0]["error"]
    assert first["dead_letters"][1]["stage"] == "normalise" and first["dead_letters"][1]["replayable"] is True
    assert first["next"] == "0:3"
    second = json.loads(cli(env, "dlq", "list", "--limit", "2", "--json", "--before", first["next"]).stdout)
    assert [d["id"] for d in second["dead_letters"]] == ["0:2", "0:1"]
    third = json.loads(cli(env, "dlq", "list", "--limit", "2", "--json", "--before", second["next"]).stdout)
    assert [d["id"] for d in third["dead_letters"]] == ["0:0"] and third["next"] is None
    sink = second["dead_letters"][1]
    assert sink["stage"] == "sink" and sink["source"] == "flows" and sink["replayable"] is False
    assert "truncated" in second["dead_letters"][0] and second["dead_letters"][0]["truncated"] is True
    assert json.loads(cli(env, "dlq", "list", "--since", "1h", "--json").stdout)["dead_letters"][-1]["id"] == "0:0"
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert json.loads(cli(env, "dlq", "list", "--since", later, "--json").stdout)["dead_letters"] == []
    table = cli(env, "dlq", "list")
    assert table.returncode == 0 and "5 dead letters retained (retention 30 days)" in table.stdout
    assert "0:0" in table.stdout and "timestamp" in table.stdout

    # show: the whole record
    shown = cli(env, "dlq", "show", "0:0")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["id"] == "0:0" and doc["reason"] == future.reason and doc["record"] == future.record
    assert json.loads(cli(env, "dlq", "show", "0").stdout)["id"] == "0:0"  # a bare offset: partition 0
    missing = cli(env, "dlq", "show", "0:99")
    assert missing.returncode == 1 and "partition 0 ends at offset 5" in missing.stderr
    assert cli(env, "dlq", "show", "zero").returncode == 2

    # replay: the original raw record back on valuenet.raw, once per record; what cannot be replayed is named
    dry = json.loads(cli(env, "dlq", "replay", "--all", "--dry-run", "--json").stdout)
    assert dry["sent"] == ["0:0"] and {s["id"] for s in dry["skipped"]} == {"0:1", "0:2", "0:3", "0:4"}
    assert not consume_records(env.bootstrap_servers, env.topic("raw"), 1, timeout_s=3)
    out = cli(env, "dlq", "replay", "--ids", "0:0,0:3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "re-sent 1 raw records" in out.stdout and "same record as 0:0" in out.stdout
    bad = cli(env, "dlq", "replay", "--ids", "0:1", "--ids", "0:2")
    assert bad.returncode == 1 and "not a raw envelope" in bad.stdout and "cut at 65536 characters" in bad.stdout
    again = cli(env, "dlq", "replay", "--all", "--since", "2h")  # a second replay of the same dead letter
    assert again.returncode == 0 and "re-sent 1 raw records" in again.stdout
    replayed = consume_records(env.bootstrap_servers, env.topic("raw"), 2)
    assert len(replayed) == 2
    for rec in replayed:
        (back,) = decode_raw(rec.value)
        assert back == original  # headers, received_at and payload as they were
    # the fixed worker (default tolerance) takes the event once: the second copy is a duplicate
    fixed = build_stage(env)
    result = fixed.process([rec.value for rec in replayed])
    assert len(result.flows) == 1 and result.duplicates == 1 and not result.dead
    assert result.flows[0].event_id == future.reason.split("(event ")[1].rstrip(")")


def test_api_dlq_is_paginated_token_protected_and_never_500(env: Settings, chdb_store) -> None:
    from fastapi.testclient import TestClient

    from valuenet.web.app import create_app

    letters = [
        dlq_record(stage="webhook", source="github", network="gh", reason=f"bad {i}", field="body", record={"i": i})
        for i in range(5)
    ]
    _send_dead(env, letters)
    s = env.model_copy(update={"api_token": SecretStr(TOKEN), "api_allowed_hosts": ("testserver",)})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(s, chdb_store, kafka=False, feed_poll_seconds=3600)) as c:
        assert c.get("/api/dlq").status_code == 401
        page = c.get("/api/dlq", params={"limit": 3}, headers=auth).json()
        assert page["topic"] == env.topic("dlq") and page["retained"] == 5
        assert [d["reason"] for d in page["dead_letters"]] == ["bad 4", "bad 3", "bad 2"]
        assert all(d["replayable"] and "record" not in d for d in page["dead_letters"])
        rest = c.get("/api/dlq", params={"limit": 3, "before": page["next"], "full": True}, headers=auth).json()
        assert [d["reason"] for d in rest["dead_letters"]] == ["bad 1", "bad 0"] and rest["next"] is None
        assert json.loads(rest["dead_letters"][0]["record"]) == {"i": 1}
        assert len(c.get("/api/dlq", params={"since": "1h"}, headers=auth).json()["dead_letters"]) == 5
        for params in ({"since": "yesterday"}, {"before": "a:b"}, {"limit": 0}, {"limit": 5000}):
            assert c.get("/api/dlq", params=params, headers=auth).status_code == 422, params
    down = s.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:9"})  # nothing listens there
    with TestClient(create_app(down, chdb_store, kafka=False, feed_poll_seconds=3600)) as c:
        r = c.get("/api/dlq", headers=auth)
        assert r.status_code == 503 and "dead-letter topic unavailable" in r.json()["detail"]


def test_the_dlq_topic_keeps_dead_letters_30_days_and_setup_corrects_it(env: Settings) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    from valuenet.kafka_admin import admin_client, ensure_topics, set_retention, topic_retention_ms

    dlq = env.topic("dlq")
    assert topic_retention_ms(env.bootstrap_servers, dlq) == 30 * 86_400_000
    assert topic_retention_ms(env.bootstrap_servers, env.topic("raw")) == 7 * 86_400_000  # others untouched
    set_retention(env.bootstrap_servers, dlq, 7 * 86_400_000)  # e.g. created by an older release
    with admin_client(env.bootstrap_servers) as admin:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, dlq, configs={"segment.ms": "3600000"})])
    r = cli(env, "kafka", "topics", "--create", extra={"VALUENET_DLQ_RETENTION_DAYS": "-1"})
    assert r.returncode == 0, r.stderr
    assert topic_retention_ms(env.bootstrap_servers, dlq) == -1  # kept forever, as configured
    with admin_client(env.bootstrap_servers) as admin:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, dlq)])["topic"][dlq]
    assert found["segment.ms"]["value"] == "3600000"  # retention.ms (and max.message.bytes) changed, nothing else
    ensure_topics(env.bootstrap_servers, prefix=env.topic_prefix, dlq_retention_ms=Settings().dlq_retention_ms)
    assert topic_retention_ms(env.bootstrap_servers, dlq) == 30 * 86_400_000
    assert Settings(dlq_retention_days=90).dlq_retention_ms == 90 * 86_400_000
    with pytest.raises(ValidationError, match="dlq_retention_days must be -1"):
        Settings(dlq_retention_days=0)


def test_setup_right_after_another_creator_still_sets_the_retention(kafka_bootstrap: str) -> None:
    """A dlq topic created a moment before without the retention (e.g. by an older release) gets it."""
    from valuenet.kafka_admin import delete_topics, ensure_topics, topic_retention_ms

    prefix = f"t25.{uuid.uuid4().hex[:8]}"
    try:
        ensure_topics(kafka_bootstrap, prefix=prefix, dlq_retention_ms=None)
        assert topic_retention_ms(kafka_bootstrap, f"{prefix}.dlq") == 7 * 86_400_000  # the broker's default
        report = ensure_topics(kafka_bootstrap, prefix=prefix)
        assert f"{prefix}.dlq" in report.existing
        assert topic_retention_ms(kafka_bootstrap, f"{prefix}.dlq") == 30 * 86_400_000
    finally:
        delete_topics(kafka_bootstrap, [f"{prefix}.{t}" for t in ("raw", "flows", "metrics", "dlq")])


def test_an_unreachable_broker_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    down = Settings(home=tmp_path, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")  # nothing listens there
    for args in (["dlq", "list"], ["dlq", "show", "0:1"], ["dlq", "replay", "--all"]):
        r = cli(down, *args)
        assert r.returncode == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr and "127.0.0.1:9" in r.stderr, (args, r.stderr)
        assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, (args, r.stderr)
