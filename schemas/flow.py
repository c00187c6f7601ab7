"""A Flow: a directed, typed edge of value from giver to receiver."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from valuenet.schemas.interaction import Kind, Source


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


class FlowRecord(BaseModel):
    """The object form of a ``valuenet.flows`` record: a network's flows of one batch plus the events
    of that batch the processors stage dead-lettered as dated in the future (they never become flows,
    so this count is how they reach ``future_events``, in order with the flows)."""

    model_config = ConfigDict(extra="forbid")

    flows: list[Flow]  # required: an empty object is a bad record, not an empty batch
    future_events: int = Field(default=0, ge=0)


FlowPayload: TypeAdapter[list[Flow] | FlowRecord] = TypeAdapter(list[Flow] | FlowRecord)
"""Validates any ``valuenet.flows`` record: a JSON array (:data:`FlowBatch`) or a :class:`FlowRecord` object."""
