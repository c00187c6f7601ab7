"""A real store for the report tests: the synthetic company through the real stage, ticked like the worker.

``SynthNetwork`` (seed 7, 120 actors, 4,000 events ≈ 22 h of event time) goes through the
processors stage (parsers, identity directory, classifier); the flows and directory rows are
written to the store, and a GraphStore with the 12 h window ticks every 2 h of event time, writing
each tick's snapshot rows and the alerts of the detectors, as the worker does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from valuenet.analytics.alerts import AlertDetector
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.keyperson import KeyPersonAlerts
from valuenet.analytics.snapshot import tick_rows
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork, write_dataset
from valuenet.pipeline.wiring import build_stage

NETWORK = "synth"
WINDOW = "12h"


def fill_store(store, out: Path, *, seed: int = 7, events: int = 4000) -> dict:
    """Write flows, directory, snapshots and alerts of the synthetic network; returns the ground truth."""
    truth = write_dataset(SynthNetwork(seed=seed, actors=120, rate=0.05, network=NETWORK), out, events)
    stage = build_stage(Settings(directory_path=out / "directory.csv"))
    result = stage.process([line.encode() for line in (out / "events.jsonl").read_text().splitlines()])
    assert result.dead == []
    flows = sorted(result.flows, key=lambda f: f.timestamp)
    store.write_models("flows", flows)
    if result.directory:
        store.write("directory", result.directory)
    graph = GraphStore(NETWORK, windows=[WINDOW])
    detectors = (AlertDetector(), KeyPersonAlerts())
    step = timedelta(hours=2)
    edge = flows[0].timestamp + step
    i = 0
    now = datetime.now(UTC) - timedelta(minutes=30)
    tick = 0
    while i < len(flows):
        batch = []
        while i < len(flows) and flows[i].timestamp <= edge:
            batch.append(flows[i])
            i += 1
        graph.add_many(batch)
        edge += step
        if graph.watermark is None:
            continue
        tick += 1
        res = graph.tick(now_wall=now + timedelta(seconds=tick))
        rows = tick_rows(res)
        store.write_models("actor_metrics", rows.actors)
        store.write_models("network_metrics", rows.network)
        store.write_models("segment_flows", rows.tunnels)
        alerts = [a for d in detectors for a in d.check(res)]
        if alerts:
            store.write_models("alerts", alerts)
    return truth
