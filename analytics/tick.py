"""The metric tick: every window's metrics computed from a picklable snapshot of a GraphStore.

:func:`compute_tick` is a pure function of its :class:`StoreSnapshot` (numpy arrays, no
reference into the store), so it runs in a child process off the event loop; formulas are in
``valuenet.analytics.metrics``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from valuenet.analytics.kinds import kind_codes
from valuenet.analytics.metrics import brokerage, centrality, community, network, reach, strength, tunnels
from valuenet.analytics.metrics.engine import EDGE_LAYERS, KIND_CODE, LAYERS, WindowGraph
from valuenet.analytics.window import WindowSpec, bucket_of

__all__ = ["StoreSnapshot", "TickResult", "WindowResult", "compute_tick", "compute_window"]

_POST = KIND_CODE["post"]


@dataclass
class StoreSnapshot:
    """A picklable copy of everything a tick needs (numpy arrays; no reference into the store)."""

    network: str
    watermark: float | None
    bucket_seconds: int
    windows: list[WindowSpec]
    giver: np.ndarray
    receiver: np.ndarray
    layer: np.ndarray
    kind: np.ndarray
    bucket: np.ndarray
    names: np.ndarray
    segment: np.ndarray
    team: np.ndarray
    team_names: tuple[str, ...]
    followers: np.ndarray
    questions: np.ndarray  # (q, 2): opened at, delay (NaN unanswered)
    ideas: np.ndarray  # (i, 2): given at, delay (NaN not picked up)
    late: dict[int, int]
    # amplifications (repost / quote): flow index (ascending), amplified item hash, quote's own item hash (0: none)
    amp_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    amp_item: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    amp_own: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # per flow: True when its typing confidence was below the store's ``uncertain_below`` (empty: none counted)
    unsure: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    engine: str = "fast"
    betweenness_pivots: int | None = 64
    reach_hops: int = 3
    seed: int = 0
    # Louvain staleness (see GraphStore): previous partition per window as (global actor ids,
    # community ids); windows listed in ``community_reuse`` carry it over instead of recomputing.
    community_prev: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    community_reuse: frozenset[str] = frozenset()
    # Burt and Gould–Fernandez follow the same plan: (global ids, constraint, effective size, roles)
    brokerage_prev: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    # future events (dead-lettered upstream) per watermark bucket; None: counted before any watermark
    future: dict[int | None, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # non-person actors → kind (analytics/kinds.py)


def future_in_window(future: dict[int | None, int], first: int | None) -> int:
    """Future events counted while the watermark was in a window starting at bucket ``first`` (None: no window yet)."""
    return sum(c for b, c in future.items() if b is None or first is None or b >= first)


@dataclass
class WindowResult:
    """All metrics of one window; per-actor arrays are aligned with ``graph.names``."""

    window: str
    start: float
    end: float
    graph: WindowGraph
    strength: dict[str, tuple[np.ndarray, np.ndarray]]
    pagerank: np.ndarray
    pagerank_reputation: np.ndarray
    betweenness: np.ndarray
    betweenness_pivots: int | None
    betweenness_error: float
    boundary_spanning: np.ndarray
    constraint: np.ndarray
    effective_size: np.ndarray
    broker_roles: np.ndarray  # (n, 5): brokered pairs per Gould–Fernandez role (brokerage.BROKER_ROLES)
    brokerage: np.ndarray  # gatekeeper + representative + liaison: the "broker" ranking
    community: np.ndarray
    give_get_balance: np.ndarray
    reach: np.ndarray
    potential_reach: np.ndarray
    amplification_rate: np.ndarray
    engagement_rate: np.ndarray
    tunnel_rows: list[tunnels.Tunnel]
    network_metrics: dict[str, float | int | None]
    readiness_terms: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    actor_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    community_fresh: bool = True  # False: partition (and Burt / Gould–Fernandez) carried over from an earlier tick


@dataclass
class TickResult:
    """One tick: every window of one network, computed at ``computed_at`` (wall clock)."""

    network: str
    computed_at: datetime
    watermark: float | None
    windows: list[WindowResult]
    tick_seconds: float


def compute_tick(snap: StoreSnapshot, now_wall: datetime | None = None) -> TickResult:
    """Every window's metrics from a snapshot; pure function of the snapshot (picklable in and out)."""
    started = time.perf_counter()
    computed_at = now_wall or datetime.now(UTC)
    results = []
    if snap.watermark is not None:
        wb = bucket_of(snap.watermark, snap.bucket_seconds)
        for spec in snap.windows:
            results.append(compute_window(snap, spec, wb))
    elapsed = time.perf_counter() - started
    for r in results:
        r.network_metrics["tick_seconds"] = elapsed
    return TickResult(snap.network, computed_at, snap.watermark, results, elapsed)


def _carry_brokerage(
    prev: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], nodes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The previous tick's constraint, effective size and roles of ``nodes`` (NaN, NaN, 0 for newcomers)."""
    ids, constraint, effective, roles = prev
    if len(ids) == 0:
        return np.full(len(nodes), np.nan), np.full(len(nodes), np.nan), np.zeros((len(nodes), 5), dtype=np.int64)
    pos = np.minimum(np.searchsorted(ids, nodes), len(ids) - 1)
    hit = ids[pos] == nodes
    return (
        np.where(hit, constraint[pos], np.nan),
        np.where(hit, effective[pos], np.nan),
        np.where(hit[:, None], roles[pos], 0),
    )


def compute_window(snap: StoreSnapshot, spec: WindowSpec, watermark_bucket: int) -> WindowResult:
    """All metrics of window ``spec`` at ``watermark_bucket`` (formulas in ``valuenet.analytics.metrics``)."""
    t0 = time.perf_counter()
    start, end = spec.bounds(watermark_bucket, snap.bucket_seconds)
    first = spec.first_bucket(watermark_bucket)
    inside = snap.bucket >= first
    giver, receiver, layer, kind = snap.giver[inside], snap.receiver[inside], snap.layer[inside], snap.kind[inside]
    edge = (receiver >= 0) & (receiver != giver) & (layer < 3)
    giver_e, receiver_e = giver[edge], receiver[edge]
    present = np.zeros(len(snap.names) + 1, dtype=bool)  # O(actors) remap instead of a sort
    present[giver_e] = True
    present[receiver_e] = True
    present[-1] = False
    nodes = np.flatnonzero(present)
    remap = np.cumsum(present) - 1  # global id → window id (valid where present)
    src = remap[giver_e]
    dst = remap[receiver_e]
    post_givers = giver[kind == _POST]
    ok = present[post_givers]
    posts = np.bincount(remap[post_givers[ok]], minlength=len(nodes))
    g = WindowGraph.from_edges(
        len(nodes),
        src,
        dst,
        layer[edge].astype(np.int64),
        kind[edge],
        names=snap.names[nodes],
        segment=snap.segment[nodes],
        team=snap.team[nodes],
        followers=snap.followers[nodes],
        posts=posts,
        team_names=snap.team_names,
    )
    g.kind = kind_codes(g.names, snap.kinds)
    eng = snap.engine
    pivots = snap.betweenness_pivots
    pr = centrality.pagerank(g, engine=eng)
    pr_rep = centrality.pagerank(g, layer="reputation", engine=eng)
    btw = centrality.betweenness(g, pivots=pivots, seed=snap.seed, engine=eng)
    prev = snap.community_prev.get(spec.name)
    fresh = spec.name not in snap.community_reuse or prev is None
    if prev is None or fresh:
        membership, q = community.louvain(g, seed=snap.seed, engine=eng)
    else:
        ids, labels = prev
        pos = np.searchsorted(ids, nodes)
        pos = np.minimum(pos, max(len(ids) - 1, 0))
        hit = (ids[pos] == nodes) if len(ids) else np.zeros(len(nodes), dtype=bool)
        membership, q = community.carry_over(g, np.where(hit, labels[pos] if len(ids) else -1, -1))
    amp = np.flatnonzero(inside[snap.amp_index] & (snap.layer[snap.amp_index] < 3))  # rows of the amp_* arrays
    flow_at = snap.amp_index[amp]
    reach_all, potential_all = reach.cascade_reach(
        snap.giver[flow_at],
        snap.receiver[flow_at],
        snap.amp_item[amp],
        snap.amp_own[amp],
        snap.followers,
        hops=snap.reach_hops,
        engine=eng,
    )
    reach_k, potential = reach_all[nodes], potential_all[nodes]
    bprev = snap.brokerage_prev.get(spec.name)
    if fresh or bprev is None:
        burt_c, burt_es = brokerage.constraint_effective_size(g, engine=eng)
        roles = brokerage.gould_fernandez(g, engine=eng)
    else:  # carried over with the partition: actors keep their values, newcomers broker nothing yet
        burt_c, burt_es, roles = _carry_brokerage(bprev, nodes)
    counts = np.bincount(layer, minlength=len(LAYERS))
    unsure = int(np.count_nonzero(snap.unsure[inside])) if len(snap.unsure) == len(inside) else 0
    rates = network.flows_per_second({name: int(counts[i]) for i, name in enumerate(EDGE_LAYERS)}, spec.seconds)
    q_in = snap.questions[(snap.questions[:, 0] >= start) & (snap.questions[:, 0] < end)]
    i_in = snap.ideas[(snap.ideas[:, 0] >= start) & (snap.ideas[:, 0] < end)]
    resp_med, resp_p90 = network.responsiveness(q_in[:, 1])
    pick_share, pick_med = network.idea_pickup(i_in[:, 1])
    readiness, terms = network.readiness_index(g)
    net: dict[str, float | int | None] = {
        "actors": g.n,
        "edges": network.edges(g),
        "density": network.density(g),
        "reciprocity": network.reciprocity(g),
        "modularity": q,
        "ei_index": brokerage.ei_index(g),
        "communities": int(membership.max() + 1) if g.n else 0,
        "flows_per_s_knowledge": rates["knowledge"],
        "flows_per_s_idea": rates["idea"],
        "flows_per_s_reputation": rates["reputation"],
        "responsiveness_median_s": resp_med,
        "responsiveness_p90_s": resp_p90,
        "idea_pickup_share": pick_share,
        "idea_pickup_median_s": pick_med,
        "questions": len(q_in),
        "questions_answered": int(np.count_nonzero(~np.isnan(q_in[:, 1]))),
        "ideas": len(i_in),
        "ideas_picked_up": int(np.count_nonzero(~np.isnan(i_in[:, 1]))),
        "readiness_index": readiness,
        "late_events": int(sum(c for b, c in snap.late.items() if b is not None and b >= first)),
        "uncertain_flows": unsure,
        "uncertain_share": unsure / len(layer) if len(layer) else None,
        "future_events": future_in_window(snap.future, first),
        "tick_seconds": 0.0,
    }
    return WindowResult(
        window=spec.name,
        start=start,
        end=end,
        graph=g,
        strength={name: strength.strength(g, name) for name in EDGE_LAYERS},
        pagerank=pr,
        pagerank_reputation=pr_rep,
        betweenness=btw,
        betweenness_pivots=None if pivots is None or pivots >= g.n else pivots,
        betweenness_error=centrality.betweenness_error_bound(g.n, pivots),
        boundary_spanning=brokerage.boundary_spanning(g),
        constraint=burt_c,
        effective_size=burt_es,
        broker_roles=roles,
        brokerage=brokerage.brokerage_score(roles),
        community=membership,
        give_get_balance=strength.give_get_balance(g),
        reach=reach_k,
        potential_reach=potential,
        amplification_rate=reach.amplification_rate(g),
        engagement_rate=reach.engagement_rate(g),
        tunnel_rows=tunnels.tunnels(g),
        network_metrics=net,
        readiness_terms=terms,
        seconds=time.perf_counter() - t0,
        actor_ids=nodes.astype(np.int64),
        community_fresh=fresh,
    )
