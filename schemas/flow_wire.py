"""The ``valuenet.flows`` wire formats: columnar Arrow IPC batches (the default) or JSON arrays of flows.

An Arrow record is one IPC stream (``pyarrow.ipc``, lz4-compressed buffers) holding one record batch with
one column per :class:`~valuenet.schemas.flow.Flow` field, in the model's order (:data:`FLOW_SCHEMA`), and
the schema metadata ``valuenet.future_events`` (the :class:`~valuenet.schemas.flow.FlowRecord` count). A
JSON record is what ``FlowPayload`` reads (an array of flows, or a ``FlowRecord`` object). Readers tell the
two apart by the first byte: an Arrow stream starts with ``0xFF`` (the IPC continuation marker), JSON with
``[``, ``{`` or whitespace. ``VALUENET_FLOWS_FORMAT=json`` makes the processors stage write JSON.

pydantic stays the schema of record: :func:`decode_flows_value` checks the columns against :class:`Flow`'s
rules for the whole batch at once (types from the Arrow schema, enum members, the confidence range,
required values) and only then builds the flows without re-validation; a record that fails a check is
validated row by row by pydantic, whose error names the field (``3.kind``) for the dead letter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from itertools import repeat
from operator import attrgetter
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from valuenet.schemas.flow import ActorKind, Flow, FlowBatch, FlowPayload, FlowType, Segment
from valuenet.schemas.interaction import Kind, Source
from valuenet.schemas.trusted import builder

__all__ = [
    "FLOW_SCHEMA",
    "FlowsFormat",
    "decode_flows_value",
    "encode_flows_value",
    "is_arrow",
    "read_flows_record",
    "read_flows_table",
]

FlowsFormat = Literal["json", "arrow"]

FLOW_SCHEMA = pa.schema(
    [
        pa.field("schema_version", pa.int8(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("network", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("giver", pa.string(), nullable=False),
        pa.field("receiver", pa.string()),
        pa.field("giver_segment", pa.string(), nullable=False),
        pa.field("receiver_segment", pa.string(), nullable=False),
        pa.field("giver_team", pa.string()),
        pa.field("receiver_team", pa.string()),
        pa.field("flow_type", pa.string(), nullable=False),
        pa.field("confidence", pa.float64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("channel", pa.string()),
        pa.field("thread", pa.string()),
        pa.field("parent_id", pa.string()),
        pa.field("giver_followers", pa.int64()),
        pa.field("seq", pa.int64()),
        pa.field("lane", pa.int64()),
        pa.field("giver_kind", pa.string(), nullable=False),
        pa.field("receiver_kind", pa.string(), nullable=False),
    ]
)
"""The columns of an Arrow ``valuenet.flows`` record: :class:`Flow`'s fields, in its order (enums as their values)."""

_FIELDS = tuple(FLOW_SCHEMA.names)
assert _FIELDS == tuple(Flow.model_fields), "FLOW_SCHEMA must list Flow's fields in Flow's order"
_ENUMS: dict[str, type[Enum]] = {
    "source": Source,
    "kind": Kind,
    "giver_segment": Segment,
    "receiver_segment": Segment,
    "flow_type": FlowType,
    "giver_kind": ActorKind,
    "receiver_kind": ActorKind,
}
_MEMBERS = {name: {m.value: m for m in enum} for name, enum in _ENUMS.items()}
_REQUIRED = tuple(f.name for f in FLOW_SCHEMA if not f.nullable)
_GETTERS = tuple(attrgetter(name) for name in _FIELDS)
_FUTURE_KEY = b"valuenet.future_events"
_OPTIONS = ipc.IpcWriteOptions(compression="lz4")
_build_flow = builder(Flow)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_arrow(value: bytes) -> bool:
    """True when ``value`` is an Arrow IPC stream (first byte ``0xFF``), not JSON."""
    return value[:1] == b"\xff"


def encode_flows_value(flows: list[Flow], fmt: FlowsFormat = "arrow", future_events: int = 0) -> bytes:
    """One ``valuenet.flows`` record value holding ``flows`` (and ``future_events``) in format ``fmt``."""
    if fmt == "json":
        if future_events:
            from valuenet.schemas.flow import FlowRecord

            return FlowRecord(flows=flows, future_events=future_events).model_dump_json(exclude_defaults=True).encode()
        return FlowBatch.dump_json(flows, exclude_defaults=True)
    columns = [pa.array(list(map(get, flows)), type=f.type) for get, f in zip(_GETTERS, FLOW_SCHEMA, strict=True)]
    schema = FLOW_SCHEMA.with_metadata({_FUTURE_KEY: str(int(future_events)).encode()})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, schema, options=_OPTIONS) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
    return sink.getvalue().to_pybytes()


def read_flows_table(value: bytes) -> pa.Table:
    """The columns of an Arrow ``valuenet.flows`` record as a ``pyarrow.Table`` (not validated: see the module)."""
    return ipc.open_stream(pa.py_buffer(value)).read_all()


def _future_events(table: pa.Table) -> int:
    raw = (table.schema.metadata or {}).get(_FUTURE_KEY, b"0")
    future = int(raw)
    if future < 0:
        raise ValueError(f"{_FUTURE_KEY.decode()}={future}: must be at least 0")
    return future


def _checked_columns(table: pa.Table) -> list[list[Any]] | None:
    """The table's columns as Python lists (enum values as members) when every value passes Flow's rules, else None."""
    if table.schema.remove_metadata() != FLOW_SCHEMA:
        return None  # other columns, types or nullability: pydantic decides
    for name in _REQUIRED:
        if table.column(name).null_count:
            return None
    if table.num_rows:
        if pc.any(pc.not_equal(table.column("schema_version"), 1)).as_py():
            return None
        confidence = table.column("confidence")
        low, high = pc.min_max(confidence).values()
        if not (0.0 <= low.as_py() <= high.as_py() <= 1.0) or pc.any(pc.is_nan(confidence)).as_py():
            return None
    columns: list[list[Any]] = []
    for name in _FIELDS:
        column = table.column(name)
        if name == "timestamp":  # epoch + microseconds: ~5x cheaper than pyarrow's zoned datetimes
            micros = column.cast(pa.int64()).to_pylist()
            columns.append(list(map(_EPOCH.__add__, map(timedelta, repeat(0, len(micros)), repeat(0), micros))))
            continue
        values = column.to_pylist()
        members = _MEMBERS.get(name)
        if members is not None:
            if not members.keys() >= set(values):
                return None
            values = list(map(members.__getitem__, values))
        columns.append(values)
    return columns


def decode_flows_value(value: bytes) -> tuple[list[Flow], int]:
    """The flows and future-events count of a ``valuenet.flows`` record in either format, validated.

    Raises pydantic's ``ValidationError`` (its first error names the field, e.g. ``3.kind``) for a record
    that does not hold valid flows, and ``pyarrow.ArrowInvalid`` / ``ValueError`` for one that does not decode.
    """
    if not is_arrow(value):
        payload = FlowPayload.validate_json(value)
        return (payload, 0) if isinstance(payload, list) else (payload.flows, payload.future_events)
    table = read_flows_table(value)
    future = _future_events(table)
    columns = _checked_columns(table)
    if columns is None:
        return FlowBatch.validate_python(table.to_pylist()), future
    fields = _FIELDS
    return [_build_flow(dict(zip(fields, row, strict=True))) for row in zip(*columns, strict=True)], future


def read_flows_record(value: bytes) -> list[Flow]:
    """The flows of one ``valuenet.flows`` record value (Arrow or JSON), validated by pydantic's ``Flow``."""
    return decode_flows_value(value)[0]
