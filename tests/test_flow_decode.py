"""The graph agent's flows decoding: msgspec + trusted Flows (decode_flow_record) equals FlowPayload validation.

Whatever the fast path accepts, FlowPayload accepts with the same flows (values, timestamps with their
offsets, JSON dumps, ClickHouse columns); whatever it refuses goes to FlowPayload, so a bad record on
valuenet.flows is still dead-lettered with pydantic's message naming the field.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from valuenet.analytics.storage.rows import model_columns
from valuenet.schemas import Flow
from valuenet.schemas.flow import FlowBatch, FlowPayload, FlowRecord, FlowType, Segment, decode_flow_record
from valuenet.schemas.interaction import Kind, Source


def random_flows(seed: int, n: int = 300) -> list[Flow]:
    """Flows over every kind, segment and type, optional fields set or not, timestamps in several offsets."""
    rng = random.Random(seed)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    out = []
    for i in range(n):
        maybe = lambda v: v if rng.random() < 0.5 else None  # noqa: E731
        out.append(
            Flow(
                event_id=f"ev-{seed}-{i}" + ("#quote" if i % 7 == 0 else ""),
                network=rng.choice(["acme", "n-ü"]),
                source=rng.choice(list(Source)),
                kind=rng.choice(list(Kind)),
                timestamp=datetime(2025, 3, 3, tzinfo=UTC).astimezone(rng.choice(zones))
                + timedelta(seconds=rng.uniform(0, 86400), microseconds=rng.randrange(10**6)),
                giver=f"g{rng.randrange(50)}",
                receiver=maybe(f"r{rng.randrange(50)}"),
                giver_segment=rng.choice(list(Segment)),
                receiver_segment=rng.choice(list(Segment)),
                giver_team=maybe("team é"),
                receiver_team=maybe("t2"),
                flow_type=rng.choice(list(FlowType)),
                confidence=rng.choice([0.0, 1.0, rng.random()]),
                reason=rng.choice(["", "rule:question 'how do i'", 'tab\there "quoted" ☃ 😀', "x" * 300]),
                channel=maybe("#general"),
                thread=maybe(f"th{rng.randrange(9)}"),
                parent_id=maybe(f"p{rng.randrange(9)}"),
                giver_followers=maybe(rng.randrange(-5, 2**40)),
                seq=maybe(rng.randrange(2**40)),
                lane=maybe(rng.randrange(8)),
            )
        )
    return out


def same(fast: list[Flow], slow: list[Flow]) -> None:
    """Equal flows, equal JSON, the same timestamps and offsets, the same ClickHouse columns."""
    assert fast == slow
    assert [f.model_dump_json() for f in fast] == [f.model_dump_json() for f in slow]
    assert [(f.timestamp.timestamp(), f.timestamp.utcoffset()) for f in fast] == [
        (f.timestamp.timestamp(), f.timestamp.utcoffset()) for f in slow
    ]
    assert model_columns("flows", fast) == model_columns("flows", slow)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_decoding_equals_pydantic(seed: int) -> None:
    flows = random_flows(seed)
    array = FlowBatch.dump_json(flows)
    fast = decode_flow_record(array)
    assert fast is not None and fast[1] == 0
    same(fast[0], FlowPayload.validate_json(array))  # type: ignore[arg-type]
    record = FlowRecord(flows=flows, future_events=4).model_dump_json().encode()
    fast = decode_flow_record(record)
    slow = FlowPayload.validate_json(record)
    assert fast is not None and isinstance(slow, FlowRecord) and fast[1] == slow.future_events == 4
    same(fast[0], slow.flows)


BASE = {
    "event_id": "e1",
    "network": "n",
    "source": "synth",
    "kind": "reply",
    "timestamp": "2025-03-03T12:00:00.123456Z",
    "giver": "a",
    "receiver": "b",
    "giver_segment": "customer",
    "flow_type": "knowledge",
    "confidence": 0.5,
}
VARIANTS = [
    {"timestamp": "2025-03-03T12:00:00+02:00"},
    {"timestamp": "2025-03-03T12:00:00"},
    {"timestamp": "2025-03-03 12:00:00Z"},
    {"timestamp": "2025-03-03T12:00:00.1234567Z"},  # msgspec would round the 7th digit: pydantic decides
    {"timestamp": "2025-03-03T12:00:00.123456789Z"},
    {"timestamp": "2025-03-03T12:00Z"},
    {"timestamp": "2025-03-03t12:00:00z"},
    {"timestamp": "2025-03-03T23:59:60Z"},
    {"timestamp": "2025-03-03"},
    {"timestamp": 1741000000},
    {"timestamp": "2025-03-03T12:00:00-00:00"},
    {"timestamp": "2025-03-03T12:00:00+24:00"},
    {"timestamp": "2025-02-30T12:00:00Z"},
    {"confidence": 1},
    {"confidence": "0.5"},
    {"confidence": 1.5},
    {"confidence": True},
    {"giver_followers": 5.0},
    {"giver_followers": "5"},
    {"giver_followers": 2**70},
    {"schema_version": 2},
    {"schema_version": 1.0},
    {"kind": "zzz"},
    {"kind": None},
    {"giver_segment": "Customer"},
    {"receiver": 5},
    {"event_id": ""},
    {"foo": 1},
    {"reason": "caf\u00e9 \ud83d\ude00 \u0000"},
]
RAW = [
    b"[]",
    b"{}",
    b'{"flows": [], "future_events": 3}',
    b'{"flows": [], "future_events": -3}',
    b'{"flows": [], "extra": 1}',
    b"[] x",
    b'[{"event_id": "e\\ud800"}]',
    b'[{"event_id": "\xff"}]',
    b'{"flows": [{"event_id": "e1", "confidence": NaN}]}',
]


@pytest.mark.parametrize("value", [json.dumps([{**BASE, **v}]).encode() for v in VARIANTS] + RAW)
def test_fast_decoding_accepts_only_what_pydantic_accepts_alike(value: bytes) -> None:
    fast = decode_flow_record(value)
    try:
        payload = FlowPayload.validate_json(value)
    except ValueError:  # pydantic's ValidationError
        assert fast is None  # refused: FlowPayload decides (and names the field)
        return
    if fast is not None:
        slow = (payload, 0) if isinstance(payload, list) else (payload.flows, payload.future_events)
        assert fast[1] == slow[1]
        same(fast[0], slow[0])


def event(value: bytes, offset: int, key: bytes = b"acme") -> SimpleNamespace:
    """A faust event as decode_flows reads it."""
    return SimpleNamespace(value=value, key=key, message=SimpleNamespace(offset=offset))


def test_decode_flows_orders_counts_and_dead_letters() -> None:
    from valuenet.pipeline.graph_agent import SEQ_BITS, decode_flows  # imports faust: inside the test

    flows = random_flows(9, 20)
    bad = json.dumps([{**BASE, "confidence": 7}]).encode()
    events = [
        event(FlowBatch.dump_json(flows[:10]), 5),
        event(bad, 6),
        event(FlowRecord(flows=flows[10:], future_events=2).model_dump_json().encode(), 7),
        event(json.dumps([{**BASE, "giver_followers": "12"}]).encode(), 8),  # pydantic's lax int: accepted
    ]
    got, future, dead = decode_flows(events)
    assert [f.event_id for f in got] == [f.event_id for f in flows] + ["e1"]
    assert [f.seq for f in got] == [(o << SEQ_BITS) | i for o, n in ((5, 10), (7, 10), (8, 1)) for i in range(n)]
    assert all("seq" in f.model_fields_set for f in got)
    assert got[-1].giver_followers == 12
    assert future == {"acme": 2}
    assert len(dead) == 1 and dead[0].field.endswith("0.confidence") and "less than or equal to 1" in dead[0].reason
