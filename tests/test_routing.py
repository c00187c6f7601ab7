"""Raw records keyed per thread: one network spreads over the partitions, a thread and its replies stay together."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.fixtures_kafka import consume_records
from tests.pipeline_harness import git_records
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.routing import SEPARATOR, envelope_key, parse_and_key, partition_for, routing_key
from valuenet.ingest.synth import SynthNetwork
from valuenet.schemas import RawEnvelope
from valuenet.schemas.envelope import decode_raw

PARTITIONS = 4


@pytest.fixture(scope="module")
def synth_envelopes() -> list[RawEnvelope]:
    return list(SynthNetwork(seed=3, actors=200).envelopes(6000))


def test_one_network_spreads_over_every_partition(synth_envelopes) -> None:
    counts = [0] * PARTITIONS
    for env in synth_envelopes:
        counts[partition_for(envelope_key(env), PARTITIONS)] += 1
    assert len({env.network for env in synth_envelopes}) == 1
    assert min(counts) > len(synth_envelopes) / PARTITIONS / 2, counts  # roughly even, none empty


def test_parse_and_key_gives_the_payload_only_key_from_one_parse_with_the_index(synth_envelopes) -> None:
    """The connectors' one-parse path (parse with the parent index, key from it) routes every envelope
    exactly as envelope_key does, and returns what parse() with the same index returns."""
    with_key, plain = ParentIndex(), ParentIndex()
    for env in synth_envelopes:
        interactions, key = parse_and_key(env, with_key)
        assert key == envelope_key(env)
        assert interactions == parse(env, plain)


def test_a_thread_never_splits_and_the_key_depends_on_the_payload_alone(synth_envelopes) -> None:
    parents = ParentIndex()
    partitions_of: dict[str, set[int]] = defaultdict(set)
    replies = 0
    for env in synth_envelopes:
        key = envelope_key(env)
        assert key == envelope_key(RawEnvelope.model_validate_json(env.model_dump_json()))  # same payload, same key
        for it in parse(env, parents):
            if it.thread:
                partitions_of[f"{env.source.value}:{it.thread}"].add(partition_for(key, PARTITIONS))
            replies += it.kind.value == "reply"
    assert replies > 100 and len(partitions_of) > 1000
    assert [t for t, ps in partitions_of.items() if len(ps) > 1] == []


def test_per_partition_parent_indexes_resolve_every_target_a_single_index_does(synth_envelopes) -> None:
    """What a worker owning one partition can resolve equals what one process reading everything resolves."""

    def targets(partition_of) -> dict[str, tuple]:
        indexes: dict[int, ParentIndex] = defaultdict(ParentIndex)
        out = {}
        for env in synth_envelopes:
            for it in parse(env, indexes[partition_of(env)]):
                out[it.event_id] = (it.actor, it.target, it.thread, it.parent_id)
        return out

    single = targets(lambda env: 0)
    spread = targets(lambda env: partition_for(envelope_key(env), PARTITIONS))
    assert sum(1 for t in single.values() if t[1] is not None) > 1000
    assert spread == single


def test_the_key_falls_back_to_the_event_id_then_the_network() -> None:
    commit = git_records(1)[0]
    env = RawEnvelope(source="git", network="n1", payload=commit)
    assert envelope_key(env) == f"n1{SEPARATOR}{commit['commit']}"  # git: the commit is the thread
    assert envelope_key(RawEnvelope(source="generic", network="n1", payload={"x": 1})) == "n1"  # does not parse
    assert routing_key("n1", []) == "n1"


@pytest.mark.kafka
def test_the_producer_packs_per_partition_and_keeps_each_thread_in_order(kafka_bootstrap: str, new_topic) -> None:
    raw = new_topic(PARTITIONS)
    envs = list(SynthNetwork(seed=5, actors=100).envelopes(3000))
    with RawProducer(kafka_bootstrap, raw_topic=raw, batch_envelopes=200, batch_linger_ms=60_000) as producer:
        for env in envs:
            producer.send(env)
    records = consume_records(kafka_bootstrap, raw, len(envs), size=lambda v: len(decode_raw(v)))
    assert {r.partition for r in records} == set(range(PARTITIONS))
    seen: dict[int, list[str]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert r.key == b"synth"
        for env in decode_raw(r.value):
            assert partition_for(envelope_key(env), PARTITIONS) == r.partition
            seen[r.partition].append(env.model_dump_json())
    # each partition holds its envelopes in the order they were sent: a thread's order is kept
    sent = [e.model_dump_json() for e in envs]
    for p, values in seen.items():
        assert values == [v for v in sent if partition_for(envelope_key(RawEnvelope.model_validate_json(v)), 4) == p]
    assert sum(len(v) for v in seen.values()) == len(envs)


def test_murmur2_is_kafkas_hash() -> None:
    """Our word-wise murmur2 gives kafka-python's (the Java client's) hash for every length and tail."""
    import random

    from kafka.partitioner.default import murmur2 as kafka_murmur2

    from valuenet.ingest.routing import murmur2

    rng = random.Random(7)
    for n in range(0, 130):
        for _ in range(20):
            data = bytes(rng.randrange(256) for _ in range(n))
            assert murmur2(data) == kafka_murmur2(data), (n, data)
    for key in ("", "acme", f"acme{SEPARATOR}C024BE91L:1718000000.000100", "ünïcödé\x1fthread"):
        raw = key.encode("utf-8")
        assert murmur2(raw) == kafka_murmur2(raw)
        assert partition_for(key, 4) == (kafka_murmur2(raw) & 0x7FFFFFFF) % 4
