"""faust agents of the processors stage: ``valuenet.raw`` → ``valuenet.flows`` (+ dead letters)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from itertools import chain

from valuenet.analytics.storage.sink import get_sink
from valuenet.pipeline.app import app, flows_topic, raw_topic
from valuenet.pipeline.guard import batch_guard, dead_letter
from valuenet.pipeline.logs import calm_client_logs
from valuenet.pipeline.wiring import build_stage, warm_from_store
from valuenet.processors.stage import ProcessorStage, encode_flows
from valuenet.schemas.flow import FlowRecord

log = logging.getLogger(__name__)

BATCH = 1000
WITHIN_S = 0.1
FLOWS_PER_RECORD = 400  # ~200 KB, well under Kafka's 1 MB default message size
IDENTITY_CHECK_S = 2.0

_stage: ProcessorStage | None = None  # set once the agent has warmed it


@app.agent(raw_topic)
async def normalise(stream) -> None:
    """Parse → dedupe → identity → classify each raw record; flows out, failures to the DLQ."""
    global _stage
    stage = build_stage()
    sink = get_sink()
    warmed = await sink.call_async(warm_from_store, stage)
    log.info("dedupe warmed with %d stored event ids", warmed)
    _stage = stage
    async for events in stream.take_events(BATCH, within=WITHIN_S):
        with batch_guard("normalise", events):
            # each record's raw partition: its flows' lane (lateness per lane) and its parent index
            future_before = Counter(stage.future_events)
            result = stage.process([event.value for event in events], [event.message.partition for event in events])
            records, unencodable = encode_flows(result.flows, FLOWS_PER_RECORD)
            future = future_records(stage.future_events - future_before)
            for network, value in chain(records, future):  # one record per network and chunk of a batch
                await flows_topic.send(key=network.encode(), value=value)
            # flows go out first (freshness); the batch's offsets commit only after these inserts too
            refused = await sink.write("interactions", result.interactions)
            if result.directory:
                refused += await sink.write_rows("directory", result.directory)
            await dead_letter([*result.dead, *unencodable, *refused])


def future_records(future: Mapping[str, int]) -> list[tuple[str, bytes]]:
    """One ``valuenet.flows`` record (:class:`FlowRecord`, no flows) per network with events of this batch
    dead-lettered as dated in the future, so the graph agent counts them in ``future_events``."""
    return [
        (net, FlowRecord(flows=[], future_events=n).model_dump_json().encode())
        for net, n in sorted(future.items())
        if n > 0
    ]


@app.task
async def _calm_logs() -> None:
    """Thin repeated Kafka-client errors (an outage) once faust has set logging up."""
    calm_client_logs()


@app.timer(interval=IDENTITY_CHECK_S)
async def identity_refresh() -> None:
    """Re-segment actors after a directory change even while no event arrives (``directory`` rows)."""
    if _stage is None:
        return
    rows = _stage.identity_updates()
    if rows:
        log.info("identity directory changed: %d actor rows re-segmented", len(rows))
        await dead_letter(await get_sink().write_rows("directory", rows))
