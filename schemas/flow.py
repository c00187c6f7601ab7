"""A Flow: a directed, typed edge of value from giver to receiver."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from valuenet.schemas.interaction import Kind, Source
from valuenet.schemas.trusted import builder


class FlowType(str, Enum):
    """What kind of value moved."""

    knowledge = "knowledge"
    idea = "idea"
    reputation = "reputation"
    none = "none"


class Segment(str, Enum):
    """Which side of the value network an actor belongs to."""

    workforce = "workforce"
    partner = "partner"
    customer = "customer"
    influencer = "influencer"
    unknown = "unknown"


class ActorKind(str, Enum):
    """What an actor is (``docs/actor-kinds.md``): only persons are ranked by default."""

    person = "person"
    organisation = "organisation"
    bot = "bot"
    platform = "platform"


class Flow(BaseModel):
    """One flow. ``valuenet.flows`` records (key: ``network``) are JSON arrays of one network's
    flows from one processed batch (:data:`FlowBatch`): one record per batch, not per flow.

    ``giver`` → ``receiver``; ``receiver`` is ``None`` when the target is unknown
    (such flows are stored but add no edge to the graph).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    event_id: str
    network: str
    source: Source
    kind: Kind
    timestamp: datetime
    giver: str
    receiver: str | None = None
    giver_segment: Segment = Segment.unknown
    receiver_segment: Segment = Segment.unknown
    giver_team: str | None = None
    receiver_team: str | None = None
    flow_type: FlowType
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = ""
    channel: str | None = None
    thread: str | None = None
    parent_id: str | None = None
    giver_followers: int | None = None
    seq: int | None = Field(
        default=None,
        description="Position in the network's flow stream (the flows-topic offset), set by the analytics stage; "
        "a rebuild replays stored flows in this order.",
    )
    lane: int | None = Field(
        default=None,
        description="The valuenet.raw partition the flow's event came through, set by the processors stage: "
        "lateness is judged against the events of the same lane (one network spreads over every lane).",
    )
    giver_kind: ActorKind = ActorKind.person
    receiver_kind: ActorKind = ActorKind.person


FlowBatch = TypeAdapter(list[Flow])
"""Validates and serialises one ``valuenet.flows`` record: ``FlowBatch.validate_json(value)``."""


class FlowRecord(BaseModel):
    """The object form of a ``valuenet.flows`` record: a network's flows of one batch plus the events
    of that batch the processors stage dead-lettered as dated in the future (they never become flows,
    so this count is how they reach ``future_events``, in order with the flows)."""

    model_config = ConfigDict(extra="forbid")

    flows: list[Flow]  # required: an empty object is a bad record, not an empty batch
    future_events: int = Field(default=0, ge=0)


FlowPayload: TypeAdapter[list[Flow] | FlowRecord] = TypeAdapter(list[Flow] | FlowRecord)
"""Validates any ``valuenet.flows`` record: a JSON array (:data:`FlowBatch`) or a :class:`FlowRecord` object."""


# The graph agent's hot path: msgspec decodes a flows record into typed structs in one C pass and the
# Flows are built from them without re-validation (schemas.trusted), ~5x cheaper than FlowPayload. The
# structs accept a subset of what FlowPayload accepts, with the same values (tests/test_flow_decode.py):
# anything msgspec refuses (a wrong type, a number as a string, a float for an int, an unknown field, …)
# makes decode_flow_record return None and FlowPayload decides, so a bad record is dead-lettered with
# pydantic's message naming the field, as before.
class _FlowStruct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    schema_version: Literal[1] = 1  # every Flow field, in Flow's order (the builder takes them in order)
    event_id: str
    network: str
    source: Source
    kind: Kind
    timestamp: datetime
    giver: str
    receiver: str | None = None
    giver_segment: Segment = Segment.unknown
    receiver_segment: Segment = Segment.unknown
    giver_team: str | None = None
    receiver_team: str | None = None
    flow_type: FlowType
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    reason: str = ""
    channel: str | None = None
    thread: str | None = None
    parent_id: str | None = None
    giver_followers: int | None = None
    seq: int | None = None
    lane: int | None = None
    giver_kind: ActorKind = ActorKind.person
    receiver_kind: ActorKind = ActorKind.person


class _FlowRecordStruct(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    flows: list[_FlowStruct]
    future_events: Annotated[int, msgspec.Meta(ge=0)] = 0


_SUB_MICROSECOND = re.compile(rb":\d\d\.\d{7}")  # seconds with a 7th digit (a false alarm costs the pydantic path)
_ASCII_ESCAPE = b"\\u00"  # a digit or a dot written as an escape could hide one from that check
_decode_record = msgspec.json.Decoder(list[_FlowStruct] | _FlowRecordStruct).decode
_as_values = msgspec.structs.asdict
_build_flow = builder(Flow)


def decode_flow_record(value: bytes) -> tuple[list[Flow], int] | None:
    """The flows and future-events count of a ``valuenet.flows`` record (msgspec, no re-validation); None when
    only :data:`FlowPayload` can decide (it then accepts the record or names the bad field)."""
    if _SUB_MICROSECOND.search(value) or _ASCII_ESCAPE in value:
        return None  # msgspec rounds a 7th fractional digit, pydantic truncates it
    try:
        record = _decode_record(value)
    except (msgspec.DecodeError, ValueError):  # msgspec.ValidationError is a DecodeError
        return None
    if isinstance(record, list):
        return [_build_flow(_as_values(s)) for s in record], 0
    return [_build_flow(_as_values(s)) for s in record.flows], record.future_events
