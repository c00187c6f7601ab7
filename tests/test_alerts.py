"""Structural-change alerts over consecutive ticks, and the planted broker coming out on top."""

from __future__ import annotations

import random

import numpy as np

from tests._metrics_flows import ASKS, T0, flow
from valuenet.analytics.alerts import AlertDetector, AlertThresholds
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.snapshot import actor_rows, metrics_event, network_rows, tunnel_rows


def _two_camps(rng: random.Random, t0: float, *, bridge: bool, n: int = 300) -> list:
    """Workforce camp w0..w9 and customer camp c0..c9, chatty inside; w_broker links them when ``bridge``."""
    out = []
    for _ in range(n):
        camp = rng.choice("wc")
        a, b = rng.sample(range(10), 2)
        out.append(
            flow(
                f"{camp}{a}",
                f"{camp}{b}",
                t=t0 + rng.uniform(0, 600),
                giver_team="t1" if camp == "w" else None,
                receiver_team="t1" if camp == "w" else None,
            )
        )
    if bridge:
        for k in range(20):
            out.append(flow("w_broker", f"c{k % 10}", t=t0 + rng.uniform(0, 600), giver_team="t2"))
            out.append(flow(f"w{k % 10}", "w_broker", t=t0 + rng.uniform(0, 600), giver_team="t1", receiver_team="t2"))
    return out


def _store() -> GraphStore:
    return GraphStore("n1", windows=["10m"], allowed_lateness_seconds=600, betweenness_pivots=None)


def test_planted_broker_tops_betweenness_and_spanning() -> None:
    store = _store()
    store.add_many(sorted(_two_camps(random.Random(1), 0, bridge=True), key=lambda f: f.timestamp))
    w = store.tick().windows[0]
    names = w.graph.names.tolist()
    assert names[int(np.argmax(w.betweenness))] == "w_broker"
    assert names[int(np.argmax(w.boundary_spanning))] == "w_broker"
    assert names[int(np.argmax(w.brokerage))] == "w_broker"


def test_broker_lost_and_silo_forming() -> None:
    rng = random.Random(2)
    store, detector = _store(), AlertDetector(AlertThresholds(silo_ei_drop=0.05, baseline_weight=0.5))
    store.add_many(sorted(_two_camps(rng, 0, bridge=True), key=lambda f: f.timestamp))
    assert detector.check(store.tick()) == []  # first tick sets baselines
    store.add_many(sorted(_two_camps(rng, 1200, bridge=False), key=lambda f: f.timestamp))  # the 10m window slid
    alerts = detector.check(store.tick())
    kinds = {(a.kind, a.subject) for a in alerts}
    assert ("broker_lost", "w_broker") in kinds
    assert ("silo_forming", "n1") in kinds
    silo = next(a for a in alerts if a.kind == "silo_forming")
    assert silo.value < silo.threshold
    assert all(a.kind != "broker_lost" for a in detector.check(store.tick()))  # raised once, not every tick


def test_reach_spike() -> None:
    store, detector = _store(), AlertDetector(AlertThresholds(reach_min=5, reach_spike_ratio=3.0))
    store.add(flow("c1", "i_star", t=0, kind="repost", flow_type="reputation"))
    assert detector.check(store.tick()) == []
    store.add_many(flow(f"c{k}", "i_star", t=30 + k, kind="repost", flow_type="reputation") for k in range(2, 12))
    alerts = detector.check(store.tick())
    assert [(a.kind, a.subject, a.value) for a in alerts] == [("reach_spike", "i_star", 11.0)]
    assert detector.check(store.tick()) == []  # raised once while it holds


def test_responsiveness_degraded() -> None:
    store = GraphStore("n1", windows=["1h"], allowed_lateness_seconds=3600)
    detector = AlertDetector(AlertThresholds(responsiveness_ratio=1.5, responsiveness_min_s=60))
    for k in range(5):
        store.add(flow(f"c{k}", None, t=k, kind="post", event_id=f"q{k}", reason=ASKS))
        store.add(flow("w1", f"c{k}", t=k + 60, kind="reply", thread=f"q{k}"))
    assert detector.check(store.tick()) == []
    for k in range(5, 30):
        store.add(flow(f"c{k}", None, t=100 + k, kind="post", event_id=f"q{k}", reason=ASKS))
        store.add(flow("w1", f"c{k}", t=100 + k + 900, kind="reply", thread=f"q{k}"))
    alerts = detector.check(store.tick())
    assert [a.kind for a in alerts] == ["responsiveness_degraded"]
    assert alerts[0].value == 900.0 and alerts[0].threshold == 90.0


def test_snapshot_rows_carry_window_and_time() -> None:
    store = _store()
    store.add_many(sorted(_two_camps(random.Random(3), 0, bridge=True), key=lambda f: f.timestamp))
    result = store.tick()
    w = result.windows[0]
    rows = actor_rows(result)
    assert len(rows) == w.graph.n and {r.window for r in rows} == {"10m"}
    assert all(r.computed_at == result.computed_at for r in rows)
    broker = next(r for r in rows if r.actor == "w_broker")
    assert broker.segment == "workforce" and broker.out_knowledge == 20 and broker.in_knowledge == 20
    net = network_rows(result)[0]
    assert net.actors == w.graph.n and net.window_end.timestamp() == w.end and net.window_end >= T0
    assert sum(t.knowledge for t in tunnel_rows(result)) == int(w.graph.total.sum())
    event = metrics_event(result, top=5)
    assert event.type == "tick" and 5 <= len(event.actors) <= 10
