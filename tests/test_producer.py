"""The connectors' producer through the real broker: envelopes packed per network, order kept, nothing lost."""

from __future__ import annotations

import pytest

from tests.fixtures_kafka import consume_records
from valuenet.ingest.producer import RawProducer
from valuenet.schemas.envelope import RawEnvelope, decode_raw, is_batch

pytestmark = pytest.mark.kafka


def envelopes(value: bytes) -> int:
    """How many envelopes a raw record holds."""
    return len(decode_raw(value))


def env(network: str, i: int) -> RawEnvelope:
    """A generic envelope numbered ``i``."""
    return RawEnvelope(source="generic", network=network, payload={"i": i})


def test_envelopes_are_packed_per_network_in_order(kafka_bootstrap: str, new_topic) -> None:
    raw = new_topic(4)
    with RawProducer(kafka_bootstrap, raw_topic=raw, batch_envelopes=500, batch_linger_ms=60_000) as producer:
        for i in range(1200):
            producer.send(env("a", i))
            if i % 100 == 0:
                producer.send(env("b", i))
        producer.send_and_wait(env("b", -1))  # ships b's queued batch first, then itself alone
    records = sorted(consume_records(kafka_bootstrap, raw, 1213, size=envelopes), key=lambda r: (r.partition, r.offset))
    by_key: dict[bytes, list] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(r)
    assert [len(decode_raw(r.value)) for r in by_key[b"a"]] == [500, 500, 200]
    assert [len(decode_raw(r.value)) for r in by_key[b"b"]] == [12, 1] and not is_batch(by_key[b"b"][1].value)
    assert [e.payload["i"] for r in by_key[b"a"] for e in decode_raw(r.value)] == list(range(1200))
    assert [e.payload["i"] for r in by_key[b"b"] for e in decode_raw(r.value)] == list(range(0, 1200, 100)) + [-1]
    assert {e.network for r in by_key[b"a"] for e in decode_raw(r.value)} == {"a"}


def test_a_partly_filled_batch_ships_after_the_linger(kafka_bootstrap: str, new_topic) -> None:
    raw = new_topic(1)
    producer = RawProducer(kafka_bootstrap, raw_topic=raw, batch_envelopes=500, batch_linger_ms=50)
    try:
        for i in range(3):
            producer.send(env("a", i))
        records = consume_records(kafka_bootstrap, raw, 3, size=envelopes)  # no flush: the linger thread ships it
        assert [e.payload["i"] for r in records for e in decode_raw(r.value)] == [0, 1, 2]
    finally:
        producer.close()


def test_one_envelope_per_record_when_batching_is_off(kafka_bootstrap: str, new_topic) -> None:
    raw = new_topic(1)
    with RawProducer(kafka_bootstrap, raw_topic=raw, batch_envelopes=1) as producer:
        for i in range(5):
            producer.send(env("a", i))
    records = consume_records(kafka_bootstrap, raw, 5)
    assert len(records) == 5 and not any(is_batch(r.value) for r in records)


def test_a_record_kafka_refuses_is_kept_and_saved_not_dropped(kafka_bootstrap: str, new_topic, tmp_path) -> None:
    raw = new_topic(1)
    # The producer's own limit above the topic's (1 MiB): the broker, not the size check, refuses the big one.
    # The idempotent client then aborts what it had in flight too: every event is acknowledged or saved.
    producer = RawProducer(kafka_bootstrap, raw_topic=raw, batch_envelopes=1, max_message_bytes=4 << 20)
    try:
        producer.send(env("a", 0))
        producer.send(RawEnvelope(source="generic", network="a", payload={"i": 1, "text": "x" * 1_200_000}))
        producer.send(env("a", 2))
        assert producer.flush() is True  # nothing left in flight: each acknowledged or refused for good
        left = producer.undelivered()
        assert producer.delivered + producer.undelivered_counts()["events"] == 3
        assert any("MessageSizeTooLarge" in reason for _, reason in left)
        saved = producer.save_undelivered(tmp_path / "left.jsonl")
        assert saved["events"] == len(left)
        kept = [
            RawEnvelope.model_validate_json(line).payload["i"]
            for line in (tmp_path / "left.jsonl").read_text().splitlines()
        ]
        assert 1 in kept  # a stored envelope: replay re-sends it
    finally:
        producer.close()
    acked = [
        e.payload["i"] for r in consume_records(kafka_bootstrap, raw, producer.delivered) for e in decode_raw(r.value)
    ]
    assert sorted(acked + kept) == [0, 1, 2]  # nothing lost, nothing twice
