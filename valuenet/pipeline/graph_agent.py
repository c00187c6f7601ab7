"""faust agent of the analytics stage: ``valuenet.flows`` → graph store → ClickHouse + ``valuenet.metrics``.

Effects are idempotent: flows are written to ClickHouse (ReplacingMergeTree on
event id) before the batch's offsets are committed, and a network's graph is
rebuilt from the stored flows before this process applies its first flow (at
start and after every rebalance), so a redelivered flow is recognised by its
event id and counted once.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from pydantic import ValidationError

from valuenet.analytics.live import LiveGraphs
from valuenet.analytics.storage.sink import get_sink
from valuenet.ingest.dlq import dlq_record
from valuenet.pipeline.app import app, dlq_topic, flows_topic, metrics_topic, settings
from valuenet.schemas.flow import FlowBatch

log = logging.getLogger(__name__)

BATCH = 200  # records; each holds one network's flows of one processor batch
WITHIN_S = 0.1
SEQ_BITS = 20  # a flows record holds fewer than 2**20 flows

live = LiveGraphs(settings)
# The metric engines hold the GIL while they compute: ticks run in a child process so the
# event loop, heartbeats and rebalances stay healthy.
_compute = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


@app.agent(flows_topic)
async def build_graph(stream) -> None:
    """Add each batch of flows to the rolling graph, publish its live counters, then store the flows.

    The live record goes out before the ClickHouse insert so the API sees cheap metrics at
    Kafka latency; the batch's offsets are committed only after the insert (next iteration).
    """
    sink = get_sink()
    async for events in stream.take_events(BATCH, within=WITHIN_S):
        flows = []
        for event in events:
            try:
                batch = FlowBatch.validate_json(event.value)
            except ValidationError as exc:  # not ours to crash on: dead-letter it and go on
                err = exc.errors()[0]
                dead = dlq_record(
                    stage="build_graph",
                    source="flows",
                    network=(event.key or b"").decode(errors="replace"),
                    reason=f"invalid flows record: {err['msg']}",
                    field=".".join(map(str, err["loc"])),
                    record=event.value,
                )
                await dlq_topic.send(key=dead.network.encode(), value=dead.model_dump_json().encode())
                continue
            for i, flow in enumerate(batch):
                flow.seq = (event.message.offset << SEQ_BITS) | i  # stream order: offset, then position
                flows.append(flow)
        networks = {f.network for f in flows}
        await live.prepare(networks, sink)
        live.add_many(flows)
        for record in live.live_events(networks):
            await metrics_topic.send(key=record.network.encode(), value=record.model_dump_json().encode())
        await sink.write("flows", flows)


@app.on_partitions_revoked.connect
async def _revoked(sender, revoked, **kwargs) -> None:
    """A rebalance may hand our networks to another worker: rebuild from ClickHouse when they come back."""
    if any(tp.topic == flows_topic.get_topic_name() for tp in revoked):
        live.forget()


@app.timer(interval=settings.tick_seconds)
async def tick() -> None:
    """Recompute expensive metrics off the event loop; store snapshots and publish them."""
    sink = get_sink()
    try:
        changed = await live.refresh_identities(sink)
        if changed:
            log.info("re-segmented %d actors from directory changes", changed)
        outputs = await live.tick(_compute)
    except Exception:  # a failed tick must not stop the worker; the next tick retries
        log.exception("metric tick failed")
        return
    for out in outputs:
        await sink.write("actor_metrics", out.actors)
        await sink.write("network_metrics", out.network)
        await sink.write("segment_flows", out.tunnels)
        await sink.write("alerts", out.alerts)
        for event in out.events():
            await metrics_topic.send(key=out.network_id.encode(), value=event.model_dump_json().encode())
