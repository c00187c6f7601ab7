"""The read model: SQL over the metric snapshots and flows, shared by the API, the feed and exports.

Snapshots are appended per tick; the latest snapshot of ``(network, window)`` is the one with
the greatest ``computed_at``. Flows are a ReplacingMergeTree by ``(network, event_id)`` and are
read with ``FINAL``. Every value reaches SQL as a ``%(name)s`` parameter; the SQL sticks to what
ClickHouse 18.16 understands (no window functions, no DateTime64).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from valuenet.analytics.names import with_names_by_network
from valuenet.analytics.storage.tables import check_identifier
from valuenet.schemas.timeunits import DurationError, parse_duration

__all__ = [
    "StoreLike",
    "Reader",
    "ACTOR_METRICS",
    "to_iso",
]

ACTOR_METRICS = (
    "in_knowledge",
    "out_knowledge",
    "in_idea",
    "out_idea",
    "in_reputation",
    "out_reputation",
    "pagerank",
    "pagerank_reputation",
    "betweenness",
    "boundary_spanning",
    "brokerage",
    "burt_constraint",
    "effective_size",
    "broker_coordinator",
    "broker_gatekeeper",
    "broker_representative",
    "broker_consultant",
    "broker_liaison",
    "give_get_balance",
    "reach",
    "potential_reach",
    "amplification_rate",
    "engagement_rate",
)
FLOW_TYPES = ("knowledge", "idea", "reputation")
_TIME_COLUMNS = ("computed_at", "window_end", "raised_at", "timestamp", "last_tick", "first_seen", "last_seen")

# -- the worker's reads (valuenet.analytics.live runs them on the sink's lanes) ------------------
#: newest flow time and flow count of a network (the rebuild horizon's anchor)
FLOW_WATERMARK_SQL = "SELECT max(timestamp_ms) AS wm, count() AS n FROM flows WHERE network = %(network)s"
#: the newest stored event times of a network (a rebuild skips the ones the jump guard would hold)
FLOW_NEWEST_SQL = "SELECT timestamp_ms AS t FROM flows WHERE network = %(network)s ORDER BY timestamp_ms DESC LIMIT 16"
#: stored flows from ``since_ms`` in stream order (``seq``), as a rebuild replays them
FLOWS_SINCE_SQL = (
    "SELECT * FROM flows FINAL WHERE network = %(network)s AND timestamp_ms >= %(since_ms)s "
    "ORDER BY seq, timestamp_ms, event_id"
)
#: the latest directory row of every actor of a network
NETWORK_DIRECTORY_SQL = (
    "SELECT actor, toString(segment) AS segment, team FROM directory FINAL WHERE network = %(network)s"
)
#: directory rows written after ``since_ms`` (re-segmentations), oldest first
DIRECTORY_SINCE_SQL = (
    "SELECT network, actor, toString(segment) AS segment, team, updated_at_ms FROM directory "
    "WHERE updated_at_ms > %(since_ms)s ORDER BY updated_at_ms"
)
# Warm from `flows`, not `interactions`: a flow is in `flows` only once it got through the
# flows topic and the analytics stage, so a crash between the two stages re-emits it.
_RECENT_FLOW_KEYS_SQL = (
    "SELECT network, event_id, timestamp_ms FROM flows "
    "WHERE timestamp_ms >= (SELECT max(timestamp_ms) FROM flows) - %(horizon_ms)s"
)
_LATEST_TICKS_SQL = "SELECT network, max(computed_at_ms) AS t FROM network_metrics GROUP BY network"


class StoreLike(Protocol):
    """What the web service needs from ``valuenet.analytics.storage.Store``."""

    def query(self, sql: str, params: dict | None = None) -> list[dict]:
        """Run ``sql`` with pyformat parameters and return rows as dicts."""


def _parse_time(value: Any) -> datetime | None:
    """A ClickHouse time value (datetime or ``YYYY-MM-DD HH:MM:SS`` text) as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def to_iso(value: Any) -> str | None:
    """ISO-8601 UTC text (``...Z``) of a ClickHouse time value."""
    dt = _parse_time(value)
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def _clean(row: dict) -> dict:
    """JSON-friendly row: times as ISO UTC, non-finite floats as None."""
    out = {}
    for k, v in row.items():
        if k.endswith("_ms") and k[:-3] in _TIME_COLUMNS:
            continue
        if k in _TIME_COLUMNS:
            v = to_iso(v)
        elif isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


def _unique(rows: Iterable[dict], *key: str) -> list[dict]:
    """Drop repeated rows (a snapshot replayed twice) keeping the first of each key."""
    seen: set = set()
    out = []
    for r in rows:
        k = tuple(r.get(c) for c in key)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


class Reader:
    """Read queries over a Store, serialised by a lock (embedded chdb is one session)."""

    def __init__(self, store: StoreLike) -> None:
        self.store = store
        self._lock = threading.Lock()

    def q(self, sql: str, params: dict | None = None) -> list[dict]:
        """Run one query under the lock."""
        with self._lock:
            return self.store.query(sql, params or None)

    # -- health, the SSE feed's and Prometheus' polls ------------------------------------

    def ping(self) -> None:
        """One trivial query: raises when the store does not answer."""
        self.q("SELECT 1 AS one")

    def latest_ticks(self) -> dict[str, int]:
        """Each network's newest snapshot time (``computed_at_ms``)."""
        return {r["network"]: int(r["t"]) for r in self.q(_LATEST_TICKS_SQL)}

    def newest_alert_ms(self) -> int | None:
        """``raised_at_ms`` of the newest stored alert; None when there is none."""
        rows = self.q("SELECT max(raised_at_ms) AS t, count() AS n FROM alerts")
        return int(rows[0]["t"]) if rows and int(rows[0]["n"]) > 0 else None

    def alerts_since(self, since_ms: int, limit: int = 500) -> list[dict]:
        """Stored alert rows raised at or after ``since_ms``, oldest first (raw rows, ``raised_at_ms`` included)."""
        return self.q(
            "SELECT * FROM alerts WHERE raised_at_ms >= %(since)s ORDER BY raised_at_ms LIMIT %(limit)s",
            {"since": int(since_ms), "limit": int(limit)},
        )

    def latest_rates(self) -> list[dict]:
        """The newest NetworkMetrics of every (network, window): ``tick_seconds``, ``computed_at``, flows/s by type."""
        return self.q(
            "SELECT network, `window`, tick_seconds, computed_at, flows_per_s_knowledge, flows_per_s_idea, "
            "flows_per_s_reputation FROM network_metrics WHERE (network, `window`, computed_at_ms) IN "
            "(SELECT network, `window`, max(computed_at_ms) FROM network_metrics GROUP BY network, `window`)"
        )

    def row_count(self, table: str) -> int:
        """Rows of one of valuenet's tables (raises when the table does not exist yet)."""
        return int(self.q(f"SELECT count() AS n FROM {check_identifier(table)}")[0]["n"])

    # -- the worker's deduper warm-up, analyst corrections -------------------------------

    def recent_flow_keys(self, horizon_ms: int) -> list[dict]:
        """``network``, ``event_id``, ``timestamp_ms`` of flows within ``horizon_ms`` of the newest stored flow."""
        return self.q(_RECENT_FLOW_KEYS_SQL, {"horizon_ms": int(horizon_ms)})

    def interaction(self, network: str, event_id: str) -> dict | None:
        """``source``, ``kind``, ``text`` of one stored interaction, or None."""
        rows = self.q(
            "SELECT source, kind, text FROM interactions FINAL "
            "WHERE network = %(network)s AND event_id = %(event_id)s LIMIT 1",
            {"network": network, "event_id": event_id},
        )
        return rows[0] if rows else None

    def labels(self, network: str | None = None) -> list[dict]:
        """The latest correction per event (all networks unless one is named), by network and event id."""
        where = "WHERE network = %(network)s" if network else ""
        return self.q(
            "SELECT network, event_id, source, kind, text, toString(label) AS label "
            f"FROM labels FINAL {where} ORDER BY network, event_id",
            {"network": network} if network else None,
        )

    # -- networks and windows -------------------------------------------------------------

    def networks(self) -> list[dict]:
        """Every network with metric snapshots or flows: ``network``, ``last_tick``, ``windows``."""
        rows = self.q(
            "SELECT network, max(computed_at) AS last_tick, groupUniqArray(`window`) AS windows "
            "FROM network_metrics GROUP BY network ORDER BY network"
        )
        seen = {r["network"] for r in rows}
        for r in self.q("SELECT DISTINCT network FROM flows ORDER BY network"):
            if r["network"] not in seen:
                rows.append({"network": r["network"], "last_tick": None, "windows": []})
        return [{**_clean(r), "windows": sorted(r["windows"], key=_window_order)} for r in rows]

    def default_network(self, preferred: str) -> str:
        """``preferred`` if it has data, else the network ticked most recently, else ``preferred``."""
        rows = self.q("SELECT network, max(computed_at_ms) AS t FROM network_metrics GROUP BY network ORDER BY t DESC")
        names = [r["network"] for r in rows]
        if preferred in names or not names:
            return preferred
        return names[0]

    def window_range(self, network: str, window: str) -> tuple[datetime, datetime]:
        """Event-time ``(start, end]`` of ``window``: end = latest snapshot's window_end, else newest flow."""
        seconds = parse_duration(window)
        rows = self.q(
            "SELECT max(window_end) AS e, count() AS n FROM network_metrics "
            "WHERE network = %(network)s AND `window` = %(window)s",
            {"network": network, "window": window},
        )
        end = _parse_time(rows[0]["e"]) if rows and int(rows[0]["n"]) > 0 else None
        if end is None:
            rows = self.q(
                "SELECT max(timestamp) AS e, count() AS n FROM flows WHERE network = %(network)s",
                {"network": network},
            )
            end = _parse_time(rows[0]["e"]) if rows and int(rows[0]["n"]) > 0 else None
        if end is None:
            end = datetime.now(UTC)
        return end - timedelta(seconds=seconds), end

    # -- snapshots ------------------------------------------------------------------------

    def network_metrics(self, network: str, windows: Iterable[str]) -> list[dict]:
        """The latest NetworkMetrics snapshot of each window (windows without data are left out)."""
        out: list[dict] = []
        for w in windows:
            rows = self.q(
                "SELECT * FROM network_metrics WHERE network = %(network)s AND `window` = %(window)s "
                "ORDER BY computed_at_ms DESC LIMIT 1",
                {"network": network, "window": w},
            )
            out.extend(_clean(r) for r in rows)
        return out

    def network_history(self, network: str, window: str, limit: int) -> list[dict]:
        """The last ``limit`` NetworkMetrics snapshots of one window, oldest first."""
        rows = self.q(
            "SELECT * FROM network_metrics WHERE network = %(network)s AND `window` = %(window)s "
            "ORDER BY computed_at_ms DESC LIMIT %(limit)s",
            {"network": network, "window": window, "limit": int(limit)},
        )
        rows = _unique(rows, "computed_at_ms")
        return [_clean(r) for r in reversed(rows)]

    def _latest_at(self, table: str, network: str, window: str) -> Any:
        rows = self.q(
            f"SELECT max(computed_at_ms) AS t, count() AS n FROM {table} "
            "WHERE network = %(network)s AND `window` = %(window)s",
            {"network": network, "window": window},
        )
        return int(rows[0]["t"]) if rows and int(rows[0]["n"]) > 0 else None

    def top_actors(
        self,
        network: str,
        window: str,
        metric: str,
        limit: int,
        segment: str | None = None,
        kinds: Iterable[str] = ("person",),
    ) -> list[dict]:
        """Actors of ``kinds`` (persons by default; each row says its ``kind``) in the latest snapshot, by ``metric``
        (one of ACTOR_METRICS), descending."""
        if metric not in ACTOR_METRICS:
            raise ValueError(f"metric {metric!r} is not one of {', '.join(ACTOR_METRICS)}")
        t = self._latest_at("actor_metrics", network, window)
        if t is None:
            return []
        seg = "AND segment = %(segment)s " if segment else ""
        rows = self.q(
            "SELECT * FROM actor_metrics WHERE network = %(network)s AND `window` = %(window)s "
            f"AND computed_at_ms = %(t)s AND has(%(kinds)s, toString(kind)) {seg}"
            f"ORDER BY {metric} DESC, actor ASC LIMIT %(limit)s",
            {
                "network": network,
                "window": window,
                "t": t,
                "segment": segment,
                "kinds": sorted(kinds),
                "limit": int(limit) * 2,
            },
        )
        return [_clean(r) for r in _unique(rows, "actor")[:limit]]

    def actor_snapshot(self, network: str, window: str) -> dict[str, dict]:
        """Latest ActorMetrics of every actor of one window, by actor id."""
        t = self._latest_at("actor_metrics", network, window)
        if t is None:
            return {}
        rows = self.q(
            "SELECT * FROM actor_metrics WHERE network = %(network)s AND `window` = %(window)s "
            "AND computed_at_ms = %(t)s",
            {"network": network, "window": window, "t": t},
        )
        return {r["actor"]: _clean(r) for r in _unique(rows, "actor")}

    def search_actors(self, network: str, window: str, q: str | None, limit: int) -> list[dict]:
        """Actors whose id (or directory name) contains ``q``, case-insensitive, by PageRank."""
        names = self.display_names(network)
        latest = self.actor_snapshot(network, window)
        if not latest:  # no metrics yet: actors straight from the flows
            rows = self.q(
                "SELECT giver AS actor, any(giver_segment) AS segment FROM flows FINAL "
                "WHERE network = %(network)s GROUP BY giver",
                {"network": network},
            )
            latest = {r["actor"]: {"actor": r["actor"], "segment": r["segment"], "pagerank": 0.0} for r in rows}
        needle = (q or "").lower()
        hits = []
        for actor, row in latest.items():
            name = names.get(actor)
            if needle and needle not in actor.lower() and not (name and needle in name.lower()):
                continue
            hits.append(
                {
                    "actor": actor,
                    "name": name,
                    "segment": row.get("segment"),
                    "kind": row.get("kind") or "person",
                    "pagerank": row.get("pagerank", 0.0),
                    "reach": row.get("reach", 0),
                }
            )
        hits.sort(key=lambda h: (-(h["pagerank"] or 0.0), h["actor"]))
        return hits[:limit]

    def display_names(self, network: str) -> dict[str, str]:
        """Display names from the ``directory`` table (empty when the table or column is absent)."""
        try:
            rows = self.q("SELECT * FROM directory FINAL WHERE network = %(network)s", {"network": network})
        except Exception:  # noqa: BLE001 - the directory is optional decoration
            return {}
        out = {}
        for r in rows:
            name = r.get("display_name") or r.get("name")
            if r.get("actor") and name:
                out[r["actor"]] = name
        return out

    def actor_history(self, network: str, actor: str, window: str, limit: int) -> list[dict]:
        """The last ``limit`` ActorMetrics snapshots of one actor, oldest first."""
        rows = self.q(
            "SELECT * FROM actor_metrics WHERE network = %(network)s AND `window` = %(window)s "
            "AND actor = %(actor)s ORDER BY computed_at_ms DESC LIMIT %(limit)s",
            {"network": network, "window": window, "actor": actor, "limit": int(limit) * 2},
        )
        return [_clean(r) for r in reversed(_unique(rows, "computed_at_ms")[:limit])]

    def actor_exists(self, network: str, actor: str) -> bool:
        """True if the actor has a snapshot or a flow in the network."""
        rows = self.q(
            "SELECT count() AS n FROM actor_metrics WHERE network = %(network)s AND actor = %(actor)s",
            {"network": network, "actor": actor},
        )
        if rows and int(rows[0]["n"]) > 0:
            return True
        rows = self.q(
            "SELECT count() AS n FROM flows FINAL WHERE network = %(network)s "
            "AND (giver = %(actor)s OR receiver = %(actor)s)",
            {"network": network, "actor": actor},
        )
        return bool(rows) and int(rows[0]["n"]) > 0

    def tunnels(self, network: str, window: str) -> list[dict]:
        """The latest SegmentFlow rows (the value-exchange matrix) of one window."""
        t = self._latest_at("segment_flows", network, window)
        if t is None:
            return []
        rows = self.q(
            "SELECT * FROM segment_flows WHERE network = %(network)s AND `window` = %(window)s "
            "AND computed_at_ms = %(t)s ORDER BY src_segment, dst_segment",
            {"network": network, "window": window, "t": t},
        )
        return [_clean(r) for r in _unique(rows, "src_segment", "dst_segment")]

    def reach_history(self, network: str, window: str, actors: list[str], snapshots: int) -> dict[str, list[dict]]:
        """Reach of ``actors`` over the last ``snapshots`` ticks: actor → [{computed_at, reach}]."""
        if not actors:
            return {}
        ticks = self.q(
            "SELECT DISTINCT computed_at_ms FROM actor_metrics WHERE network = %(network)s "
            "AND `window` = %(window)s ORDER BY computed_at_ms DESC LIMIT %(n)s",
            {"network": network, "window": window, "n": int(snapshots)},
        )
        if not ticks:
            return {}
        since = min(int(t["computed_at_ms"]) for t in ticks)
        rows = self.q(
            "SELECT actor, computed_at, computed_at_ms, reach, potential_reach FROM actor_metrics "
            "WHERE network = %(network)s AND `window` = %(window)s AND computed_at_ms >= %(since)s "
            "AND has(%(actors)s, actor) ORDER BY computed_at_ms",
            {"network": network, "window": window, "since": since, "actors": list(actors)},
        )
        out: dict[str, list[dict]] = {a: [] for a in actors}
        for r in _unique(rows, "actor", "computed_at_ms"):
            out[r["actor"]].append(
                {
                    "computed_at": to_iso(r["computed_at"]),
                    "reach": int(r["reach"]),
                    "potential_reach": int(r["potential_reach"]),
                }
            )
        return out

    def alerts(self, network: str | None, window: str | None, limit: int, kind: str | None = None) -> list[dict]:
        """Newest alerts first, optionally of one network, window and kind."""
        cond: list[str] = []
        params: dict[str, Any] = {"limit": int(limit)}
        if network:
            cond.append("network = %(network)s")
            params["network"] = network
        if window:
            cond.append("`window` = %(window)s")
            params["window"] = window
        if kind:
            cond.append("kind = %(kind)s")
            params["kind"] = kind
        where = ("WHERE " + " AND ".join(cond)) if cond else ""
        rows = self.q(f"SELECT * FROM alerts {where} ORDER BY raised_at_ms DESC LIMIT %(limit)s", params)
        out = [_clean(r) for r in _unique(rows, "network", "raised_at_ms", "kind", "subject", "window")]
        return with_names_by_network(out, self.display_names)  # "name" beside "subject", names in "message"

    # -- flows ----------------------------------------------------------------------------

    def flow_timeline(self, network: str, window: str, bucket_s: int) -> dict:
        """Flow counts per event-time bucket and flow type over the window."""
        start, end = self.window_range(network, window)
        rows = self.q(
            "SELECT intDiv(toUInt32(timestamp), %(b)s) * %(b)s AS bucket, flow_type, count() AS n "
            "FROM flows FINAL WHERE network = %(network)s AND timestamp > %(start)s "
            "AND timestamp <= %(end)s AND flow_type != 'none' GROUP BY bucket, flow_type ORDER BY bucket",
            {"network": network, "b": int(bucket_s), "start": _naive_utc(start), "end": _naive_utc(end)},
        )
        buckets: dict[int, dict] = {}
        for r in rows:
            b = int(r["bucket"])
            slot = buckets.setdefault(b, {"t": to_iso(datetime.fromtimestamp(b, UTC)), **{f: 0 for f in FLOW_TYPES}})
            if r["flow_type"] in FLOW_TYPES:
                slot[r["flow_type"]] = int(r["n"])
        return {
            "start": to_iso(start),
            "end": to_iso(end),
            "bucket_seconds": bucket_s,
            "buckets": [buckets[k] for k in sorted(buckets)],
        }

    def flows(self, network: str, window: str, limit: int | None = None) -> list[dict]:
        """Flow rows of the window (deduplicated with FINAL), oldest first."""
        start, end = self.window_range(network, window)
        lim = "LIMIT %(limit)s" if limit else ""
        rows = self.q(
            "SELECT * FROM flows FINAL WHERE network = %(network)s AND timestamp > %(start)s "
            f"AND timestamp <= %(end)s ORDER BY timestamp, event_id {lim}",
            {"network": network, "start": _naive_utc(start), "end": _naive_utc(end), "limit": limit},
        )
        return [_clean(r) for r in rows]

    def edges(
        self,
        network: str,
        window: str,
        flow_types: list[str] | None = None,
        actor: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Aggregated edges ``giver → receiver`` per flow type in the window, heaviest first.

        ``actor`` limits the result to its ego network: edges touching the actor plus edges
        among its neighbours.
        """
        start, end = self.window_range(network, window)
        params: dict[str, Any] = {
            "network": network,
            "start": _naive_utc(start),
            "end": _naive_utc(end),
            "types": list(flow_types or FLOW_TYPES),
            "actor": actor,
            "limit": limit,
        }
        base = (
            "network = %(network)s AND timestamp > %(start)s AND timestamp <= %(end)s "
            "AND receiver IS NOT NULL AND has(%(types)s, toString(flow_type))"
        )
        ego = ""
        if actor:
            nbrs = (
                f"(SELECT giver FROM flows FINAL WHERE {base} AND receiver = %(actor)s "
                f"UNION ALL SELECT assumeNotNull(receiver) FROM flows FINAL WHERE {base} AND giver = %(actor)s "
                "UNION ALL SELECT %(actor)s)"
            )
            ego = f"AND giver IN {nbrs} AND assumeNotNull(receiver) IN {nbrs}"
        lim = "LIMIT %(limit)s" if limit else ""
        rows = self.q(
            "SELECT giver AS source, assumeNotNull(receiver) AS target, flow_type, count() AS weight, "
            "any(toString(giver_segment)) AS source_segment, any(toString(receiver_segment)) AS target_segment, "
            "any(giver_team) AS source_team, any(receiver_team) AS target_team "
            f"FROM flows FINAL WHERE {base} {ego} "
            f"GROUP BY source, target, flow_type ORDER BY weight DESC, source, target, flow_type {lim}",
            params,
        )
        for r in rows:
            r["weight"] = int(r["weight"])
        return rows

    def roles_exchanges(self, network: str, window: str) -> list[dict]:
        """Flow counts between roles (segment, team) by flow type in the window."""
        start, end = self.window_range(network, window)
        rows = self.q(
            "SELECT toString(giver_segment) AS src_segment, ifNull(giver_team, '') AS src_team, "
            "toString(receiver_segment) AS dst_segment, ifNull(receiver_team, '') AS dst_team, flow_type, "
            "count() AS n, uniqExact(giver, assumeNotNull(receiver)) AS pairs "
            "FROM flows FINAL WHERE network = %(network)s AND timestamp > %(start)s AND timestamp <= %(end)s "
            "AND receiver IS NOT NULL AND flow_type != 'none' "
            "GROUP BY src_segment, src_team, dst_segment, dst_team, flow_type "
            "ORDER BY src_segment, src_team, dst_segment, dst_team, flow_type",
            {"network": network, "start": _naive_utc(start), "end": _naive_utc(end)},
        )
        for r in rows:
            r["n"], r["pairs"] = int(r["n"]), int(r["pairs"])
        return rows

    def top_posts(self, network: str, actor: str, limit: int) -> list[dict]:
        """The actor's posts with the most direct responses (reposts, quotes, replies, reactions)."""
        rows = self.q(
            "SELECT assumeNotNull(parent_id) AS event_id, count() AS responses, "
            "uniqExact(giver) AS actors, min(timestamp) AS first_seen, max(timestamp) AS last_seen "
            "FROM flows FINAL WHERE network = %(network)s AND receiver = %(actor)s AND parent_id IS NOT NULL "
            "GROUP BY event_id ORDER BY responses DESC, event_id LIMIT %(limit)s",
            {"network": network, "actor": actor, "limit": int(limit)},
        )
        return [_clean({**r, "responses": int(r["responses"]), "actors": int(r["actors"])}) for r in rows]

    def cascade(self, network: str, event_id: str, max_depth: int = 8, max_events: int = 5000) -> dict | None:
        """The cascade of a post: every flow descending from ``event_id`` through ``parent_id``, by hop.

        A quote is an item itself (its event id without ``#quote``, as in ``analytics/metrics/reach.py``):
        reposts and quotes of the quote are the next hop. reach = |distinct actors in the cascade|
        − [root author], the k-hop amplification reach of the post with k = ``max_depth``.
        """
        root = self.q(
            "SELECT * FROM flows FINAL WHERE network = %(network)s AND event_id = %(id)s LIMIT 1",
            {"network": network, "id": event_id},
        )
        level = [event_id]
        events: list[dict] = []
        seen = {event_id}
        depth = 0
        author_of: dict[str, str] = {}
        own = _quote_item(root[0]) if root else None
        if own is not None:  # the root is a quote: its own item's amplifications are hop 1
            level.append(own)
            author_of[own] = root[0]["giver"]
        while level and depth < max_depth and len(events) < max_events:
            depth += 1
            rows = self.q(
                "SELECT event_id, assumeNotNull(parent_id) AS parent_id, giver, receiver, kind, flow_type, "
                "timestamp, giver_segment, giver_followers FROM flows FINAL "
                "WHERE network = %(network)s AND has(%(ids)s, ifNull(parent_id, '')) "
                "ORDER BY timestamp, event_id LIMIT %(limit)s",
                {"network": network, "ids": level, "limit": max_events - len(events)},
            )
            level = []
            for r in rows:
                if r["event_id"] in seen:
                    continue
                seen.add(r["event_id"])
                level.append(r["event_id"])
                author_of[r["event_id"]] = r["giver"]
                item = _quote_item(r)
                if item is not None:  # amplifications of the quote name its own item as parent
                    level.append(item)
                    author_of[item] = r["giver"]
                events.append({**_clean(r), "depth": depth})
        if not root and not events:
            return None
        author = root[0]["giver"] if root else (events[0]["receiver"] if events else None)
        author_of[event_id] = author or ""
        for e in events:  # spread edge: parent's author → this actor
            e["from"] = author_of.get(e["parent_id"], "")
        actors = {e["giver"] for e in events} - {author}
        per_depth: dict[int, int] = {}
        for e in events:
            per_depth[e["depth"]] = per_depth.get(e["depth"], 0) + 1
        return {
            "event_id": event_id,
            "network": network,
            "author": author,
            "root": _clean(root[0]) if root else None,
            "events": events,
            "reach": len(actors),
            "depth": max(per_depth) if per_depth else 0,
            "per_depth": [{"depth": d, "events": per_depth[d]} for d in sorted(per_depth)],
            "truncated": len(events) >= max_events or (bool(level) and depth >= max_depth),
        }

    # -- what-if windows (analytics/whatif.py rebuilds a window from the stored flows) ----

    def flows_fingerprint(self, network: str) -> tuple[int, int, int]:
        """``(rows, newest timestamp_ms, largest seq)`` of the network's stored flows: changes when flows arrive."""
        rows = self.q(
            "SELECT count() AS n, max(timestamp_ms) AS t, max(ifNull(seq, 0)) AS s FROM flows WHERE network = %(network)s",
            {"network": network},
        )
        r = rows[0] if rows else {}
        return int(r.get("n") or 0), int(r.get("t") or 0), int(r.get("s") or 0)

    def flows_since(self, network: str, since_ms: int, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Stored flows with ``timestamp_ms ≥ since_ms`` in stream order (``seq``), as the worker's rebuild reads
        them; one page of ``limit`` rows from ``offset`` when given (new flows sort last, so pages stay put)."""
        page = " LIMIT %(offset)s, %(limit)s" if limit else ""  # the form ClickHouse 18.16 reads too
        return self.q(
            "SELECT * FROM flows FINAL WHERE network = %(network)s AND timestamp_ms >= %(since_ms)s "
            "ORDER BY seq, timestamp_ms, event_id" + page,
            {"network": network, "since_ms": int(since_ms), "limit": limit, "offset": int(offset)},
        )

    def identities(self, network: str) -> list[tuple[str, str, str | None]]:
        """Latest ``(actor, segment, team)`` directory rows of the network (re-segmentations)."""
        rows = self.q(
            "SELECT actor, toString(segment) AS segment, team FROM directory FINAL WHERE network = %(network)s",
            {"network": network},
        )
        return [(r["actor"], r["segment"], r["team"]) for r in rows]


def _quote_item(flow: dict) -> str | None:
    """A quote flow's own item (its event id without ``#quote``), None for any other flow."""
    eid = str(flow["event_id"])
    if str(flow.get("kind")) != "quote" or not eid.endswith("#quote"):
        return None
    return eid.removesuffix("#quote")


def _window_order(w: str) -> int:
    try:
        return parse_duration(w)
    except DurationError:
        return 1 << 40
