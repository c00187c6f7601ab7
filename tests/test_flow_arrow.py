"""The columnar ``valuenet.flows`` format (schemas/flow_wire.py): Arrow IPC records round-trip every Flow field,
keep the byte cap, and a bad record is dead-lettered by the graph agent naming the field and the record."""

from __future__ import annotations

import random
from datetime import UTC

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from pydantic import ValidationError

from tests.test_flow_decode import event, random_flows
from valuenet.processors.stage import encode_flows
from valuenet.schemas import Flow
from valuenet.schemas.flow_wire import (
    FLOW_SCHEMA,
    decode_flows_value,
    encode_flows_value,
    is_arrow,
    read_flows_record,
    read_flows_table,
)


def _flows(seed: int, n: int = 300) -> list[Flow]:
    flows = random_flows(seed, n)
    for i, f in enumerate(flows):  # the fields the stages set
        f.seq = i * 7 if i % 3 else None
        f.lane = i % 4 if i % 5 else None
    return flows


@pytest.mark.parametrize("seed", [1, 2])
def test_arrow_record_round_trips_every_field(seed: int) -> None:
    flows = _flows(seed)
    value = encode_flows_value(flows, "arrow", future_events=3)
    assert is_arrow(value) and not is_arrow(encode_flows_value(flows, "json"))
    back, future = decode_flows_value(value)
    assert future == 3
    assert back == flows  # every field; timestamps the same instants
    assert [f.model_dump() for f in back] == [f.model_dump() for f in flows]
    assert all(f.timestamp.utcoffset() is not None for f in back)
    assert [f.timestamp for f in back] == [f.timestamp.astimezone(UTC) for f in flows]
    # the documented readers: the same flows as the JSON form; the table holds Flow's columns
    assert read_flows_record(value) == read_flows_record(encode_flows_value(flows, "json")) == flows
    table = read_flows_table(value)
    assert table.num_rows == len(flows) and table.column_names == list(Flow.model_fields)
    assert table.column("event_id").to_pylist() == [f.event_id for f in flows]
    assert len(value) < len(encode_flows_value(flows, "json")) / 2  # compact: lz4 over columns


def test_arrow_records_keep_the_byte_cap() -> None:
    flows = _flows(3, 400)
    noise = random.Random(0).randbytes(20_000).hex()  # does not compress below the cap
    huge = flows[5].model_copy(update={"reason": noise, "event_id": "huge-1"})
    flows[5] = huge
    records, dead = encode_flows(flows, 400, 16 * 1024, "arrow")
    assert len(records) > 2
    assert all(len(value) <= 16 * 1024 and is_arrow(value) for _, value in records)
    got = [f.event_id for _, value in records for f in read_flows_record(value)]
    by_network = {}
    for f in flows:
        if f.event_id != "huge-1":
            by_network.setdefault(f.network, []).append(f.event_id)
    assert got == [e for ids in by_network.values() for e in ids]  # every other flow, in order per network
    assert len(dead) == 1 and "'huge-1'" in dead[0].reason and "16384-byte limit" in dead[0].reason


def _table_value(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_a_bad_arrow_record_is_dead_lettered_naming_the_field() -> None:
    from valuenet.pipeline.graph_agent import SEQ_BITS, decode_flows  # imports faust: inside the test

    flows = _flows(4, 6)
    good = encode_flows_value(flows, "arrow")
    table = read_flows_table(good)
    kinds = table.column("kind").to_pylist()
    kinds[3] = "bogus"
    bad_kind = _table_value(table.set_column(4, FLOW_SCHEMA.field("kind"), pa.array(kinds, pa.string())))
    conf = table.column("confidence").to_pylist()
    conf[2] = 1.5
    bad_conf = _table_value(table.set_column(13, FLOW_SCHEMA.field("confidence"), pa.array(conf, pa.float64())))
    with pytest.raises(ValidationError) as err:
        decode_flows_value(bad_kind)
    assert err.value.errors()[0]["loc"][:2] == (3, "kind")
    got, _, dead = decode_flows([event(good, 1), event(bad_kind, 2), event(bad_conf, 3), event(b"\xff\xff\x00", 4)])
    assert [f.model_dump(exclude={"seq"}) for f in got] == [f.model_dump(exclude={"seq"}) for f in flows]
    assert [f.seq for f in got] == [(1 << SEQ_BITS) | i for i in range(6)]  # the good record's, in stream order
    assert [(d.field, d.stage) for d in dead] == [
        ("3.kind", "build_graph"),
        ("2.confidence", "build_graph"),
        ("<root>", "build_graph"),
    ]
    assert "invalid flows record" in dead[0].reason and dead[0].network == "acme"


def test_a_third_party_table_with_only_the_required_columns_takes_the_defaults() -> None:
    flows = _flows(5, 4)
    required = [f.name for f in FLOW_SCHEMA if f.name in ("event_id", "network", "source", "kind", "giver")]
    table = read_flows_table(encode_flows_value(flows, "arrow")).select(
        [*required, "timestamp", "flow_type", "confidence"]
    )
    back = read_flows_record(_table_value(table))
    assert [f.event_id for f in back] == [f.event_id for f in flows]
    assert all(f.receiver is None and f.giver_segment.value == "unknown" and f.seq is None for f in back)
