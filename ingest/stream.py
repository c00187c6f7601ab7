"""WebSocket streaming clients: Mastodon streaming API and Bluesky Jetstream → raw envelopes on Kafka.

Both clients reconnect with exponential backoff and full jitter
(``sleep = uniform(0, min(cap, base · 2^attempt))``) and send every frame as a
raw envelope (the frame exactly as received, decoded from JSON).

- **Jetstream**: the resume cursor is the last ``time_us`` whose record Kafka
  acknowledged; it is persisted to ``$VALUENET_HOME/cursors/<name>.json`` and a
  reconnect asks for ``?cursor=<time_us>``. Frames at or before the cursor are
  skipped, so a resume neither loses nor duplicates events.
- **Mastodon**: frames are ``{"stream", "event", "payload": "<JSON string>"}``;
  the payload is decoded a second time to check it and to dedupe by entity id
  across reconnects (the streaming API has no replay; the last id is kept as
  the cursor for a REST back-fill).

A frame that is not JSON (or whose Mastodon payload is not) goes to the DLQ::

    valuenet ingest stream jetstream 'wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post'
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websockets
from tenacity import AsyncRetrying, RetryCallState, RetryError, retry_if_exception_type
from websockets.asyncio.client import connect

from valuenet.ingest.replay import Sink
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.interaction import Source
from valuenet.schemas.text import loads

__all__ = ["Backoff", "CursorStore", "StreamStats", "StreamClient", "with_cursor"]

log = logging.getLogger(__name__)

Platform = Literal["mastodon", "jetstream"]


@dataclass
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap_s, base_s · 2^attempt))``.

    The wait strategy of the stream's tenacity reconnect loop; ``attempt`` is its own count, reset by a
    connection that delivered frames (so a stream that works again waits little after its next drop).
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next reconnect; grows the attempt counter."""
        delay = self.rng.uniform(0, min(self.cap_s, self.base_s * (2**self.attempt)))
        self.attempt = min(self.attempt + 1, 30)
        return delay

    def reset(self) -> None:
        """Back to the first attempt (after a connection that delivered frames)."""
        self.attempt = 0

    def __call__(self, retry_state: RetryCallState) -> float:
        """tenacity wait strategy: :meth:`next_delay`."""
        return self.next_delay()


class _Disconnected(ConnectionError):
    """A stream connection ended without being asked to stop: reconnect."""


class CursorStore:
    """A resume cursor in a small JSON file, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_url(cls, home: Path, platform: str, url: str) -> CursorStore:
        """The cursor file of one stream: ``<home>/cursors/<platform>-<sha1(url without cursor)[:12]>.json``."""
        key = hashlib.sha1(with_cursor(url, None).encode("utf-8")).hexdigest()[:12]
        return cls(home / "cursors" / f"{platform}-{key}.json")

    def load(self) -> int | str | None:
        """The stored cursor, or None."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("cursor")
        except (OSError, ValueError, AttributeError):
            return None

    def save(self, cursor: int | str) -> None:
        """Persist ``cursor`` (write to a temp file, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cursor": cursor}), encoding="utf-8")
        tmp.replace(self.path)


def with_cursor(url: str, cursor: int | None) -> str:
    """``url`` with its ``cursor`` query parameter set to ``cursor`` (removed when None)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class StreamStats:
    """Totals of one streaming session."""

    frames: int = 0
    sent: int = 0
    skipped: int = 0
    rejected: int = 0
    connections: int = 0
    cursor: int | str | None = None


class StreamClient:
    """One reconnecting WebSocket client that forwards frames to a :class:`Sink`."""

    def __init__(
        self,
        platform: Platform,
        url: str,
        sink: Sink,
        *,
        network: str,
        cursor_store: CursorStore | None = None,
        backoff: Backoff | None = None,
        token: str | None = None,
        checkpoint_every: int = 500,
        dedupe_capacity: int = 100_000,
        on_frame: Callable[[StreamStats], None] | None = None,
    ) -> None:
        if platform not in ("mastodon", "jetstream"):
            raise ValueError(f"platform: expected mastodon or jetstream, got {platform!r}")
        self.platform = platform
        self.url = url
        self.sink = sink
        self.network = network
        self.cursor_store = cursor_store
        self.backoff = backoff or Backoff()
        self.token = token
        self.checkpoint_every = checkpoint_every
        self.on_frame = on_frame
        self.stats = StreamStats()
        self.source = Source.mastodon if platform == "mastodon" else Source.bluesky
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_capacity = dedupe_capacity
        self._pending = 0
        loaded = cursor_store.load() if cursor_store else None
        self.stats.cursor = loaded
        self._acked_cursor = loaded

    async def run(
        self, stop: asyncio.Event | None = None, *, max_frames: int | None = None, max_connections: int | None = None
    ) -> StreamStats:
        """Connect, forward frames, reconnect on disconnect until ``stop`` is set or a limit is reached.

        tenacity runs the reconnects: each connection that ends is retried after ``self.backoff``'s
        delay (a stop ends the wait at once), until ``stop`` is set or ``max_connections`` were made.
        """
        stop = stop or asyncio.Event()
        ended = stop

        def limit_reached() -> bool:
            return max_connections is not None and self.stats.connections >= max_connections

        async def pause(delay: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), timeout=delay)

        reconnecting = AsyncRetrying(
            wait=self.backoff,
            retry=retry_if_exception_type(_Disconnected),
            stop=lambda state: ended.is_set() or limit_reached(),
            sleep=pause,
        )
        with contextlib.suppress(RetryError):  # stopped or at max_connections after a disconnect
            async for attempt in reconnecting:
                with attempt:
                    if not (stop.is_set() or limit_reached()):
                        await self._connection(stop, max_frames)
        await self.checkpoint()
        return self.stats

    async def _connection(self, stop: asyncio.Event, max_frames: int | None) -> None:
        """One connection: forward its frames until it ends or ``stop``; raises _Disconnected when it ended by itself."""
        url = self._connect_url()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        got_frames = False
        try:
            async with connect(url, additional_headers=headers, open_timeout=10, max_size=2**22) as ws:
                self.stats.connections += 1
                log.info("%s stream connected (connection %d)", self.platform, self.stats.connections)
                async for message in ws:
                    got_frames = True
                    await self._handle(message)
                    if max_frames is not None and self.stats.frames >= max_frames:
                        stop.set()
                    if stop.is_set():
                        break
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
            log.warning("%s stream disconnected: %s", self.platform, type(e).__name__)
        await self.checkpoint()
        if stop.is_set():
            return
        if got_frames:
            self.backoff.reset()
        raise _Disconnected(self.platform)

    def _connect_url(self) -> str:
        if self.platform == "jetstream" and isinstance(self._acked_cursor, int):
            return with_cursor(self.url, self._acked_cursor)
        return self.url

    async def _handle(self, message: str | bytes) -> None:
        self.stats.frames += 1
        try:
            frame = loads(message)  # text repaired (schemas.text); too deep → ValueError
            key, cursor = self._identify(frame)
        except (ValueError, TypeError, KeyError) as e:
            self.stats.rejected += 1
            field_name = "payload" if self.platform == "mastodon" else "frame"
            self.sink.send_dlq(
                self.source.value,
                f"undecodable {self.platform} frame: {e}",
                field_name,
                message,
                network=self.network,
                stage="stream",
            )
            return
        if self._is_duplicate(key, cursor):
            self.stats.skipped += 1
            return
        self.sink.send(
            RawEnvelope(
                source=self.source,
                network=self.network,
                payload=frame,
                headers=self._headers(frame),
            )
        )
        self.stats.sent += 1
        if cursor is not None:
            self.stats.cursor = cursor
        self._pending += 1
        if self._pending >= self.checkpoint_every:
            await self.checkpoint()
        if self.on_frame is not None:
            self.on_frame(self.stats)

    def _identify(self, frame: Any) -> tuple[str | None, int | str | None]:
        """(dedupe key, cursor) of a frame; raises ValueError/TypeError/KeyError if malformed."""
        if not isinstance(frame, dict):
            raise TypeError(f"expected an object, got {type(frame).__name__}")
        if self.platform == "jetstream":
            t = frame["time_us"]
            if not isinstance(t, int) or isinstance(t, bool):
                raise TypeError("time_us is not an integer")
            return None, t
        event = frame["event"]
        raw = frame["payload"]
        if event == "delete":  # payload is the bare status id
            return f"delete:{raw}", None
        entity = loads(raw) if isinstance(raw, str) else raw
        if not isinstance(entity, dict) or "id" not in entity:
            raise KeyError("payload.id")
        return f"{event}:{entity['id']}", str(entity["id"])

    def _headers(self, frame: dict) -> dict[str, str]:
        """Envelope headers: the stream event, and for Mastodon the instance (it qualifies local accounts)."""
        headers = {"x-stream-event": str(frame.get("event") or frame.get("kind") or "")}
        if self.platform == "mastodon":
            host = urlsplit(self.url).hostname
            if host:
                headers["x-mastodon-instance"] = host
        return headers

    def _is_duplicate(self, key: str | None, cursor: int | str | None) -> bool:
        if self.platform == "jetstream":
            last = self.stats.cursor
            return isinstance(last, int) and isinstance(cursor, int) and cursor <= last
        if key is None:
            return False
        if key in self._seen:
            return True
        self._seen[key] = None
        if len(self._seen) > self._dedupe_capacity:
            self._seen.popitem(last=False)
        return False

    async def checkpoint(self) -> None:
        """Wait for Kafka to acknowledge what was sent, then persist the cursor (kept back when it did not)."""
        if self._pending == 0 and self.stats.cursor == self._acked_cursor:
            return
        if await asyncio.to_thread(self.sink.flush) is False:  # interrupted before Kafka had it all: resume here
            log.warning(
                "%s stream: Kafka has not acknowledged every frame; cursor kept at %s",
                self.platform,
                self._acked_cursor,
            )
            return
        self._pending = 0
        self._acked_cursor = self.stats.cursor
        if self.cursor_store is not None and self.stats.cursor is not None:
            self.cursor_store.save(self.stats.cursor)
