"""The raw envelope: one platform payload as a connector received it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.interaction import Source


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


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
