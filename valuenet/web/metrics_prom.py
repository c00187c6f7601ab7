"""Prometheus ``/metrics``: pipeline health read from Kafka and ClickHouse at scrape time.

Series (all gauges unless noted):

- ``valuenet_topic_records_total{topic}`` (counter): records ever kept on a topic = Σ end offsets.
- ``valuenet_stage_events_per_second{stage}``: Δ records / Δ t between two scrapes of the stage's
  output topic (raw = ingest, flows = classify, metrics = analytics, dlq = rejects).
- ``valuenet_consumer_lag{group,topic}``: Σ over partitions (end offset − committed offset).
- ``valuenet_dlq_records_total`` (counter): Σ (end − beginning offset) of ``valuenet.dlq``.
- ``valuenet_tick_seconds{network,window}``: time the latest metric tick took.
- ``valuenet_tick_age_seconds{network}``: now − computed_at of the latest tick.
- ``valuenet_flows_per_second{network,window,flow_type}``: latest tick's event-time rate.
- ``valuenet_store_rows{table}``: rows per table (before merges).
- ``valuenet_kafka_up``, ``valuenet_store_up``: 1 when the last read worked.
- ``valuenet_store_blocked{reason}``: 1 while this process's store writes are blocked for ``reason``
  (no_space, read_only, too_many_parts, memory, unavailable, schema, locked), else 0;
  ``valuenet_store_blocked_seconds``: for how long; ``valuenet_store_write_retries_total`` (counter).
- ``valuenet_feed_clients``, ``valuenet_feed_events_total{event}`` (counter).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from valuenet.analytics.storage.health import REASONS, store_health
from valuenet.analytics.storage.reader import Reader, _parse_time
from valuenet.config import Settings

__all__ = ["PipelineCollector", "build_registry", "render"]

log = logging.getLogger("valuenet.web.metrics")
STAGES = {"ingest": "raw", "classify": "flows", "analytics": "metrics", "dlq": "dlq"}  # stage → topic under the prefix
TABLES = ("interactions", "flows", "actor_metrics", "network_metrics", "segment_flows", "alerts")


class KafkaProbe:
    """Offsets and consumer lag through kafka-python, with short timeouts and lazy reconnects."""

    def __init__(self, bootstrap: str, topics: dict[str, str] | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics or {stage: f"valuenet.{name}" for stage, name in STAGES.items()}
        self._consumer: Any = None
        self._admin: Any = None
        self._retry_at = 0.0

    def _connect(self) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap, request_timeout_ms=5000, client_id="valuenet-web-metrics"
            )
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, request_timeout_ms=5000, client_id="valuenet-web-admin"
            )

    def close(self) -> None:
        """Drop the clients."""
        for c in (self._consumer, self._admin):
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001
                pass
        self._consumer = self._admin = None

    def read(self) -> dict | None:
        """``{"end": {topic: n}, "begin": {topic: n}, "lag": {(group, topic): n}}`` or None when down."""
        if time.monotonic() < self._retry_at:
            return None
        try:
            self._connect()
            from kafka import TopicPartition

            end: dict[str, int] = {}
            begin: dict[str, int] = {}
            ends_by_tp: dict[Any, int] = {}
            for topic in self.topics.values():
                parts = self._consumer.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in sorted(parts)]
                if not tps:
                    continue
                e = self._consumer.end_offsets(tps)
                b = self._consumer.beginning_offsets(tps)
                ends_by_tp.update(e)
                end[topic] = sum(e.values())
                begin[topic] = sum(b.values())
            lag: dict[tuple[str, str], int] = {}
            for group in self._groups():
                offsets = self._admin.list_group_offsets([group]).get(group, {})
                for tp, om in offsets.items():
                    if tp in ends_by_tp and om.offset >= 0:
                        key = (group, tp.topic)
                        lag[key] = lag.get(key, 0) + max(ends_by_tp[tp] - om.offset, 0)
            return {"end": end, "begin": begin, "lag": lag}
        except Exception as e:  # noqa: BLE001 - a scrape must not fail because Kafka is away
            log.info("metrics: Kafka unavailable: %s", e)
            self.close()
            self._retry_at = time.monotonic() + 10.0
            return None

    def _groups(self) -> list[str]:
        groups = self._admin.list_groups()
        out = []
        for g in groups:
            gid = (
                g.get("group_id")
                if isinstance(g, dict)
                else (g[0] if isinstance(g, tuple) else getattr(g, "group_id", None))
            )
            if gid:
                out.append(gid)
        return out


class PipelineCollector(Collector):
    """Builds the pipeline-health series on each scrape (cached for ``min_interval`` seconds)."""

    def __init__(
        self, reader: Reader, settings: Settings, *, kafka: bool = True, feed: Any = None, min_interval: float = 1.0
    ) -> None:
        self.reader = reader
        self.feed = feed
        self.topics = {stage: settings.topic(name) for stage, name in STAGES.items()}
        self.kafka = KafkaProbe(settings.bootstrap_servers, self.topics) if kafka else None
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._cache: list[Metric] = []
        self._cache_at = 0.0
        self._prev_end: dict[str, tuple[float, int]] = {}

    def collect(self) -> Iterator[Metric]:
        """Yield every series (prometheus_client calls this on each scrape)."""
        with self._lock:
            now = time.monotonic()
            if now - self._cache_at >= self.min_interval or not self._cache:
                self._cache = list(self._build(now))
                self._cache_at = now
            yield from self._cache
        yield from _blocked_series()  # in-process state, never cached

    def _build(self, now: float) -> Iterator[Metric]:
        yield from self._kafka_series(now)
        yield from self._store_series()
        if self.feed is not None:
            g = GaugeMetricFamily("valuenet_feed_clients", "Connected SSE feed clients")
            g.add_metric([], self.feed.clients)
            yield g
            c = CounterMetricFamily("valuenet_feed_events", "Feed items published", labels=["event"])
            for ev in ("tick", "alert"):
                c.add_metric([ev], self.feed.published.get(ev, 0))
            yield c

    def _kafka_series(self, now: float) -> Iterator[Metric]:
        data = self.kafka.read() if self.kafka else None
        up = GaugeMetricFamily("valuenet_kafka_up", "1 when the last Kafka read worked")
        up.add_metric([], 1 if data else 0)
        yield up
        if not data:
            return
        total = CounterMetricFamily(
            "valuenet_topic_records", "Records kept on a topic (sum of end offsets)", labels=["topic"]
        )
        rate = GaugeMetricFamily(
            "valuenet_stage_events_per_second",
            "Records/s written by a stage between scrapes",
            labels=["stage", "topic"],
        )
        for stage, topic in self.topics.items():
            n = data["end"].get(topic)
            if n is None:
                continue
            total.add_metric([topic], n)
            prev = self._prev_end.get(topic)
            r = (n - prev[1]) / (now - prev[0]) if prev and now > prev[0] else 0.0
            rate.add_metric([stage, topic], max(r, 0.0))
            self._prev_end[topic] = (now, n)
        yield total
        yield rate
        lag = GaugeMetricFamily("valuenet_consumer_lag", "End offset minus committed offset", labels=["group", "topic"])
        for (group, topic), v in sorted(data["lag"].items()):
            lag.add_metric([group, topic], v)
        yield lag
        dlq = CounterMetricFamily("valuenet_dlq_records", "Records on the dead-letter queue")
        dlq.add_metric([], data["end"].get(self.topics["dlq"], 0) - data["begin"].get(self.topics["dlq"], 0))
        yield dlq

    def _store_series(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("valuenet_store_up", "1 when the last ClickHouse read worked")
        try:
            rows = self.reader.latest_rates()
            counts = {}
            for t in TABLES:
                try:
                    counts[t] = self.reader.row_count(t)
                except Exception:  # noqa: BLE001 - a table may not exist yet
                    continue
        except Exception as e:  # noqa: BLE001
            log.info("metrics: store unavailable: %s", e)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        tick = GaugeMetricFamily(
            "valuenet_tick_seconds", "Duration of the latest metric tick", labels=["network", "window"]
        )
        fps = GaugeMetricFamily(
            "valuenet_flows_per_second",
            "Flows/s of the latest tick (event time)",
            labels=["network", "window", "flow_type"],
        )
        age = GaugeMetricFamily(
            "valuenet_tick_age_seconds", "Seconds since the latest tick was computed", labels=["network"]
        )
        newest: dict[str, datetime] = {}
        now = datetime.now(UTC)
        seen = set()
        for r in rows:
            key = (r["network"], r["window"])
            if key in seen:
                continue
            seen.add(key)
            tick.add_metric(list(key), float(r["tick_seconds"]))
            for ft in ("knowledge", "idea", "reputation"):
                fps.add_metric([*key, ft], float(r[f"flows_per_s_{ft}"]))
            computed = _parse_time(r["computed_at"])
            if computed and (r["network"] not in newest or computed > newest[r["network"]]):
                newest[r["network"]] = computed
        for net, computed in sorted(newest.items()):
            age.add_metric([net], max((now - computed).total_seconds(), 0.0))
        rows_g = GaugeMetricFamily("valuenet_store_rows", "Rows per ClickHouse table", labels=["table"])
        for t, n in counts.items():
            rows_g.add_metric([t], n)
        yield from (tick, fps, age, rows_g)


def _blocked_series() -> Iterator[Metric]:
    """``valuenet_store_blocked{reason}``, ``valuenet_store_blocked_seconds`` and the write retries of this process."""
    health = store_health()
    status = health.status()
    blocked = GaugeMetricFamily(
        "valuenet_store_blocked", "1 while store writes are blocked for this reason (offsets held)", labels=["reason"]
    )
    for reason in REASONS:
        blocked.add_metric([reason], 1 if status and status["reason"] == reason else 0)
    seconds = GaugeMetricFamily("valuenet_store_blocked_seconds", "Seconds store writes have been blocked")
    seconds.add_metric([], status["seconds"] if status else 0.0)
    retries = CounterMetricFamily(
        "valuenet_store_write_retries", "Store writes retried (the store refused them for now)"
    )
    retries.add_metric([], health.retries_total)
    yield from (blocked, seconds, retries)


def build_registry(collector: PipelineCollector) -> CollectorRegistry:
    """A registry of its own (no process/platform collectors shared across apps)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition format."""
    return generate_latest(registry)
