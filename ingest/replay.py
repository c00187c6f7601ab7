"""File replay: read a file or directory, validate each payload with the real parser, send the raw envelope.

Each payload is parsed locally, once (to count interactions per kind, to catch bad
input early and to compute its routing key) but what goes to ``valuenet.raw`` is the raw envelope, unchanged;
a payload the parser rejects goes to ``valuenet.dlq`` naming the source, the
field and the reason. Pacing: ``rate`` caps events/s; ``speedup`` replays at
event time × X (the gap between two events' timestamps divided by X).
``follow`` tails a growing NDJSON file like ``tail -f``.

Lines that already are raw envelopes (``{"schema_version", "source", "network",
"payload", ...}``, as ``valuenet ingest synth --out`` writes them) are sent as
they are, keeping their own source and headers.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.producer import DeliveryInterrupted
from valuenet.ingest.readers import read_ndjson, read_payloads
from valuenet.ingest.routing import parse_and_key
from valuenet.schemas.envelope import RawEnvelope, utcnow
from valuenet.schemas.interaction import Source
from valuenet.schemas.text import clean, loads

__all__ = ["Pacer", "ReplayStats", "Sink", "envelopes_from", "follow_ndjson", "replay"]

_ENVELOPE_KEYS = frozenset(("schema_version", "source", "network", "payload"))


class Sink(Protocol):
    """Where replay sends records (``RawProducer`` satisfies it)."""

    def send(self, envelope: RawEnvelope, *, key: str | None = None) -> Any:
        """Queue one raw envelope (``key``: its routing key, ``valuenet.ingest.routing.envelope_key``)."""

    def send_dlq(
        self, source: str, reason: str, field: str, record: Any, *, network: str = ..., stage: str = ...
    ) -> Any:
        """Queue one rejected record for the DLQ."""

    def flush(self, timeout: float | None = None) -> bool | None:
        """Block until everything queued was acknowledged (False: some was not, e.g. after an interrupt)."""


@dataclass
class ReplayStats:
    """Running totals of one replay; ``events_per_s`` = (sent + rejected) / elapsed wall seconds."""

    sent: int = 0
    rejected: int = 0
    interactions: int = 0
    per_kind: Counter[str] = field(default_factory=Counter)
    per_source: Counter[str] = field(default_factory=Counter)
    rejected_fields: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def elapsed_s(self) -> float:
        """Wall seconds from start to finish (or to now while running)."""
        return (self.finished or time.perf_counter()) - self.started

    @property
    def events_per_s(self) -> float:
        """Payloads handled per wall second."""
        e = self.elapsed_s
        return (self.sent + self.rejected) / e if e > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return {
            "sent": self.sent,
            "rejected": self.rejected,
            "interactions": self.interactions,
            "per_kind": dict(sorted(self.per_kind.items())),
            "per_source": dict(sorted(self.per_source.items())),
            "rejected_fields": dict(self.rejected_fields.most_common(10)),
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "interrupted": self.interrupted,
        }


class Pacer:
    """Sleeps so events go out at most ``rate`` per second, or at event time × ``speedup``."""

    def __init__(
        self,
        rate: float | None = None,
        speedup: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate: must be positive")
        if speedup is not None and speedup <= 0:
            raise ValueError("speedup: must be positive")
        self.rate = rate
        self.speedup = speedup
        self._sleep = sleep
        self._clock = clock
        self._n = 0
        self._t0: float | None = None
        self._event0: datetime | None = None

    def wait(self, event_time: datetime | None) -> float:
        """Block until the next event is due; return the seconds slept."""
        now = self._clock()
        if self._t0 is None:
            self._t0 = now
        due = now
        if self.rate is not None:
            due = max(due, self._t0 + self._n / self.rate)
        if self.speedup is not None and event_time is not None:
            if self._event0 is None:
                self._event0 = event_time
            offset = (event_time - self._event0).total_seconds() / self.speedup
            due = max(due, self._t0 + offset)
        self._n += 1
        delay = due - now
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0


def follow_ndjson(
    path: Path, stop: threading.Event, *, poll_s: float = 0.2, idle_exit_s: float | None = None
) -> Iterator[Any]:
    """Tail a growing NDJSON file from its start: yield each complete line's JSON (raw text if not JSON).

    Ends when ``stop`` is set, or after ``idle_exit_s`` seconds without new data.
    """
    buf = ""
    idle_since = time.monotonic()
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        while not stop.is_set():
            chunk = f.read(1 << 16)
            if not chunk:
                if idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                    break
                stop.wait(poll_s)
                continue
            idle_since = time.monotonic()
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                if line.strip():
                    try:
                        yield loads(line)
                    except ValueError:
                        yield line.rstrip("\r")


def _as_envelope(
    item: Any, source: Source | None, network: str | None, default_network: str, repaired: bool = False
) -> RawEnvelope:
    """Wrap one read payload (or pass through a stored envelope) as a RawEnvelope, its text repaired (schemas.text).

    ``repaired``: the reader decoded ``item`` with ``schemas.text.loads`` already (its objects and
    arrays are clean; a line it could not decode comes as a raw string and is cleaned here)."""
    if not repaired or not isinstance(item, (dict, list)):
        item = clean(item)
    if isinstance(item, dict) and _ENVELOPE_KEYS <= item.keys():
        env = RawEnvelope.model_validate(item)
        if network is not None and env.network != network:
            env = env.model_copy(update={"network": network})
        return env
    if source is None:
        if isinstance(item, str):
            raise ParseError("unknown", "<payload>", "not JSON (and no --source given)")
        raise ParseError("unknown", "source", "not a stored envelope and no --source given")
    return RawEnvelope(source=source, network=network or default_network, received_at=utcnow(), payload=item)


def _decoded_by_loads(items: Iterator[Any]) -> bool:
    """True when ``items`` is an NDJSON reader's generator (``follow_ndjson`` or ``readers.read_ndjson``),
    whose objects ``schemas.text.loads`` decoded and repaired already: they need no second pass."""
    code = getattr(items, "gi_code", None)
    return code is not None and code in (follow_ndjson.__code__, read_ndjson.__code__)


def envelopes_from(
    path: Path,
    source: Source | None,
    *,
    follow: bool = False,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
) -> Iterator[Any]:
    """The raw items of ``path``: via the readers, or by tailing it when ``follow``."""
    if follow:
        if path.is_dir():
            raise ValueError(f"{path}: --follow needs a file, not a directory")
        return follow_ndjson(path, stop or threading.Event(), idle_exit_s=idle_exit_s)
    if path.is_dir() and source is None:
        raise ValueError(f"{path}: a directory needs --source")
    return iter(read_payloads(path, source.value if source else "generic"))


def replay(
    path: Path,
    sink: Sink,
    *,
    source: Source | None,
    network: str | None = None,
    default_network: str = "default",
    rate: float | None = None,
    speedup: float | None = None,
    follow: bool = False,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    limit: int | None = None,
    on_progress: Callable[[ReplayStats], None] | None = None,
    progress_every: int = 500,
) -> ReplayStats:
    """Replay ``path`` into ``sink``: valid payloads as raw envelopes, rejects to the DLQ; return the totals."""
    stats = ReplayStats()
    parents = ParentIndex()
    pacer = Pacer(rate, speedup) if (rate or speedup) else None
    src_name = source.value if source else "unknown"
    stop = stop or threading.Event()
    try:
        items = envelopes_from(Path(path), source, follow=follow, stop=stop, idle_exit_s=idle_exit_s)
        repaired = _decoded_by_loads(items)
        for n, item in enumerate(items):
            if (limit is not None and n >= limit) or stop.is_set():
                break
            try:
                env = _as_envelope(item, source, network, default_network, repaired)
                interactions, key = parse_and_key(env, parents)  # one parse validates, counts and routes
            except ParseError as e:
                stats.rejected += 1
                stats.rejected_fields[e.field] += 1
                sink.send_dlq(
                    e.source or src_name, e.reason, e.field, item, network=network or default_network, stage="replay"
                )
            except ValidationError as e:
                err = e.errors()[0] if e.errors() else {"loc": ("envelope",), "msg": str(e)}
                fld = ".".join(str(p) for p in err["loc"]) or "envelope"
                stats.rejected += 1
                stats.rejected_fields[fld] += 1
                sink.send_dlq(
                    src_name,
                    f"invalid envelope: {err['msg']}",
                    fld,
                    item,
                    network=network or default_network,
                    stage="replay",
                )
            else:
                if pacer is not None:
                    pacer.wait(min((i.timestamp for i in interactions), default=None))
                sink.send(env, key=key)
                stats.sent += 1
                stats.per_source[env.source._value_] += 1
                stats.interactions += len(interactions)
                for i in interactions:
                    stats.per_kind[i.kind._value_] += 1
            if on_progress is not None and (n + 1) % progress_every == 0:
                on_progress(stats)
    except (KeyboardInterrupt, DeliveryInterrupted):  # Ctrl-C: flush (briefly, once interrupted) and summarise
        stats.interrupted = True
    sink.flush()
    stats.finished = time.perf_counter()
    if on_progress is not None:
        on_progress(stats)
    return stats
