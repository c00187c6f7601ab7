"""The dead-letter record: what any stage puts on ``valuenet.dlq`` when input cannot be used."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from valuenet.schemas.envelope import utcnow
from valuenet.schemas.text import clean, clean_text

__all__ = ["MAX_RECORD_CHARS", "DlqRecord", "dlq_record", "encode_dlq", "record_text"]

#: The offending record is kept as text, cut to this many characters: enough for real webhook bodies (GitHub's
#: are 10-30 KB), so ``valuenet dlq replay`` can re-send them, and under Kafka's 1 MB message size even when
#: every character needs a 6-byte JSON escape.
MAX_RECORD_CHARS = 65536


class DlqRecord(BaseModel):
    """One rejected record on ``valuenet.dlq`` (key: ``network``).

    ``stage`` says who rejected it (``ingest``, ``webhook``, ``stream``,
    ``normalise``, ...), ``field`` names the offending field and ``record`` holds
    the raw input as text, truncated to :data:`MAX_RECORD_CHARS`.
    """

    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=64)
    source: str = Field(max_length=64)
    network: str = Field(max_length=128)
    reason: str
    field: str = ""
    record: str = ""
    truncated: bool = False
    at: datetime = Field(default_factory=utcnow)


def record_text(record: Any, limit: int = MAX_RECORD_CHARS) -> tuple[str, bool]:
    """Render ``record`` as text (bytes decoded, objects as JSON) cut to ``limit`` chars; also say if it was cut."""
    if isinstance(record, bytes):
        text = record.decode("utf-8", errors="replace")
    elif isinstance(record, str):
        text = record
    elif isinstance(record, BaseModel):
        try:
            text = record.model_dump_json()
        except ValueError:  # text no encoder takes (lone surrogates): show it repaired
            text = json.dumps(clean(record.model_dump(mode="json")), ensure_ascii=False, default=str)
    else:
        try:
            text = json.dumps(record, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(record)
    text = clean_text(text)
    if len(text) > limit:
        return text[:limit], True
    return text, False


def dlq_record(*, stage: str, source: str, network: str, reason: str, field: str = "", record: Any = "") -> DlqRecord:
    """Build a :class:`DlqRecord`, rendering and truncating ``record``."""
    text, cut = record_text(record)
    return DlqRecord(
        stage=stage,
        source=clean_text(str(source))[:64],
        network=clean_text(network)[:128],
        reason=clean_text(reason),
        field=clean_text(field),
        record=text,
        truncated=cut,
    )


def encode_dlq(rec: DlqRecord, max_bytes: int) -> bytes:
    """The Kafka value of ``rec`` (JSON) within ``max_bytes``: ``record``, a long ``field``, then ``reason`` cut to fit.

    A cut sets ``truncated``; a cut reason ends with ``[cut to fit the dlq record limit]``. Removing n
    characters removes at least n bytes of JSON, so cutting a text by the overshoot brings the value
    under the cap unless the text was shorter (then the next text is cut).
    """
    value = rec.model_dump_json().encode("utf-8")
    if len(value) <= max_bytes:
        return value
    note = " [cut to fit the dlq record limit]"
    rec = rec.model_copy(update={"truncated": True})
    for name, floor in (("record", 0), ("field", 200), ("reason", 0), ("field", 0)):
        text: str = getattr(rec, name)
        extra = len(note) if name == "reason" else 0
        keep = max(floor, len(text) - (len(value) - max_bytes + extra))
        if keep >= len(text):
            continue
        rec = rec.model_copy(update={name: text[:keep] + note if extra else text[:keep]})
        value = rec.model_dump_json().encode("utf-8")
        if len(value) <= max_bytes:
            return value
    return value  # stage, source and network are bounded by the model: a few hundred bytes at most
