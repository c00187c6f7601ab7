"""Turn a :class:`~valuenet.analytics.graph_store.TickResult` into the snapshot rows of ``valuenet.schemas.metrics``.

Every row carries ``network``, ``window``, ``computed_at`` (wall clock of the tick) and
``window_end`` (event-time end of the window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from valuenet.analytics.graph_store import GraphStore, LiveWindow
from valuenet.analytics.kinds import kinds_of, person_mask
from valuenet.analytics.metrics.brokerage import BROKER_ROLES
from valuenet.analytics.metrics.engine import EDGE_LAYERS, SEGMENTS
from valuenet.analytics.tick import TickResult, WindowResult
from valuenet.schemas import ActorMetrics, Alert, LiveMetrics, LiveTunnel, MetricsEvent, NetworkMetrics, SegmentFlow

__all__ = [
    "TickRows",
    "actor_records",
    "actor_rows",
    "network_rows",
    "tunnel_rows",
    "tick_rows",
    "metrics_event",
    "live_row",
    "live_event",
]


@dataclass
class TickRows:
    """The rows of one tick, ready for ``Store.write_models`` and ``valuenet.metrics``."""

    actors: list[ActorMetrics] = field(default_factory=list)
    network: list[NetworkMetrics] = field(default_factory=list)
    tunnels: list[SegmentFlow] = field(default_factory=list)


def _end(w: WindowResult) -> datetime:
    return datetime.fromtimestamp(w.end, tz=UTC)


def _top(w: WindowResult, limit: int | None) -> np.ndarray:
    """Actor indices of ``w``: all, or the union of the top ``limit`` by PageRank, by reach and by brokerage,
    among the persons and among the non-persons (so each kind's ranking holds its own top actors)."""
    if limit is None or limit >= w.graph.n:
        return np.arange(w.graph.n)
    is_person = person_mask(w.graph.kind, w.graph.n)
    picks = []
    for group in (np.flatnonzero(is_person), np.flatnonzero(~is_person)):
        for values in (w.pagerank, w.reach, w.brokerage):
            picks.append(group[np.argsort(-values[group], kind="stable")[:limit]])
    return np.unique(np.concatenate(picks))


def _finite(v: float) -> float:
    """``v``, or 0.0 for NaN (an actor without ties; never in a window graph, whose actors all have one)."""
    return float(v) if np.isfinite(v) else 0.0


def actor_records(result: TickResult, *, limit: int | None = None) -> list[dict]:
    """Per-actor rows as plain dicts (fast path for ``Store.write``); ``limit`` keeps top actors per window."""
    rows: list[dict] = []
    for w in result.windows:
        g = w.graph
        end = _end(w)
        kinds = kinds_of(g.kind, g.n)
        for i in _top(w, limit).tolist():
            row = {
                "network": result.network,
                "window": w.window,
                "computed_at": result.computed_at,
                "window_end": end,
                "actor": g.names[i],
                "segment": SEGMENTS[int(g.segment[i])],
            }
            for name in EDGE_LAYERS:
                out, inn = w.strength[name]
                row[f"in_{name}"] = float(inn[i])
                row[f"out_{name}"] = float(out[i])
            row.update(
                pagerank=float(w.pagerank[i]),
                pagerank_reputation=float(w.pagerank_reputation[i]),
                betweenness=float(w.betweenness[i]),
                boundary_spanning=float(w.boundary_spanning[i]),
                burt_constraint=_finite(w.constraint[i]),
                effective_size=_finite(w.effective_size[i]),
                brokerage=float(w.brokerage[i]),
                **{f"broker_{role}": int(w.broker_roles[i, k]) for k, role in enumerate(BROKER_ROLES)},
                community=int(w.community[i]),
                give_get_balance=float(w.give_get_balance[i]),
                reach=int(w.reach[i]),
                potential_reach=int(w.potential_reach[i]),
                amplification_rate=float(w.amplification_rate[i]),
                engagement_rate=float(w.engagement_rate[i]),
                kind=kinds[i],
            )
            rows.append(row)
    return rows


def actor_rows(result: TickResult, *, limit: int | None = None) -> list[ActorMetrics]:
    """Per-actor :class:`ActorMetrics` of every window (``limit``: top actors by PageRank ∪ reach)."""
    return [ActorMetrics.model_construct(**r) for r in actor_records(result, limit=limit)]


def network_rows(result: TickResult) -> list[NetworkMetrics]:
    """One :class:`NetworkMetrics` per window."""
    return [
        NetworkMetrics(
            network=result.network,
            window=w.window,
            computed_at=result.computed_at,
            window_end=_end(w),
            **w.network_metrics,
        )
        for w in result.windows
    ]


def tunnel_rows(result: TickResult) -> list[SegmentFlow]:
    """One :class:`SegmentFlow` per window and segment pair with flows."""
    rows = []
    for w in result.windows:
        for t in w.tunnel_rows:
            rows.append(
                SegmentFlow(
                    network=result.network,
                    window=w.window,
                    computed_at=result.computed_at,
                    window_end=_end(w),
                    src_segment=t.src,
                    dst_segment=t.dst,
                    knowledge=t.knowledge,
                    idea=t.idea,
                    reputation=t.reputation,
                    actor_pairs=t.actor_pairs,
                    reciprocity=t.reciprocity,
                    give_get_balance=t.give_get_balance,
                )
            )
    return rows


def tick_rows(result: TickResult, *, actor_limit: int | None = None) -> TickRows:
    """All rows of a tick (actors limited to the top ``actor_limit`` per window when given)."""
    return TickRows(actor_rows(result, limit=actor_limit), network_rows(result), tunnel_rows(result))


def metrics_event(result: TickResult, *, top: int = 20) -> MetricsEvent:
    """The ``valuenet.metrics`` tick record: network rows, tunnels and the top actors per window."""
    return MetricsEvent(
        type="tick",
        network=result.network,
        computed_at=result.computed_at,
        network_metrics=network_rows(result),
        actors=actor_rows(result, limit=top),
        tunnels=tunnel_rows(result),
    )


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def live_row(network: str, live: LiveWindow, watermark: float, computed_at: datetime) -> LiveMetrics:
    """The :class:`~valuenet.schemas.LiveMetrics` of one window's per-event counters."""
    rates = live.flows_per_s
    return LiveMetrics(
        network=network,
        window=live.window,
        computed_at=computed_at,
        window_start=_utc(live.start),
        window_end=_utc(live.end),
        watermark_ms=int(watermark * 1000),
        **{f"flows_{t}": n for t, n in live.flows.items()},
        **{f"flows_per_s_{t}": rates[t] for t in EDGE_LAYERS},
        late_events=live.late_events,
        future_events=live.future_events,
        held_events=live.held_events,
        tunnels=[
            LiveTunnel(src_segment=g, dst_segment=r, **counts)
            for (g, r), counts in sorted(live.tunnels.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ],
    )


def live_event(store: GraphStore, computed_at: datetime | None = None) -> MetricsEvent | None:
    """The ``valuenet.metrics`` live record of ``store``: every window's counters (None before any flow)."""
    watermark = store.watermark
    if watermark is None:
        return None
    at = computed_at or datetime.now(UTC)
    rows = [live_row(store.network, store.live_window(w.name), watermark, at) for w in store.windows]
    return MetricsEvent(type="live", network=store.network, computed_at=at, live=rows)


def alert_event(alert: Alert) -> MetricsEvent:
    """The ``valuenet.metrics`` record of one alert."""
    return MetricsEvent(type="alert", network=alert.network, computed_at=alert.raised_at, alert=alert)


__all__.append("alert_event")
