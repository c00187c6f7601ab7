"""faust agents of the processors stage: ``valuenet.raw`` → ``valuenet.flows`` (+ dead letters)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from valuenet.analytics.storage.sink import get_sink
from valuenet.pipeline.app import app, flows_topic, raw_topic, settings
from valuenet.pipeline.guard import batch_guard, dead_letter
from valuenet.pipeline.logs import calm_client_logs
from valuenet.pipeline.wiring import build_stage, warm_from_store
from valuenet.processors.stage import ProcessorStage, StageResult, encode_flows
from valuenet.schemas.dlq import DlqRecord, dlq_record
from valuenet.schemas.flow import FlowRecord
from valuenet.schemas.flow_wire import FlowsFormat, decode_flows_value, encode_flows_value, is_arrow
from valuenet.schemas.limits import record_budget

log = logging.getLogger(__name__)

BATCH = 100  # records per take(): the unit of acknowledgement (≤ 50,000 packed envelopes)
WITHIN_S = 0.1
CHUNK_BYTES = 1 << 20  # records processed together: ~1,600 git envelopes, tens of ms of stage work
FLOWS_PER_RECORD = 400  # and at most flows_record_bytes (512 KiB) bytes: encode_flows cuts a record by both
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
            # A batch runs chunk by chunk: a chunk's flows go out at once (freshness, and the graph agent
            # starts on them), and its inserts run on the I/O thread while the next chunk is processed.
            # The batch's offsets commit only after the last of its inserts (take() acks when we leave).
            stored: asyncio.Future[list[DlqRecord]] | None = None
            for part in chunks(events, CHUNK_BYTES):
                # each record's raw partition: its flows' lane (lateness per lane) and its parent index
                future_before = Counter(stage.future_events)
                result = stage.process([event.value for event in part], [event.message.partition for event in part])
                records, unencodable = encode_flows(
                    result.flows, FLOWS_PER_RECORD, flows_record_bytes(), settings.flows_format
                )
                future = future_records(stage.future_events - future_before)
                for network, value in chain(records, future):  # one record per network and chunk of a batch
                    unencodable += await send_flows(network, value)
                if stored is not None:  # one chunk's inserts in flight at a time
                    await dead_letter(await stored)
                stored = asyncio.ensure_future(store_chunk(sink, result))
                await dead_letter([*result.dead, *unencodable])
                await asyncio.sleep(0)  # the insert starts now; the graph agent and heartbeats get their turn
            if stored is not None:
                await dead_letter(await stored)


def flows_record_bytes() -> int:
    """The byte cap of a ``valuenet.flows`` record: ``flows_record_bytes``, within the topic's record budget."""
    return min(settings.flows_record_bytes, record_budget(settings.max_message_bytes, b"x" * 512))


async def send_flows(network: str, value: bytes) -> list[DlqRecord]:
    """Send one flows record; one the producer refuses as too large is cut in two and sent again, and a single
    flow still refused is not sent: its dead letter (naming the event and the sizes) is returned.

    ``encode_flows`` keeps records under the cap, so this is the last guard (a cap set above the
    producer's ``max_request_size``, an encoder change): the batch goes on, the worker never stops for it.
    """
    try:
        await flows_topic.send(key=network.encode(), value=value)
        return []
    except (MessageSizeTooLargeError, ProducerSendError) as exc:
        cause = exc if isinstance(exc, MessageSizeTooLargeError) else exc.__cause__
        if not isinstance(cause, MessageSizeTooLargeError):  # faust wraps the producer's error; others stop
            raise
    arrow = is_arrow(value)
    flows = decode_flows_value(value)[0] if arrow or value[:1] == b"[" else []
    fmt: FlowsFormat = "arrow" if arrow else "json"
    if len(flows) > 1:
        log.error(
            "valuenet.flows record of network %r (%d bytes, %d flows) refused by the producer as too large "
            "(max_message_bytes %d): sent again in two halves",
            network,
            len(value),
            len(flows),
            settings.max_message_bytes,
        )
        half = len(flows) // 2
        dead = await send_flows(network, encode_flows_value(flows[:half], fmt))
        return dead + await send_flows(network, encode_flows_value(flows[half:], fmt))
    what = f"flow of event {flows[0].event_id[:200]!r}" if flows else "record"
    reason = (
        f"valuenet.flows {what} of network {network!r} ({len(value)} bytes) refused by the producer as too large "
        f"(max_message_bytes {settings.max_message_bytes}); not sent"
    )
    log.error("%s; dead-lettered", reason)
    source = flows[0].source.value if flows else "flows"
    return [dlq_record(stage="normalise", source=source, network=network, reason=reason, field="flow", record=value)]


def chunks(events: Sequence[Any], max_bytes: int) -> Iterator[Sequence[Any]]:
    """``events`` in stream order, cut into runs of about ``max_bytes`` of record values (each at least one record)."""
    start = size = 0
    for i, event in enumerate(events):
        size += len(event.value or b"")
        if size >= max_bytes:
            yield events[start : i + 1]
            start, size = i + 1, 0
    if start < len(events):
        yield events[start:]


async def store_chunk(sink: Any, result: StageResult) -> list[DlqRecord]:
    """Insert a chunk's interactions and directory rows (ClickHouse, on the ingest lane); the refused rows."""
    refused = await sink.write("interactions", result.interactions)
    if result.directory:
        refused += await sink.write_rows("directory", result.directory)
    return refused


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
