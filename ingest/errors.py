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
