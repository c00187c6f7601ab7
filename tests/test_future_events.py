"""future_events: events the stage dead-letters as dated in the future are counted per window, never move the watermark."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests._metrics_flows import T0, flow
from tests.pipeline_harness import Pipeline, envelope, git_records, settle
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.live import LiveGraphs
from valuenet.config import Settings
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas.flow import FlowPayload, FlowRecord

BASE = T0.timestamp()


def _counts(store: GraphStore) -> dict[str, tuple[int, int]]:
    """``{window: (live future_events, tick future_events)}``."""
    ticked = {w.window: w.network_metrics["future_events"] for w in store.tick().windows}
    return {w.name: (store.live_window(w.name).future_events, ticked[w.name]) for w in store.windows}


def test_graph_store_counts_future_events_per_window_and_never_moves_the_watermark() -> None:
    store = GraphStore("n1", windows=["1h", "1d"], bucket_seconds=60)
    store.add_future(1)  # before any flow: no watermark yet, attributed to the first watermark bucket
    assert store.watermark is None and store.future_events == 1
    store.add(flow("w1", "c1", t=1000))
    assert store.watermark == BASE + 1000
    store.add_future(2)
    store.add_future(0)
    assert store.watermark == BASE + 1000  # counted, not applied: the watermark stays
    assert _counts(store) == {"1h": (3, 3), "1d": (3, 3)}
    store.add(flow("w2", "c1", t=1000 + 7200))  # two hours on: the 1h window no longer holds those buckets
    assert store.watermark == BASE + 8200
    assert _counts(store) == {"1h": (0, 0), "1d": (3, 3)}
    store.add_future(1)
    assert _counts(store) == {"1h": (1, 1), "1d": (4, 4)}
    assert store.future_events == 4 and store.late_events == 0 and store.watermark == BASE + 8200
    store.add(flow("w3", "c1", t=8200 + 2 * 86400))  # every window has moved past them
    assert _counts(store) == {"1h": (0, 0), "1d": (0, 0)}


def test_a_future_dated_envelope_through_the_real_stage_counts_once_and_keeps_the_watermark() -> None:
    stage = build_stage(Settings())
    records = git_records(40)
    assert records[0]["committer"] == records[0]["author"]  # one event: its commit (a self sign-off adds none)
    future = {**records[0], "committed_at": "2100-01-01T00:00:00+00:00", "authored_at": "2100-01-01T00:00:00+00:00"}
    batch = [envelope("git", "n", r) for r in records[1:20]] + [envelope("git", "n", future)]
    batch += [envelope("git", "n", r) for r in records[20:]]
    before = Counter(stage.future_events)
    result = stage.process(batch)
    per_batch = stage.future_events - before
    assert per_batch == Counter({"n": 1})
    assert [d.field for d in result.dead] == ["timestamp"] and "future event" in result.dead[0].reason
    # on the wire as the normalise agent sends it, decoded as the graph agent does
    wire = FlowPayload.validate_json(FlowRecord(flows=[], future_events=per_batch["n"]).model_dump_json())
    assert isinstance(wire, FlowRecord) and wire.flows == [] and wire.future_events == 1
    assert isinstance(FlowPayload.validate_json(b"[]"), list)  # the array form still decodes
    for bad in (b"{}", b'{"flows": [], "future_events": -1}', b'{"flows": [], "a": 1}'):
        with pytest.raises(ValueError):
            FlowPayload.validate_json(bad)

    live = LiveGraphs(Settings(windows=("3650d",)))
    live.add_many(result.flows)
    live.add_future({"n": wire.future_events})

    async def run() -> list:
        with ThreadPoolExecutor(1) as pool:
            return await live.tick(pool)

    (out,) = asyncio.run(run())
    newest = max(f.timestamp for f in result.flows)
    assert newest.year < 2100
    row = out.network[0]
    assert row.future_events == 1 and row.late_events == 0
    assert row.watermark_ms == int(newest.timestamp() * 1000)  # the 2100 event did not move it
    (event,) = live.live_events({"n"})
    assert event.live is not None and [r.future_events for r in event.live] == [1]
    assert event.live[0].watermark_ms == int(newest.timestamp() * 1000)


def _future_batch(network: str) -> list[bytes]:
    """40 git envelopes with one single-event commit re-dated to 2100 in the middle."""
    records = git_records(40)
    assert records[0]["committer"] == records[0]["author"]  # one event: its commit (a self sign-off adds none)
    future = {**records[0], "committed_at": "2100-01-01T00:00:00+00:00", "authored_at": "2100-01-01T00:00:00+00:00"}
    return (
        [envelope("git", network, r) for r in records[1:20]]
        + [envelope("git", network, future)]
        + [envelope("git", network, r) for r in records[20:]]
    )


@pytest.mark.kafka
def test_future_events_through_the_real_worker_reach_network_metrics_and_the_live_record(
    kafka_bootstrap: str, clickhouse_url: str, tmp_path: Path
) -> None:
    network = "future-events"
    batch = _future_batch(network)
    flows = build_stage(Settings()).process(batch).flows  # what the worker's stage makes of the batch
    newest_ms = int(max(f.timestamp for f in flows).timestamp() * 1000)
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    try:
        p.start_worker()
        p.produce(batch, network)
        dead = p.consume("dlq", expect=1, timeout=120)
        assert [(d["field"], "future event" in d["reason"]) for d in dead] == [("timestamp", True)]
        settle(p, network, len(flows))
        row = p.store.query(
            "SELECT future_events, late_events, watermark_ms FROM network_metrics WHERE network = %(n)s "
            "ORDER BY computed_at_ms DESC LIMIT 1",
            {"n": network},
        )[0]
        assert (int(row["future_events"]), int(row["late_events"]), int(row["watermark_ms"])) == (1, 0, newest_ms)
        records = p.consume("metrics", expect=10**6, timeout=8)
        live = [r for r in records if r.get("type") == "live" and r.get("network") == network]
        assert live and max(r["live"][0]["future_events"] for r in live) == 1
        assert max(r["live"][0]["watermark_ms"] for r in live) == newest_ms  # the 2100 event never moved it
        assert all(w.poll() is None for w in p.workers)
    finally:
        p.close()
