"""Records over Kafka's size limit (issue 25, fault 1): bounded ids, flows records cut by bytes, dead letters cut
to fit, oversized raw envelopes refused, and every valuenet topic created with an explicit max.message.bytes."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from starlette.testclient import TestClient

from tests.chaos_kit import bluesky_reply
from tests.fixtures_kafka import consume_records
from valuenet.config import MAX_MESSAGE_BYTES
from valuenet.ingest.errors import RecordTooLarge
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.webhook import WebhookSecrets, create_app
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import FLOWS_RECORD_BYTES, encode_flows
from valuenet.schemas.dlq import DlqRecord, dlq_record, encode_dlq
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.flow import FlowBatch
from valuenet.schemas.limits import HASH_CHARS, MAX_ACTOR_CHARS, MAX_ID_CHARS, bound_flow, bound_id, record_budget

NETWORK = "oversize"


def big_reply_flows() -> list:
    """The flows of the issue's reply (150 mentions, 8 KB root and parent URIs) through a fresh stage."""
    result = build_stage().process([bluesky_reply(NETWORK)])
    assert result.dead == []
    return result.flows


# --- identifiers -------------------------------------------------------------------------------------------


def test_a_short_id_is_kept_and_a_long_one_becomes_its_head_and_a_hash() -> None:
    assert (
        bound_id("at://did:plc:ann111/app.bsky.feed.post/3kmnr0001")
        == "at://did:plc:ann111/app.bsky.feed.post/3kmnr0001"
    )
    exact = "x" * MAX_ID_CHARS
    assert bound_id(exact) is exact  # at the limit: untouched (every real event id is)
    a, b = "at://did:plc:ann111/" + "r" * 8000 + "a", "at://did:plc:ann111/" + "r" * 8000 + "b"
    ba, bb = bound_id(a), bound_id(b)
    assert len(ba) == len(bb) == MAX_ID_CHARS
    assert ba.startswith("at://did:plc:ann111/rrrr") and ba[-HASH_CHARS - 2 : -HASH_CHARS] == "#~"
    assert ba != bb  # ids that differ only past the cut stay different
    assert bound_id(a) == ba and bound_id("at://did:plc:ann111/" + "r" * 8000 + "a") == ba  # deterministic
    assert len(bound_id("é" * 1000, 100)) == 100
    assert len(bound_id("\ud800" * 600)) == MAX_ID_CHARS  # a lone surrogate hashes too (no UnicodeEncodeError)


def test_bound_flow_keeps_a_normal_flow_and_bounds_every_long_identifier() -> None:
    flows = big_reply_flows()
    normal = flows[0].model_copy(update={"thread": "t1", "parent_id": "p1"})
    assert bound_flow(normal) is normal
    long = flows[0].model_copy(update={"channel": "c" * 9000, "receiver": "bluesky:did:plc:" + "z" * 9000})
    bounded = bound_flow(long)
    assert len(long.thread or "") == 8000 and len(bounded.thread or "") == MAX_ID_CHARS
    assert len(bounded.parent_id or "") == MAX_ID_CHARS and len(bounded.channel or "") == MAX_ID_CHARS
    assert len(bounded.receiver or "") == MAX_ACTOR_CHARS and bounded.receiver.startswith("bluesky:did:plc:zz")
    assert bounded.thread == bound_id(long.thread or "") and bounded.event_id == long.event_id
    assert bounded.giver == long.giver and bounded.flow_type == long.flow_type


# --- flows records cut by bytes ----------------------------------------------------------------------------


def test_the_issue_reply_was_one_record_of_1_29_mb_and_is_now_cut_under_the_cap() -> None:
    flows = big_reply_flows()
    assert len(flows) == 151
    assert len(FlowBatch.dump_json(flows, exclude_defaults=True)) > MAX_MESSAGE_BYTES  # the record of issue 25
    records, dead = encode_flows(flows, 400)
    assert dead == [] and len(records) == 1 and len(records[0][1]) <= FLOWS_RECORD_BYTES
    records, dead = encode_flows(flows, 400, 32 * 1024)
    assert dead == [] and len(records) >= 4
    assert all(net == NETWORK and len(value) <= 32 * 1024 for net, value in records)
    decoded = [f for _, value in records for f in FlowBatch.validate_json(value)]
    assert [f.event_id for f in decoded] == [f.event_id for f in flows]  # all, once, in order
    root = json.loads(bluesky_reply(NETWORK))["payload"]["commit"]["record"]["reply"]["root"]["uri"]
    assert {f.thread for f in decoded} == {bound_id(root)}  # one thread still: equal ids stay equal


def test_a_single_flow_over_the_cap_is_dead_lettered_naming_its_event() -> None:
    flows = big_reply_flows()[:3]
    huge = flows[1].model_copy(update={"reason": "x" * 50_000})
    records, dead = encode_flows([flows[0], huge, flows[2]], 400, 20_000)
    assert [len(FlowBatch.validate_json(v)) for _, v in records] == [1, 1]
    assert len(dead) == 1 and dead[0].field == "flow" and dead[0].network == NETWORK
    assert huge.event_id[:60] in dead[0].reason and "20000-byte limit" in dead[0].reason


# --- dead letters cut to fit ----------------------------------------------------------------------------------


def test_a_dead_letter_is_cut_to_fit_and_stays_a_valid_record() -> None:
    small = dlq_record(stage="normalise", source="git", network="n", reason="bad field", field="author", record="{}")
    assert encode_dlq(small, 4096) == small.model_dump_json().encode()
    big = small.model_copy(update={"reason": "why " * 100_000, "record": "é" * 4096, "field": "f" * 10_000})
    for cap in (200_000, 5_000, 1_500):
        value = encode_dlq(big, cap)
        assert len(value) <= cap
        back = DlqRecord.model_validate_json(value)
        assert back.truncated and back.stage == "normalise" and back.network == "n"
    assert DlqRecord.model_validate_json(encode_dlq(big, 5_000)).reason.startswith("why why")


# --- raw envelopes, dead letters and topics on the real broker -------------------------------------------------


@pytest.mark.kafka
def test_an_oversized_raw_envelope_is_refused_and_one_at_the_limit_is_taken(kafka_bootstrap: str, new_topic) -> None:
    raw, dlq = new_topic(1), new_topic(1)
    fits = RawEnvelope(source="generic", network="n", payload={"text": "a" * (MAX_MESSAGE_BYTES - 4_000)})
    over = RawEnvelope(source="generic", network="n", payload={"text": "b" * (MAX_MESSAGE_BYTES + 10)})
    with RawProducer(kafka_bootstrap, raw_topic=raw, dlq_topic=dlq, batch_envelopes=1) as producer:
        producer.send(fits)
        producer.send(over)  # refused before Kafka: dead-lettered, cut to fit the dlq topic
        with pytest.raises(RecordTooLarge, match=r"raw envelope of network 'n'.*over the 1048576-byte record limit"):
            producer.send_and_wait(over)
        producer.flush()
        assert (producer.sent, producer.refused, producer.dead_lettered) == (1, 1, 1)
    [got] = consume_records(kafka_bootstrap, raw, 1)
    assert len(got.value) > MAX_MESSAGE_BYTES - 4_000  # the broker took a record near the limit
    [letter] = consume_records(kafka_bootstrap, dlq, 1)
    dead = DlqRecord.model_validate_json(letter.value)
    assert len(letter.value) <= record_budget(MAX_MESSAGE_BYTES)
    assert dead.field == "<envelope>" and dead.source == "generic" and dead.truncated
    assert "raw envelope of network 'n'" in dead.reason and "not sent" in dead.reason


@pytest.mark.kafka
def test_a_webhook_over_the_record_limit_answers_413_naming_the_limit(kafka_bootstrap: str, new_topic) -> None:
    raw, dlq = new_topic(1), new_topic(1)
    with RawProducer(kafka_bootstrap, raw_topic=raw, dlq_topic=dlq, max_message_bytes=64 * 1024) as producer:
        secrets = WebhookSecrets(_env_file=None, generic_webhook_token="generic-token-def")
        app = create_app(producer.send_and_wait, secrets=secrets, network="acme", send_dlq=producer.send_dlq_record)
        client = TestClient(app)
        auth = {"Authorization": "Bearer generic-token-def"}
        body = json.dumps({"from": "a", "to": "b", "text": "x" * 80_000}).encode()  # under max_body_bytes
        r = client.post("/generic/generic", content=body, headers=auth)
        assert r.status_code == 413 and "65536-byte record limit" in r.json()["error"]
        ok = client.post("/generic/generic", content=b'{"from": "a", "to": "b", "kind": "reply"}', headers=auth)
        assert ok.status_code == 200
        producer.flush()
    [letter] = consume_records(kafka_bootstrap, dlq, 1)
    dead = DlqRecord.model_validate_json(letter.value)
    assert (dead.stage, dead.field, dead.network) == ("webhook", "<envelope>", "acme") and "65536" in dead.reason
    assert [json.loads(r.value)["payload"]["kind"] for r in consume_records(kafka_bootstrap, raw, 1)] == ["reply"]


@pytest.mark.kafka
def test_every_valuenet_topic_gets_max_message_bytes_new_or_existing(kafka_bootstrap: str) -> None:
    from valuenet.kafka_admin import admin_client, delete_topics, ensure_topics, topic_config

    prefix = f"mmb{uuid.uuid4().hex[:8]}"
    old = f"{prefix}.dlq"
    with admin_client(kafka_bootstrap) as admin:  # made before, without the setting (broker default)
        admin.create_topics({old: {"num_partitions": 1, "replication_factor": -1}}, wait_for_metadata=True)
    try:
        assert topic_config(kafka_bootstrap, old) != "524288"
        report = ensure_topics(kafka_bootstrap, prefix=prefix, max_message_bytes=512 * 1024)
        assert report.existing == [old] and len(report.created) == 3
        assert report.config_errors == {}
        for name in [*report.created, old]:  # a config change reaches the broker's view through its metadata log
            deadline = time.monotonic() + 30
            while topic_config(kafka_bootstrap, name) != "524288" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert topic_config(kafka_bootstrap, name) == "524288", name
        assert report.configured[old] == {"max.message.bytes": "524288"}
    finally:
        delete_topics(kafka_bootstrap, [f"{prefix}.{n}" for n in ("raw", "flows", "metrics", "dlq")])
