"""Errors raised by connectors and parsers."""

from __future__ import annotations


class IngestError(Exception):
    """Base class of ingest errors."""


class ParseError(IngestError):
    """A payload could not be parsed; names the source, the field and the reason."""

    def __init__(self, source: str, field: str, reason: str, record: str | None = None) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        self.record = record
        where = f" in record {record}" if record else ""
        super().__init__(f"{source}: field '{field}': {reason}{where}")


class RecordTooLarge(IngestError):
    """A record over the topic's ``max.message.bytes``: refused before it reaches Kafka (names the record)."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        self.what = what
        self.size = size
        self.limit = limit
        super().__init__(
            f"{what} is {size} bytes, over the {limit}-byte record limit of the topic "
            "(max_message_bytes, the topic's max.message.bytes); not sent"
        )
