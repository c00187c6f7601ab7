"""The raw envelope: one platform payload as a connector received it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from valuenet.schemas.interaction import Source


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class RawEnvelope(BaseModel):
    """What connectors put on ``valuenet.raw`` (key: ``network``).

    ``headers`` keeps only the delivery headers that matter (event id, event
    type, signature timestamp), lower-cased; never secrets or signatures.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    source: Source
    network: str = Field(min_length=1, max_length=128)
    received_at: datetime = Field(default_factory=utcnow)
    headers: dict[str, str] = Field(default_factory=dict)
    payload: Any


#: A ``valuenet.raw`` value is one envelope (JSON object) or a batch of envelopes of one
#: network (JSON array) that a connector packed into one Kafka record.
RawBatch: TypeAdapter[list[RawEnvelope]] = TypeAdapter(list[RawEnvelope])


def is_batch(value: bytes) -> bool:
    """True when a ``valuenet.raw`` value is a JSON array of envelopes."""
    return value.lstrip()[:1] == b"["


def decode_raw(value: bytes) -> list[RawEnvelope]:
    """The envelopes of one ``valuenet.raw`` value (raises pydantic's ``ValidationError``)."""
    return RawBatch.validate_json(value) if is_batch(value) else [RawEnvelope.model_validate_json(value)]
