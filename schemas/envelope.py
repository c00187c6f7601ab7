"""The raw envelope: one platform payload as a connector received it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from valuenet.schemas.interaction import Source
from valuenet.schemas.trusted import builder


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


# -- the hot path's decoder -----------------------------------------------------------------------
#
# msgspec decodes a packed record into typed structs in one C pass (the payload as plain dicts,
# lists and scalars, like pydantic's ``Any``), 2-3x cheaper than ``RawBatch.validate_json``. It
# accepts a strict subset of what pydantic accepts, with the same values: anything it refuses
# (a wrong type, NaN, a number out of range, a lone surrogate, invalid UTF-8) returns None and the
# caller takes the pydantic path, so a dead letter still names the field. ``received_at`` is
# parsed by pydantic's own datetime validator, so it is the same object either way.

#: Payloads with at least this many ``{``/``[`` take the pydantic path, whose nesting limit
#: (and ``schemas.text.MAX_DEPTH``) decides (msgspec nests deeper than pydantic does).
_FAST_OPENERS = 200
_NUL_ESCAPE = b"\\u0000"  # JSON for U+0000: the repair path (schemas.text) replaces it


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    source: Source
    network: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    payload: msgspec.Raw
    schema_version: Literal[1] = 1
    received_at: str | msgspec.UnsetType = msgspec.UNSET
    headers: dict[str, str] = {}


_decode_batch = msgspec.json.Decoder(list[_Envelope]).decode
_decode_one = msgspec.json.Decoder(_Envelope).decode
_decode_payload = msgspec.json.Decoder().decode
_datetime = TypeAdapter(datetime).validate_python
_build = builder(RawEnvelope)
_UNSET = msgspec.UNSET


def fast_envelopes(value: bytes) -> list[RawEnvelope] | None:
    """The envelopes of a ``valuenet.raw`` value, or None when only the pydantic path can decide (see above)."""
    if _NUL_ESCAPE in value:
        return None
    try:
        items = _decode_batch(value) if is_batch(value) else [_decode_one(value)]
        out = []
        for e in items:
            raw = bytes(e.payload)
            if raw.count(b"{") + raw.count(b"[") >= _FAST_OPENERS:
                return None
            text = e.received_at
            at = utcnow() if text is _UNSET else _datetime(text)
            out.append(
                _build(
                    {  # every field, in order
                        "schema_version": 1,
                        "source": e.source,
                        "network": e.network,
                        "received_at": at,
                        "headers": e.headers,
                        "payload": _decode_payload(raw),
                    }
                )
            )
        return out
    except (msgspec.DecodeError, ValueError, RecursionError):  # pydantic's ValidationError is a ValueError
        return None
