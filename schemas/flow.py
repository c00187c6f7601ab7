"""A Flow: a directed, typed edge of value from giver to receiver."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from valuenet.schemas.interaction import Kind, Source
from valuenet.schemas.trusted import trusted


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


FlowBatch = TypeAdapter(list[Flow])
"""Validates and serialises one ``valuenet.flows`` record: ``FlowBatch.validate_json(value)``."""


_FIELDS = frozenset(Flow.model_fields)
_TEXT = ("event_id", "network", "giver", "reason")
_OPTIONAL_TEXT = ("receiver", "giver_team", "receiver_team", "channel", "thread", "parent_id")
_OPTIONAL_INT = ("giver_followers", "seq", "lane")
_ENUMS: tuple[tuple[str, dict[Any, Enum]], ...] = tuple(
    (name, {m.value: m for m in enum})
    for name, enum in (
        ("source", Source),
        ("kind", Kind),
        ("giver_segment", Segment),
        ("receiver_segment", Segment),
        ("flow_type", FlowType),
    )
)


class _NotPlain(ValueError):
    """A flows record that is not exactly what FlowBatch.dump_json writes: validate it with pydantic."""


def _plain_flow(d: Any) -> Flow:
    """A Flow from one element of a flows record as ``FlowBatch.dump_json`` writes it, or :class:`_NotPlain`."""
    if type(d) is not dict or d.keys() != _FIELDS or d["schema_version"] != 1:
        raise _NotPlain
    for name in _TEXT:
        if type(d[name]) is not str:
            raise _NotPlain
    for name in _OPTIONAL_TEXT:
        if d[name] is not None and type(d[name]) is not str:
            raise _NotPlain
    for name in _OPTIONAL_INT:
        if d[name] is not None and type(d[name]) is not int:
            raise _NotPlain
    confidence = d["confidence"]
    if type(confidence) is not float or not 0.0 <= confidence <= 1.0:
        raise _NotPlain
    for name, members in _ENUMS:
        member = members.get(d[name])
        if member is None:
            raise _NotPlain
        d[name] = member
    stamp = d["timestamp"]
    if type(stamp) is not str or not stamp.endswith("Z"):
        raise _NotPlain
    d["timestamp"] = datetime.fromisoformat(stamp)
    return trusted(Flow, d)


def decode_flow_batch(value: bytes | str) -> list[Flow]:
    """The flows of one ``valuenet.flows`` record: the same list as ``FlowBatch.validate_json(value)``.

    What the processors write (``FlowBatch.dump_json``: every field, plain JSON types, UTC
    timestamps) is decoded with ``json.loads`` and checked field by field without pydantic;
    anything else — a missing or extra field, another type, an unknown enum value, a non-UTC
    timestamp, bad JSON — goes through ``FlowBatch.validate_json``, which validates it or
    raises pydantic's ``ValidationError`` naming the field.
    """
    try:
        items = json.loads(value)
        if type(items) is list:
            return [_plain_flow(d) for d in items]
    except (ValueError, RecursionError):  # _NotPlain, bad JSON: pydantic explains
        pass
    return FlowBatch.validate_json(value)
