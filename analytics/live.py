"""The worker's live graphs: one GraphStore per network, rebuilt from ClickHouse on start, ticked off-loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from valuenet.analytics.alerts import AlertDetector
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.keyperson import KeyPersonAlerts
from valuenet.analytics.snapshot import actor_rows, alert_event, live_event, metrics_event, tick_rows
from valuenet.analytics.storage.reader import (
    DIRECTORY_SINCE_SQL,
    FLOW_NEWEST_SQL,
    FLOWS_SINCE_SQL,
    NETWORK_DIRECTORY_SQL,
)
from valuenet.analytics.storage.rows import flows_from_rows
from valuenet.analytics.tick import TickResult, compute_tick
from valuenet.analytics.window import WindowSpec
from valuenet.config import Settings
from valuenet.schemas import ActorMetrics, Alert, Flow, MetricsEvent, NetworkMetrics, SegmentFlow

__all__ = ["LiveGraphs", "TickOutput"]

log = logging.getLogger(__name__)

DIRECTORY_OVERLAP_MS = 5000  # re-read a few seconds back: rows of the same instant may land after a read


@dataclass
class TickOutput:
    """One network's tick: rows for ClickHouse and records for ``valuenet.metrics``."""

    network_id: str
    actors: list[ActorMetrics] = field(default_factory=list)
    network: list[NetworkMetrics] = field(default_factory=list)
    tunnels: list[SegmentFlow] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    tick: MetricsEvent | None = None

    def events(self) -> list[MetricsEvent]:
        """The tick record, then one record per alert."""
        return ([self.tick] if self.tick else []) + [alert_event(a) for a in self.alerts]


class LiveGraphs:
    """Per-network rolling graphs of this worker (a worker owns the networks of its partitions)."""

    def __init__(self, settings: Settings, *, actor_limit: int | None = 2000) -> None:
        self.settings = settings
        self.actor_limit = actor_limit
        self.stores: dict[str, GraphStore] = {}
        self.detectors: dict[str, AlertDetector] = {}
        self.key_persons = KeyPersonAlerts()  # key_person alerts (analytics/keyperson.py), per network and window
        self._dirty: set[str] = set()
        self._actors_written: dict[str, float] = {}  # network → wall time of its last actor rows
        self._actors_pending: dict[str, TickResult] = {}  # network → its latest tick, whose actor rows were skipped
        self._directory_ms = 0  # newest directory row applied (updated_at_ms)
        self._lock = asyncio.Lock()

    def horizon_seconds(self) -> float:
        """Event time a rebuild must reload: the longest window plus the allowed lateness."""
        longest = max(WindowSpec.parse(w, self.settings.bucket_seconds).seconds for w in self.settings.windows)
        return longest + self.settings.allowed_lateness_seconds + self.settings.bucket_seconds

    def store(self, network: str) -> GraphStore:
        """The GraphStore of ``network`` (created on first use)."""
        gs = self.stores.get(network)
        if gs is None:
            gs = self.stores[network] = GraphStore.from_settings(self.settings, network)
            self.detectors[network] = AlertDetector()
        return gs

    def forget(self) -> None:
        """Drop every graph (partitions were revoked: another worker may own these networks now)."""
        self.stores.clear()
        self.detectors.clear()
        self._dirty.clear()
        self._actors_pending.clear()

    async def prepare(self, networks: set[str], sink) -> None:
        """Before a network's first flow in this process (start, rebalance): rebuild it from ClickHouse."""
        new = networks - self.stores.keys()
        if not new:
            return
        async with self._lock:
            horizon_ms = int(self.horizon_seconds() * 1000)
            for network in sorted(new - self.stores.keys()):
                # the rebuild horizon ends at the k-th newest stored event time (k = watermark_confirmations):
                # fewer than k newer ones are flows the jump guard holds, which never moved the watermark
                newest = [int(r["t"]) for r in await sink.query(FLOW_NEWEST_SQL, {"network": network})]
                flows: list[Flow] = []
                if newest:
                    k = min(self.settings.watermark_confirmations, len(newest))
                    since = newest[k - 1] - horizon_ms
                    flows = flows_from_rows(await sink.query(FLOWS_SINCE_SQL, {"network": network, "since_ms": since}))
                store = self.store(network)
                counts = store.rebuild(flows)
                for row in await sink.query(NETWORK_DIRECTORY_SQL, {"network": network}):
                    store.set_identity(row["actor"], row["segment"], row["team"])
                self._dirty.add(network)
                log.info("rebuilt %s from %d stored flows: %s", network, len(flows), counts)

    async def refresh_identities(self, sink) -> int:
        """Apply ``directory`` rows written since the last call (re-segmented actors); returns actors changed."""
        rows = await sink.query(DIRECTORY_SINCE_SQL, {"since_ms": max(0, self._directory_ms - DIRECTORY_OVERLAP_MS)})
        changed = 0
        for row in rows:
            self._directory_ms = max(self._directory_ms, int(row["updated_at_ms"]))
            store = self.stores.get(row["network"])
            if store is not None and store.set_identity(row["actor"], row["segment"], row["team"]):
                self._dirty.add(row["network"])
                changed += 1
        return changed

    def add_many(self, flows: list[Flow]) -> None:
        """Apply a batch of flows to their networks' graphs (cheap, per event)."""
        by_net: dict[str, list[Flow]] = {}
        for f in flows:
            by_net.setdefault(f.network, []).append(f)
        for network, batch in by_net.items():
            self.store(network).add_many(batch)
            self._dirty.add(network)

    def add_future(self, counts: Mapping[str, int]) -> None:
        """Count events dead-lettered upstream as dated in the future (``network → n``); never moves a watermark."""
        for network, n in counts.items():
            if n > 0:
                self.store(network).add_future(n)
                self._dirty.add(network)

    def live_events(self, networks: set[str]) -> list[MetricsEvent]:
        """The live record (per-event counters of every window) of each of ``networks``."""
        now = datetime.now(UTC)
        events = (live_event(self.stores[n], now) for n in sorted(networks) if n in self.stores)
        return [e for e in events if e is not None]

    async def tick(self, executor: Executor, now: datetime | None = None) -> list[TickOutput]:
        """Recompute every changed network: snapshot here (cheap copy), compute in ``executor``, rows here."""
        now = now or datetime.now(UTC)
        loop = asyncio.get_running_loop()
        dirty, self._dirty = self._dirty, set()
        outputs = []
        for network in sorted(dirty):
            store, detector = self.stores.get(network), self.detectors.get(network)
            if store is None or detector is None:
                continue  # forgotten by a rebalance meanwhile
            result = await loop.run_in_executor(executor, compute_tick, store.snapshot(), now)
            store.record(result)  # lets large windows reuse the Louvain partition between recomputes
            wall = time.monotonic()
            actors_due = wall - self._actors_written.get(network, -1e18) >= self.settings.actor_snapshot_seconds
            if actors_due:
                self._actors_written[network] = wall
            # per-actor rows are the heavy part of a snapshot: built and stored less often
            rows = tick_rows(result, actor_limit=self.actor_limit if actors_due else 0)
            if actors_due:
                self._actors_pending.pop(network, None)
            else:
                self._actors_pending[network] = result
            if result.watermark is not None:
                for row in rows.network:
                    row.watermark_ms = int(result.watermark * 1000)
            alerts = detector.check(result) + self.key_persons.check(result)
            outputs.append(TickOutput(network, rows.actors, rows.network, rows.tunnels, alerts, metrics_event(result)))
        outputs += self._quiet_actor_rows(dirty)
        return outputs

    def _quiet_actor_rows(self, dirty: set[str]) -> list[TickOutput]:
        """The actor rows a network's last tick skipped, once it had no new flow for a tick (a quiet period).

        Per-actor rows are stored at most every ``actor_snapshot_seconds`` while flows arrive; without
        this, the rows of the last ticks before traffic stops would wait for the next flow.
        """
        outputs = []
        for network in sorted(self._actors_pending.keys() - dirty):
            result = self._actors_pending.pop(network)
            if network not in self.stores:
                continue  # forgotten by a rebalance meanwhile
            self._actors_written[network] = time.monotonic()
            outputs.append(TickOutput(network, actor_rows(result, limit=self.actor_limit)))
        return outputs
