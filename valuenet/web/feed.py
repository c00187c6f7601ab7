"""The live feed: metric ticks, live counters and alerts from ``valuenet.metrics`` fanned out to SSE clients.

Live counters (``type: "live"``, sent by the graph agent after every batch of flows) are kept
per network in memory and served by ``GET /api/live``: the metrics API's freshest values.

Two sources feed one hub, deduplicated per network by ``computed_at`` (to the second):
a background aiokafka consumer of ``valuenet.metrics`` (no consumer group, from the end), and a
ClickHouse poller that notices new snapshots when Kafka is not reachable or the record was lost.

Watch it::

    curl -N http://127.0.0.1:8000/api/feed
    curl -N -H "Authorization: Bearer $VALUENET_API_TOKEN" http://host:8000/api/feed?network=acme
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from valuenet.analytics.storage.reader import Reader, to_iso
from valuenet.config import Settings
from valuenet.schemas import MetricsEvent

__all__ = ["FeedHub", "FeedItem", "store_tick", "epoch_ms"]

log = logging.getLogger("valuenet.web.feed")
TOP_ACTORS_PER_WINDOW = 20


@dataclass(frozen=True)
class FeedItem:
    """One SSE message."""

    id: int
    event: str  # "tick" | "live" | "alert"
    network: str
    data: str  # JSON text


def epoch_ms(value: Any) -> int:
    """Epoch milliseconds of a datetime or ISO text (the dedupe key, like the store's ``*_ms`` columns)."""
    if isinstance(value, (int, float)):
        return int(value)
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(round(dt.timestamp() * 1000))


def store_tick(reader: Reader, network: str, windows: tuple[str, ...]) -> dict | None:
    """A tick event (MetricsEvent shape, JSON-ready) assembled from the latest stored snapshots."""
    nm = reader.network_metrics(network, windows)
    if not nm:
        return None
    actors: list[dict] = []
    tunnels: list[dict] = []
    for w in windows:
        seen = set()
        for metric in ("pagerank", "reach"):
            for a in reader.top_actors(network, w, metric, TOP_ACTORS_PER_WINDOW):
                if a["actor"] not in seen:
                    seen.add(a["actor"])
                    actors.append(a)
        tunnels.extend(reader.tunnels(network, w))
    computed = max(r["computed_at"] for r in nm)
    return {
        "type": "tick",
        "network": network,
        "computed_at": computed,
        "network_metrics": nm,
        "actors": actors,
        "tunnels": tunnels,
        "alert": None,
    }


class FeedHub:
    """Fan-out of feed items to subscriber queues, fed by Kafka and a ClickHouse poller."""

    def __init__(
        self,
        reader: Reader,
        settings: Settings,
        *,
        poll_seconds: float = 0.5,
        kafka: bool = True,
        queue_size: int = 256,
    ) -> None:
        self.reader = reader
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.kafka_enabled = kafka
        self.queue_size = queue_size
        self._subs: set[asyncio.Queue[FeedItem]] = set()
        self._ids = itertools.count(1)
        self._last_tick: dict[str, int] = {}
        self.live: dict[str, dict] = {}  # network → newest live record (MetricsEvent JSON)
        self._alerts_seen: collections.deque[tuple] = collections.deque(maxlen=2048)
        self._last_alert_at = 0
        self._tasks: list[asyncio.Task] = []
        self.kafka_connected = False
        self.published: collections.Counter[str] = collections.Counter()
        self.bad_records = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the poller and, when enabled, the Kafka consumer."""
        await run_in_threadpool(self._prime)
        self._tasks.append(asyncio.create_task(self._poll_loop(), name="feed-poll"))
        if self.kafka_enabled:
            self._tasks.append(asyncio.create_task(self._kafka_loop(), name="feed-kafka"))

    async def stop(self) -> None:
        """Cancel the background tasks."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        self._tasks.clear()

    def _prime(self) -> None:
        """Remember what is already stored so only new ticks are announced."""
        try:
            self._last_tick.update(self.reader.latest_ticks())
            newest = self.reader.newest_alert_ms()
            if newest is not None:
                self._last_alert_at = newest
        except Exception:
            log.warning("feed: could not read the store at start", exc_info=True)

    # -- subscribers ----------------------------------------------------------------------

    @property
    def clients(self) -> int:
        """Connected SSE clients."""
        return len(self._subs)

    def subscribe(self) -> asyncio.Queue[FeedItem]:
        """A new subscriber queue."""
        q: asyncio.Queue[FeedItem] = asyncio.Queue(maxsize=self.queue_size)
        self._subs.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[FeedItem]) -> None:
        """Forget a subscriber."""
        self._subs.discard(q)

    def publish(self, event: str, network: str, payload: dict) -> FeedItem:
        """Send one item to every subscriber; a slow client loses its oldest item, never blocks others."""
        item = FeedItem(next(self._ids), event, network, json.dumps(payload, default=str))
        self.published[event] += 1
        for q in list(self._subs):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait(item)
        return item

    def offer_tick(self, payload: dict, ms: int | None = None) -> bool:
        """Publish a tick unless this network already announced one at least as new (by epoch ms)."""
        network = payload["network"]
        key = epoch_ms(payload["computed_at"]) if ms is None else ms
        if key <= self._last_tick.get(network, -1):
            return False
        self._last_tick[network] = key
        self.publish("tick", network, payload)
        return True

    def offer_live(self, payload: dict) -> bool:
        """Keep and publish a live record unless this network already has one with a later watermark."""
        network = payload["network"]
        wm = max((row["watermark_ms"] for row in payload["live"]), default=-1)
        held = self.live.get(network)
        if held is not None and wm < held["watermark_ms"]:
            return False
        self.live[network] = {**payload, "watermark_ms": wm}
        self.publish("live", network, self.live[network])
        return True

    def offer_alert(self, alert: dict) -> bool:
        """Publish an alert once (key: network, window, raised_at, kind, subject)."""
        key = (alert["network"], alert["window"], epoch_ms(alert["raised_at"]), alert["kind"], alert["subject"])
        if key in self._alerts_seen:
            return False
        self._alerts_seen.append(key)
        self._last_alert_at = max(self._last_alert_at, key[2])
        self.publish("alert", alert["network"], {**alert, "raised_at": to_iso(alert["raised_at"])})
        return True

    async def events(self, network: str | None = None) -> AsyncIterator[dict]:
        """SSE messages for one client: a ``hello`` snapshot, then ticks, live counters and alerts as they come."""
        q = self.subscribe()
        try:
            hello = await run_in_threadpool(self._hello, network)
            yield {"event": "hello", "data": json.dumps(hello, default=str)}
            while True:
                item = await q.get()
                if network and item.network != network:
                    continue
                yield {"id": str(item.id), "event": item.event, "data": item.data}
        except asyncio.CancelledError:
            log.info("feed: client disconnected")
            raise
        finally:
            self.unsubscribe(q)

    def _hello(self, network: str | None) -> dict:
        net = network or self.reader.default_network(self.settings.network)
        return {
            "network": net,
            "tick": store_tick(self.reader, net, tuple(self.settings.windows)),
            "kafka": self.kafka_connected,
        }

    # -- sources --------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            try:
                await run_in_threadpool(self.poll_once)
            except Exception:
                log.warning("feed: store poll failed", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    def poll_once(self) -> int:
        """Publish ticks and alerts that reached the store since the last look; returns how many."""
        n = 0
        for network, t in self.reader.latest_ticks().items():
            if t > self._last_tick.get(network, -1):
                payload = store_tick(self.reader, network, tuple(self.settings.windows))
                if payload and self.offer_tick({**payload, "source": "store"}, t):
                    n += 1
        for a in self.reader.alerts_since(int(self._last_alert_at)):
            a.pop("raised_at_ms", None)
            n += self.offer_alert(a)
        return n

    def handle_record(self, value: bytes) -> str | None:
        """Validate one ``valuenet.metrics`` record and offer it; returns its type or None if bad."""
        try:
            ev = MetricsEvent.model_validate_json(value)
        except ValidationError as e:
            self.bad_records += 1
            log.warning("feed: bad record on %s skipped: %s", self.settings.topic("metrics"), e.errors()[:1])
            return None
        if ev.type == "alert" and ev.alert is not None:
            self.offer_alert(ev.alert.model_dump(mode="json"))
        elif ev.type == "tick":
            self.offer_tick({**ev.model_dump(mode="json"), "source": "kafka"})
        elif ev.type == "live":
            self.offer_live(ev.model_dump(mode="json", include={"type", "network", "computed_at", "live"}))
        return ev.type

    async def _kafka_loop(self) -> None:
        """Consume ``valuenet.metrics`` for ever; while the broker is away the store poll carries the feed.

        A session that fails (or ends) is retried after 1 s, doubling up to 30 s; one that connected
        starts the backoff over.
        """

        def waiting(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            log.warning("feed: Kafka unavailable (%s); polling the store, retry in %.0fs", exc, delay)

        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=1.0, max=30.0),
            retry=retry_if_exception_type(Exception),  # not CancelledError: the hub is stopping
            before_sleep=waiting,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._kafka_session(attempt.retry_state)

    async def _kafka_session(self, state: RetryCallState) -> None:
        """One consumer connection, until it fails; a connection resets the retry count (the next wait is 1 s)."""
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            self.settings.topic("metrics"),
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            request_timeout_ms=10000,
        )
        try:
            await consumer.start()
            self.kafka_connected = True
            state.attempt_number = 1
            log.info("feed: consuming %s from %s", self.settings.topic("metrics"), self.settings.bootstrap_servers)
            async for msg in consumer:
                self.handle_record(msg.value)
            raise ConnectionError("the consumer stopped")
        finally:
            self.kafka_connected = False
            try:
                await consumer.stop()
            except Exception:  # noqa: BLE001 - closing a consumer whose broker is gone
                pass
