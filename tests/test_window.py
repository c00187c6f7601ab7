"""Event-time windows, late policy, dedupe, sliding expiry, live counters and rebuild of the graph store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from tests._metrics_flows import ASKS, T0, by_name, flow, random_flows
from valuenet.analytics.graph_store import AddStatus, GraphStore
from valuenet.analytics.window import WindowSpec, bucket_of, is_late
from valuenet.schemas.timeunits import DurationError, parse_duration, to_epoch

BASE = T0.timestamp()


def test_parse_duration_units() -> None:
    assert [parse_duration(w) for w in ("90s", "15m", "1h", "24h", "7d", "1w", " 2 h ")] == [
        90,
        900,
        3600,
        86400,
        604800,
        604800,
        7200,
    ]
    for bad in ("h1", "0h", "1y", "", None):
        with pytest.raises(DurationError, match="duration"):
            parse_duration(bad)  # type: ignore[arg-type]


def test_to_epoch_refuses_naive_datetimes() -> None:
    assert to_epoch(datetime(2024, 1, 1, tzinfo=UTC)) == 1704067200.0
    assert to_epoch(datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == 1704067200.0
    assert to_epoch(1704067200) == 1704067200.0
    with pytest.raises(ValueError, match="must carry a timezone"):
        to_epoch(datetime(2024, 1, 1))


def test_window_bounds_follow_watermark_bucket() -> None:
    spec = WindowSpec.parse("1h", 60)
    assert spec.buckets == 60
    wb = bucket_of(1_000_030.0, 60)  # bucket 16667 → [16667*60 - 59*60, 16668*60)
    assert spec.bounds(wb, 60) == ((wb - 59) * 60, (wb + 1) * 60)
    assert is_late(100.0, 500.0, 300) and not is_late(200.0, 500.0, 300) and not is_late(0.0, None, 300)


def test_late_events_counted_not_applied() -> None:
    store = GraphStore("n1", windows=["1h"], allowed_lateness_seconds=300)
    assert store.add(flow("w1", "c1", t=1000)) is AddStatus.applied
    assert store.add(flow("w2", "c1", t=800)) is AddStatus.applied  # 200 s behind: allowed
    late = flow("w3", "c1", t=600)  # 400 s behind the watermark
    assert store.add(late) is AddStatus.late
    assert store.add(late) is AddStatus.duplicate  # a replayed late event is not counted twice
    w = store.tick().windows[0]
    assert set(w.graph.names.tolist()) == {"w1", "w2", "c1"}
    assert w.network_metrics["late_events"] == 1 and store.late_events == 1


def test_replay_does_not_double_count() -> None:
    flows = random_flows(20, 200, span=600)
    store = GraphStore("n1", windows=["1h"], allowed_lateness_seconds=3600)
    store.add_many(flows)
    first = store.tick().windows[0]
    assert store.add_many(flows) == {"applied": 0, "duplicate": 200, "late": 0}
    again = store.tick().windows[0]
    assert np.array_equal(first.graph.total.toarray(), again.graph.total.toarray())


def test_edges_expire_as_the_window_slides() -> None:
    store = GraphStore("n1", windows=["10m", "1h"], bucket_seconds=60, allowed_lateness_seconds=0)
    store.add(flow("w1", "c1", t=0))
    store.add(flow("w2", "c2", t=30 * 60))
    short, long_ = store.tick().windows
    assert set(short.graph.names.tolist()) == {"w2", "c2"}
    assert set(long_.graph.names.tolist()) == {"w1", "c1", "w2", "c2"}
    store.expire(BASE + 2 * 3600)  # idle: watermark moves on, both windows empty
    assert [w.graph.n for w in store.tick().windows] == [0, 0]
    assert store.live_strength("w2", "1h")["out_knowledge"] == 0.0


def test_live_counters_match_tick() -> None:
    flows = sorted(random_flows(30, 800, span=4 * 3600, seed=5), key=lambda f: f.timestamp)
    store = GraphStore("n1", windows=["1h", "24h"])
    store.add_many(flows)
    result = store.tick()
    for w in result.windows:
        counted = {
            k: sum(1 for f in flows if w.start <= f.timestamp.timestamp() < w.end and f.flow_type.value == k)
            for k in ("knowledge", "idea", "reputation")
        }
        live = store.live_flow_rates(w.window)
        spec_seconds = parse_duration(w.window)
        for k, c in counted.items():
            assert live[k] == pytest.approx(c / spec_seconds)
            assert w.network_metrics[f"flows_per_s_{k}"] == pytest.approx(c / spec_seconds)
        out_k, in_k = w.strength["knowledge"]
        for actor, value in by_name(w, out_k).items():
            assert store.live_strength(actor, w.window)["out_knowledge"] == value
        for actor, value in by_name(w, in_k).items():
            assert store.live_strength(actor, w.window)["in_knowledge"] == value


def test_rebuild_gives_the_live_state() -> None:
    flows = random_flows(40, 1500, span=3 * 3600, seed=9)  # unsorted: some late, some allowed-late
    flows += flows[:50]  # redeliveries
    live = GraphStore("n1", allowed_lateness_seconds=900)
    outcome = live.add_many(flows)
    assert outcome["late"] > 0 and outcome["duplicate"] >= 50
    rebuilt = GraphStore("n1", allowed_lateness_seconds=900)
    assert rebuilt.rebuild(flows) == outcome
    a, b = live.tick(), rebuilt.tick()
    for wa, wb in zip(a.windows, b.windows):
        assert wa.graph.names.tolist() == wb.graph.names.tolist()
        assert np.array_equal(wa.graph.total.toarray(), wb.graph.total.toarray())
        assert np.allclose(wa.pagerank, wb.pagerank)
        assert {k: v for k, v in wa.network_metrics.items() if k != "tick_seconds"} == {
            k: v for k, v in wb.network_metrics.items() if k != "tick_seconds"
        }


def test_no_receiver_and_none_type_add_no_edge_but_count() -> None:
    store = GraphStore("n1", windows=["1h"])
    store.add(flow("c1", None, t=0, kind="post", flow_type="knowledge", reason=ASKS))
    store.add(flow("w1", "c1", t=10, flow_type="none"))
    store.add(flow("w1", "w1", t=20, flow_type="knowledge"))
    store.add(flow("w1", "c1", t=30, flow_type="knowledge"))
    w = store.tick().windows[0]
    assert w.graph.total.nnz == 1 and w.graph.total.sum() == 1
    assert store.live_flow_rates("1h")["knowledge"] == pytest.approx(3 / 3600)
    assert w.network_metrics["flows_per_s_knowledge"] == pytest.approx(3 / 3600)
    assert by_name(w, w.graph.posts)["c1"] == 1


def _direct_live(applied: list, late_at: list[float], start: float, end: float) -> tuple[dict, dict, int]:
    """Flows by type, by (giver segment, receiver segment, type) and late events, counted from scratch."""
    flows: dict[str, int] = {}
    pairs: dict[tuple, dict[str, int]] = {}
    for f in applied:
        if start <= f.timestamp.timestamp() < end:
            t = f.flow_type.value
            flows[t] = flows.get(t, 0) + 1
            key = (f.giver_segment.value, None if f.receiver is None else f.receiver_segment.value)
            pairs.setdefault(key, {})[t] = pairs.setdefault(key, {}).get(t, 0) + 1
    return flows, pairs, sum(1 for t in late_at if t >= start)


@pytest.mark.parametrize("lateness", [0, 900, 7200])
def test_live_window_counters_after_every_event_match_a_direct_count(lateness: float) -> None:
    """Running counters (added per flow, subtracted as buckets slide out) equal a recount, event by event."""
    flows = random_flows(30, 1200, span=5 * 3600, seed=11)  # unsorted: late and allowed-late flows
    flows += [
        flow("c1", None, t=4 * 3600, kind="post", reason=ASKS),
        flow("w2", "c3", t=4 * 3600 + 5, flow_type="none"),
    ]
    flows += flows[:40]  # redeliveries
    store = GraphStore("n1", windows=["10m", "1h", "3h"], allowed_lateness_seconds=lateness)
    applied, late_at = [], []
    for i, f in enumerate(flows):
        status = store.add(f)
        if status is AddStatus.applied:
            applied.append(f)
        elif status is AddStatus.late:
            late_at.append(bucket_of(store.watermark, 60) * 60)  # counted in the watermark's bucket
        if i % 97 and i != len(flows) - 1:
            continue
        for spec in store.windows:
            live = store.live_window(spec.name)
            flows_n, pairs, late = _direct_live(applied, late_at, live.start, live.end)
            assert {t: n for t, n in live.flows.items() if n} == flows_n
            assert {k: {t: n for t, n in v.items() if n} for k, v in live.tunnels.items()} == pairs
            assert live.late_events == late
    assert late_at or lateness > 0
    result = store.tick()  # the tick agrees on the same window
    for w in result.windows:
        live = store.live_window(w.window)
        assert (live.start, live.end) == (w.start, w.end)
        assert live.late_events == w.network_metrics["late_events"]
        for t in ("knowledge", "idea", "reputation"):
            assert live.flows_per_s[t] == pytest.approx(w.network_metrics[f"flows_per_s_{t}"])


def test_live_window_empties_when_the_watermark_moves_on() -> None:
    store = GraphStore("n1", windows=["10m", "1h"], allowed_lateness_seconds=0)
    store.add(flow("w1", "c1", t=0))
    store.add(flow("w1", "c1", t=1800, flow_type="idea"))
    assert store.live_window("10m").flows["knowledge"] == 0 and store.live_window("1h").flows["knowledge"] == 1
    store.expire(BASE + 4000)
    assert store.live_window("1h").flows == {"knowledge": 0, "idea": 1, "reputation": 0, "none": 0}
    store.expire(BASE + 10 * 3600)
    assert sum(store.live_window("1h").flows.values()) == 0 and store._counts == {}


def test_question_and_idea_outcomes_stay_exact_through_expiry_and_compaction() -> None:
    """Per-event outcome rows (compacted as threads expire) give the delays of a direct count per thread."""
    import random

    rng = random.Random(7)
    store = GraphStore("n1", windows=["1h"], allowed_lateness_seconds=0)
    flows, expected = [], {}  # thread → (question time, first answer delay or None, idea time, idea delay or None)
    for k in range(9000):  # one thread every 2 minutes for 12.5 days: most threads expire on the way
        t0 = k * 120.0
        key = f"t{k}"
        flows.append(flow("c1", None, t=t0, kind="post", thread=key, event_id=f"q{k}", reason=ASKS))
        flows.append(flow("c2", "w1", t=t0 + 1, flow_type="idea", kind="reply", thread=key, event_id=f"i{k}"))
        answers = sorted(rng.uniform(-30, 90) for _ in range(rng.randint(0, 2)))  # some before the question
        for j, a in enumerate(answers):
            flows.append(flow("w1", "c1", t=t0 + 2 + a, kind="reply", thread=key, event_id=f"a{k}.{j}"))
        after_q = [2 + a for a in answers if 2 + a >= 0]
        after_i = [2 + a - 1 for a in answers if 2 + a >= 1]
        expected[key] = (t0, min(after_q) if after_q else None, t0 + 1, min(after_i) if after_i else None)
    flows.sort(key=lambda f: f.timestamp)
    store.add_many(flows)
    assert len(store._questions.start) < 9000  # rows of expired threads were compacted away
    w = store.tick().windows[0]
    q = [v for v in expected.values() if w.start <= BASE + v[0] < w.end]
    i = [v for v in expected.values() if w.start <= BASE + v[2] < w.end]
    q_delays = [d for _, d, _, _ in q if d is not None]
    i_delays = [d for _, _, _, d in i if d is not None]
    assert w.network_metrics["responsiveness_median_s"] == pytest.approx(float(np.median(q_delays)))
    assert w.network_metrics["responsiveness_p90_s"] == pytest.approx(float(np.percentile(q_delays, 90)))
    assert w.network_metrics["idea_pickup_share"] == pytest.approx(len(i_delays) / len(i))
    assert w.network_metrics["idea_pickup_median_s"] == pytest.approx(float(np.median(i_delays)))
    counts = [w.network_metrics[k] for k in ("questions", "questions_answered", "ideas", "ideas_picked_up")]
    assert counts == [len(q), len(q_delays), len(i), len(i_delays)]


def test_set_identity_resegments_an_actor_until_a_newer_flow() -> None:
    store = GraphStore("n1", windows=["1h"])
    store.add(flow("c1", "w1", t=0))
    store.add(flow("w1", "c1", t=60))
    w = store.tick().windows[0]
    assert {(t.src, t.dst) for t in w.tunnel_rows} == {("customer", "workforce"), ("workforce", "customer")}
    assert store.set_identity("c1", "partner", "alliances") and not store.set_identity("c1", "partner", "alliances")
    assert not store.set_identity("nobody", "partner", None)
    w = store.tick().windows[0]  # no new flow: the tunnels moved with the directory
    assert {(t.src, t.dst) for t in w.tunnel_rows} == {("partner", "workforce"), ("workforce", "partner")}
    store.add(flow("c1", "w1", t=30, event_id="older"))  # event time before the change: keeps partner
    assert {(t.src, t.dst) for t in store.tick().windows[0].tunnel_rows} >= {("partner", "workforce")}
    store.add(flow("c1", "w1", t=120))  # a newer flow says customer again
    assert ("customer", "workforce") in {(t.src, t.dst) for t in store.tick().windows[0].tunnel_rows}
