"""Read the dead-letter topic and re-send dead-lettered raw records (``valuenet dlq``, ``GET /api/dlq``).

A dead letter is named by its place on ``valuenet.dlq``: ``<partition>:<offset>`` (``0:17``); a bare
offset (``17``) names partition 0. Pages list the newest first; ``next`` is a cursor (the lowest
offset listed per partition) for the page before.

Replay re-sends the original raw record to ``valuenet.raw`` (e.g. after a parser fix), one
record at a time, each acknowledged by the broker before the next. Which dead letters hold one:

- the record is a raw envelope (the processors' dead letters: ``normalise``): sent as it was,
  headers and ``received_at`` included;
- the record is a platform payload that a connector rejected (``webhook``, ``replay``,
  ``ingest``, ``stream``) and the letter names a known source: wrapped in an envelope of that
  source and network, ``received_at`` = when it was dead-lettered;
- anything else is skipped with the reason: a record cut at ``MAX_RECORD_CHARS`` (the original is
  not on the topic), text that is not JSON, a stored row or a flow (``sink``, ``graph``: not raw).

Replaying twice changes nothing: the processors drop events whose id they have seen (dedupe), and
one run sends a record held by several dead letters (one per failed interaction) once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from valuenet.schemas.dlq import MAX_RECORD_CHARS, DlqRecord
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.interaction import Source
from valuenet.schemas.text import loads

if TYPE_CHECKING:  # kafka-python is imported when a reader opens
    from kafka import KafkaConsumer

__all__ = [
    "DlqError",
    "DlqNotFound",
    "DeadLetter",
    "DlqPage",
    "DlqReader",
    "ReplayReport",
    "parse_id",
    "parse_cursor",
    "replay",
]

#: Stages whose dead letters hold a platform payload a connector rejected (replayable as a new envelope).
PAYLOAD_STAGES = ("webhook", "replay", "ingest", "stream")
MAX_PAGE = 1000


class DlqError(RuntimeError):
    """The dead-letter topic could not be read (broker down or not answering in time)."""


class DlqNotFound(LookupError):
    """No dead letter at that place (never written, or removed by the topic's retention)."""


def parse_id(text: str) -> tuple[int, int]:
    """``"p:offset"`` or ``"offset"`` (partition 0) → (partition, offset); ValueError names the bad id."""
    part, sep, off = text.strip().partition(":")
    try:
        p, o = (int(part), int(off)) if sep else (0, int(part))
    except ValueError:
        raise ValueError(f"dead-letter id {text!r} is not OFFSET or PARTITION:OFFSET (e.g. 17 or 0:17)") from None
    if p < 0 or o < 0:
        raise ValueError(f"dead-letter id {text!r}: partition and offset are not negative")
    return p, o


def parse_cursor(text: str) -> dict[int, int]:
    """A page cursor ``"0:120,1:33"`` → {partition: offset below which the next page starts}."""
    out = {}
    for item in text.split(","):
        if item.strip():
            p, o = parse_id(item if ":" in item else f"0:{item}")
            out[p] = o
    if not out:
        raise ValueError("empty cursor")
    return out


def _cursor_text(cursor: dict[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(cursor.items()))


@dataclass
class DeadLetter:
    """One record of the dead-letter topic: its place, Kafka timestamp and the letter (or why it is unreadable)."""

    partition: int
    offset: int
    timestamp_ms: int
    letter: DlqRecord | None
    value: str = ""  # the raw value when it is not a DlqRecord
    error: str | None = None

    @property
    def id(self) -> str:
        """``<partition>:<offset>``."""
        return f"{self.partition}:{self.offset}"

    def envelope(self) -> tuple[RawEnvelope | None, str]:
        """The raw envelope a replay re-sends, or None and why not."""
        d = self.letter
        if d is None:
            return None, f"not a dead-letter record ({self.error})"
        if d.truncated:
            return None, (
                f"record cut at {MAX_RECORD_CHARS} characters when dead-lettered: the original is not on the topic"
            )
        try:
            doc = loads(d.record)
        except ValueError as e:
            return None, f"record is not JSON ({e})"
        if isinstance(doc, dict) and "payload" in doc and "source" in doc:
            try:
                return RawEnvelope.model_validate(doc), "raw envelope"
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(p) for p in err["loc"]) or "envelope"
                return None, f"record is not a valid raw envelope (field {where!r}: {err['msg']})"
        if d.stage not in PAYLOAD_STAGES:
            return (
                None,
                f"the record of this {d.stage!r} dead letter is not a raw envelope (an interaction, flow or row)",
            )
        try:
            env = RawEnvelope(source=Source(d.source), network=d.network or "default", received_at=d.at, payload=doc)
        except (ValueError, ValidationError) as e:
            return None, f"cannot wrap the payload as a {d.source!r} envelope: {str(e).splitlines()[0]}"
        return env, f"{d.source} payload rejected by {d.stage}"

    def as_dict(self, *, full: bool = False) -> dict[str, Any]:
        """JSON-ready view: place, time, stage, source, network, field, reason, replayable (``full``: the record)."""
        env, why = self.envelope()
        out: dict[str, Any] = {
            "id": self.id,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(),
            "replayable": env is not None,
            "replay_note": why,
        }
        if self.letter is not None:
            out.update(self.letter.model_dump(mode="json", exclude={"record"} if not full else set()))
        else:
            out.update(error=self.error, value=self.value if full else self.value[:200])
        return out


def _letter(partition: int, offset: int, timestamp_ms: int, value: bytes | None) -> DeadLetter:
    text = (value or b"").decode("utf-8", errors="replace")
    try:
        return DeadLetter(partition, offset, timestamp_ms, DlqRecord.model_validate_json(text))
    except ValidationError as e:
        return DeadLetter(partition, offset, timestamp_ms, None, text, f"unreadable value: {str(e).splitlines()[0]}")


@dataclass
class DlqPage:
    """A page of dead letters, newest first; ``next``: the cursor of the page before (None at the oldest)."""

    items: list[DeadLetter]
    next: str | None
    retained: int  # dead letters the topic holds now (Σ end − beginning offsets)


class DlqReader:
    """Reads ``valuenet.dlq`` with kafka-python (no consumer group: nothing is committed, nothing moves)."""

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._consumer: KafkaConsumer | None = None

    def __enter__(self) -> DlqReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the consumer."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def _open(self) -> KafkaConsumer:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        if self._consumer is None:
            ms = int(self.timeout_s * 1000)
            try:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self.bootstrap,
                    group_id=None,
                    enable_auto_commit=False,
                    client_id="valuenet-dlq",
                    request_timeout_ms=max(ms, 1000),
                    bootstrap_timeout_ms=ms,
                )
            except KafkaError as e:
                raise DlqError(f"Kafka at {self.bootstrap} did not answer: {type(e).__name__}: {e}") from e
        return self._consumer

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        from kafka.errors import KafkaError

        try:
            return fn(*args)
        except KafkaError as e:
            raise DlqError(f"reading {self.topic} failed: {type(e).__name__}: {e}") from e

    def bounds(self) -> dict[int, tuple[int, int]]:
        """{partition: (beginning offset, end offset)}; empty when the topic does not exist."""
        from kafka import TopicPartition

        c = self._open()
        parts = self._call(c.partitions_for_topic, self.topic)
        if not parts:
            return {}
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        begin = self._call(c.beginning_offsets, tps)
        end = self._call(c.end_offsets, tps)
        return {tp.partition: (begin[tp], end[tp]) for tp in tps}

    def offsets_since(self, since_ms: int, bounds: dict[int, tuple[int, int]]) -> dict[int, int]:
        """{partition: first offset written at or after ``since_ms``} (the end offset when none is)."""
        from kafka import TopicPartition

        c = self._open()
        tps = {TopicPartition(self.topic, p): since_ms for p in bounds}
        found = self._call(c.offsets_for_times, tps)
        return {
            tp.partition: (found[tp].offset if found.get(tp) is not None else bounds[tp.partition][1]) for tp in tps
        }

    def read(self, ranges: dict[int, tuple[int, int]]) -> list[DeadLetter]:
        """Every dead letter with ``start <= offset < end`` per partition (``ranges``), in offset order."""
        import time

        from kafka import TopicPartition

        todo = {TopicPartition(self.topic, p): r for p, r in ranges.items() if r[0] < r[1]}
        if not todo:
            return []
        c = self._open()
        c.assign(list(todo))
        for tp, (start, _) in todo.items():
            c.seek(tp, start)
        out: list[DeadLetter] = []
        deadline = time.monotonic() + max(self.timeout_s, 5.0)
        while todo:
            if time.monotonic() > deadline:
                raise DlqError(f"reading {self.topic} took longer than {max(self.timeout_s, 5.0):.0f} s")
            batches = self._call(c.poll, 500)
            for tp, records in batches.items():
                end = todo.get(tp, (0, -1))[1]
                out.extend(_letter(tp.partition, r.offset, r.timestamp, r.value) for r in records if r.offset < end)
            for tp in list(todo):
                if self._call(c.position, tp) >= todo[tp][1]:
                    del todo[tp]
            c.pause(*[tp for tp in c.assignment() if tp not in todo])
        c.unsubscribe()
        out.sort(key=lambda d: (d.partition, d.offset))
        return out

    def page(self, *, limit: int = 50, since_ms: int | None = None, before: dict[int, int] | None = None) -> DlqPage:
        """The newest ``limit`` dead letters (written at or after ``since_ms``, below the cursor ``before``)."""
        limit = max(1, min(limit, MAX_PAGE))
        bounds = self.bounds()
        retained = sum(e - b for b, e in bounds.values())
        low = {p: b for p, (b, _) in bounds.items()}
        if since_ms is not None and bounds:
            low = {p: max(low[p], o) for p, o in self.offsets_since(since_ms, bounds).items()}
        high = {p: e for p, (_, e) in bounds.items()}
        if before is not None:
            high = {p: min(high[p], before.get(p, high[p])) for p in high}
        ranges = {p: (max(low[p], high[p] - limit), high[p]) for p in bounds}
        candidates = self.read(ranges)
        candidates.sort(key=lambda d: (d.timestamp_ms, d.offset, d.partition), reverse=True)
        items = candidates[:limit]
        cursor = dict(high)
        for d in items:
            cursor[d.partition] = min(cursor[d.partition], d.offset)
        more = any(cursor[p] > low[p] for p in cursor)
        return DlqPage(items, _cursor_text(cursor) if more and items else None, retained)

    def get(self, ident: str) -> DeadLetter:
        """The dead letter named ``ident`` (``p:offset`` or ``offset``); DlqNotFound says why there is none."""
        p, o = parse_id(ident)
        bounds = self.bounds()
        if p not in bounds:
            raise DlqNotFound(f"{self.topic} has no partition {p}" if bounds else f"{self.topic} does not exist yet")
        begin, end = bounds[p]
        if o >= end:
            raise DlqNotFound(f"no dead letter {p}:{o}: partition {p} ends at offset {end}")
        if o < begin:
            raise DlqNotFound(f"dead letter {p}:{o} is gone: retention removed offsets below {begin} of partition {p}")
        found = [d for d in self.read({p: (o, o + 1)}) if d.offset == o]
        if not found:
            raise DlqNotFound(f"no dead letter at {p}:{o} (a gap in the partition)")
        return found[0]

    def scan(self, since_ms: int | None = None, chunk: int = 500) -> Iterator[DeadLetter]:
        """Every retained dead letter (written at or after ``since_ms``), oldest first per partition."""
        bounds = self.bounds()
        low = {p: b for p, (b, _) in bounds.items()}
        if since_ms is not None and bounds:
            low = {p: max(low[p], o) for p, o in self.offsets_since(since_ms, bounds).items()}
        for p, (_, end) in sorted(bounds.items()):
            start = low[p]
            while start < end:
                stop = min(start + chunk, end)
                yield from self.read({p: (start, stop)})
                start = stop


@dataclass
class ReplayReport:
    """What a replay did: ids re-sent, skipped (with why) and not delivered (with the error)."""

    sent: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready totals and lists."""
        return {
            "sent": self.sent,
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "failed": [{"id": i, "error": e} for i, e in self.failed],
        }


def _fingerprint(env: RawEnvelope) -> str:
    doc = {"source": env.source.value, "network": env.network, "headers": env.headers, "payload": env.payload}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode("utf-8", "replace")).hexdigest()


def replay(
    letters: Iterable[DeadLetter], send: Callable[[RawEnvelope], Any], report: ReplayReport | None = None
) -> ReplayReport:
    """Re-send each dead letter's raw record with ``send`` (blocks until Kafka acknowledged; raises on failure).

    A record several dead letters hold is sent once; what cannot be replayed is skipped with the reason.
    ``report`` (filled as it goes, so an interrupted run still says what it sent) defaults to a new one.
    """
    report = report if report is not None else ReplayReport()
    seen: dict[str, str] = {}
    for d in letters:
        env, why = d.envelope()
        if env is None:
            report.skipped.append((d.id, why))
            continue
        key = _fingerprint(env)
        if key in seen:
            report.skipped.append((d.id, f"same record as {seen[key]} (sent once)"))
            continue
        try:
            send(env)
        except Exception as e:  # noqa: BLE001 - reported per record; the others are still tried
            report.failed.append((d.id, f"{type(e).__name__}: {e}"))
            continue
        seen[key] = d.id
        report.sent.append(d.id)
    return report
