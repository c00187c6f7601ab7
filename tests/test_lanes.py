"""Lateness per lane (raw partition): one network's threads spread over the partitions, yet the metrics
do not depend on how the workers interleave the lanes."""

from __future__ import annotations

import random

import numpy as np

from tests._metrics_flows import flow
from valuenet.analytics.graph_store import AddStatus, GraphStore
from valuenet.schemas import Flow


def lane_flows(lane: int, n: int, seed: int, *, late_every: int = 0) -> list[Flow]:
    """``n`` flows of one lane in event-time order over 2 h, every ``late_every``-th one 20 min late."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = i * 7200 / n + rng.random()
        if late_every and i % late_every == late_every - 1:
            t -= 1200
        giver, receiver = rng.sample([f"{'wc'[a % 2]}{a // 2}" for a in range(60)], 2)  # paths through brokers
        f = flow(giver, receiver, t=t, event_id=f"l{lane}-{i}")
        f.lane = lane
        out.append(f)
    return out


def interleave(lanes: list[list[Flow]], seed: int) -> list[Flow]:
    """Merge the lanes in a random order that keeps each lane's own order (what a consumer group does)."""
    rng = random.Random(seed)
    pos = [0] * len(lanes)
    out: list[Flow] = []
    while any(p < len(lane) for p, lane in zip(pos, lanes, strict=True)):
        i = rng.choice([k for k, lane in enumerate(lanes) if pos[k] < len(lane)])
        take = rng.randint(1, 200)  # a packed record's worth, or less
        out.extend(lanes[i][pos[i] : pos[i] + take])
        pos[i] += take
    return out


def state(flows: list[Flow]) -> tuple:
    store = GraphStore("n1", windows=["1h", "24h"], allowed_lateness_seconds=300, betweenness_pivots=16)
    statuses = {f.event_id: store.add(f) for f in flows}
    result = store.tick()
    windows = []
    for w in result.windows:
        names, total = w.graph.names, w.graph.total.tocoo()
        edges = {(names[i], names[j]): v for i, j, v in zip(total.row, total.col, total.data, strict=True)}
        metrics = {k: v for k, v in w.network_metrics.items() if k != "tick_seconds"}  # communities, modularity …
        per_actor = {  # sampled betweenness (16 pivots of ~60 actors), PageRank
            a: (round(float(b), 12), round(float(p), 12))
            for a, b, p in zip(names, w.betweenness, w.pagerank, strict=True)
        }
        windows.append((metrics, edges, per_actor))
    return statuses, windows, store.late_events


def test_the_interleaving_of_lanes_changes_no_late_decision_and_no_metric() -> None:
    lanes = [lane_flows(k, 400, seed=k, late_every=25) for k in range(4)]
    reference = state([f for lane in lanes for f in lane])  # lane after lane
    assert reference[2] == 4 * 16  # the planted late events, and only them
    for seed in range(5):
        assert state(interleave(lanes, seed)) == reference


def test_without_lanes_the_same_interleavings_disagree() -> None:
    """The reason for lanes: one network-wide watermark makes lateness depend on the interleaving."""
    lanes = [lane_flows(k, 400, seed=k, late_every=25) for k in range(4)]
    for lane in lanes:
        for f in lane:
            f.lane = None
    counts = {state(interleave(lanes, seed))[2] for seed in range(5)}
    assert len(counts) > 1 and min(counts) > 4 * 16


def test_a_lane_behind_the_others_is_judged_by_its_own_watermark() -> None:
    store = GraphStore("n1", windows=["24h"], allowed_lateness_seconds=300)
    a, b = flow("w1", "c1", t=10_000, event_id="a"), flow("w2", "c2", t=5_000, event_id="b")
    a.lane, b.lane = 0, 1
    assert store.add(a) is AddStatus.applied
    assert store.add(b) is AddStatus.applied  # 5,000 s behind lane 0, first of lane 1
    late = flow("w3", "c3", t=4_000, event_id="c")
    late.lane = 1
    assert store.add(late) is AddStatus.late  # 1,000 s behind its own lane
    assert store.watermark == 10_000 + flow("w1", "c1", t=0).timestamp.timestamp()
    assert np.isclose(store.tick().windows[0].graph.total.sum(), 2)
