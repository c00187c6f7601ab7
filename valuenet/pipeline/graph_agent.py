"""faust agent of the analytics stage: ``valuenet.flows`` → graph store → ClickHouse + ``valuenet.metrics``.

Effects are idempotent: flows are written to ClickHouse (ReplacingMergeTree on
event id) before they enter the graph and before the batch's offsets are committed, and a network's graph is
rebuilt from the stored flows before this process applies its first flow (at
start and after every rebalance), so a redelivered flow is recognised by its
event id and counted once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pydantic import ValidationError

from valuenet.analytics.children import die_with_parent
from valuenet.analytics.live import LiveGraphs
from valuenet.analytics.storage.health import store_health
from valuenet.analytics.storage.sink import get_sink
from valuenet.pipeline.app import app, flows_topic, metrics_topic, settings
from valuenet.pipeline.guard import batch_guard, dead_letter
from valuenet.schemas.dlq import DlqRecord, dlq_record
from valuenet.schemas.flow import Flow, FlowPayload, decode_flow_record
from valuenet.schemas.flow_wire import decode_flows_value, is_arrow

log = logging.getLogger(__name__)

BATCH = 200  # records; each holds one network's flows of one processor batch
WITHIN_S = 0.1
SEQ_BITS = 20  # a flows record holds fewer than 2**20 flows

live = LiveGraphs(settings)
# The metric engines hold the GIL while they compute: ticks run in a child process so the
# event loop, heartbeats and rebalances stay healthy.
# started from the event loop (main) thread, so the child dies with the worker even on SIGKILL
_compute = ProcessPoolExecutor(
    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
)


def warm_up() -> float:
    """Compute one tick of a four-actor graph (imports, kernel compilation); its seconds. Runs in the tick process."""
    import time
    from datetime import UTC, datetime, timedelta

    from valuenet.analytics.graph_store import GraphStore
    from valuenet.analytics.tick import compute_tick

    started = time.perf_counter()
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    store = GraphStore("warm-up", windows=list(settings.windows)[:1])
    pairs = [
        ("w1", "workforce", "c1", "customer"),
        ("c1", "customer", "w2", "workforce"),
        ("w2", "workforce", "p1", "partner"),
    ]
    store.add_many(
        Flow(
            event_id=f"warm-{i}",
            network="warm-up",
            source="synth",
            kind="reply",
            timestamp=t0 + timedelta(seconds=i),
            giver=g,
            receiver=r,
            giver_segment=gs,
            receiver_segment=rs,
            flow_type="knowledge",
            confidence=1.0,
        )
        for i, (g, gs, r, rs) in enumerate(pairs)
    )
    compute_tick(store.snapshot())
    return time.perf_counter() - started


@app.task
async def warm_up_tick() -> None:
    """Start the tick process and compile its kernels at worker start, so the first real tick is not a cold one."""
    try:
        seconds = await asyncio.get_running_loop().run_in_executor(_compute, warm_up)
        log.info("tick process warmed up in %.1f s", seconds)
    except Exception:  # only a head start: the real ticks do the same work
        log.warning("tick warm-up failed", exc_info=True)


def shutdown_compute() -> None:
    """Stop the tick process (at worker exit)."""
    _compute.shutdown(wait=True, cancel_futures=True)


@app.agent(flows_topic)
async def build_graph(stream) -> None:
    """Store each batch of flows, then add what the store accepted to the rolling graph and publish its live counters.

    A flow enters the graph (and the live counters) only once ClickHouse holds it: a row the
    store refuses is dead-lettered and counted nowhere; while the store cannot take writes (disk
    full, …) the sink retries and nothing is counted or committed. The batch's offsets are
    committed only after all of it (next iteration).
    """
    sink = get_sink()
    async for events in stream.take_events(BATCH, within=WITHIN_S):
        with batch_guard("build_graph", events):
            flows, future, dead = decode_flows(events)
            networks = {f.network for f in flows} | set(future)
            await live.prepare(networks, sink)
            refused = await sink.write_refused("flows", flows)
            if refused:
                out = {id(flow) for flow, _ in refused}
                flows = [f for f in flows if id(f) not in out]
                dead += [letter for _, letter in refused]
            # a rebalance while the write waited (a blocked store) forgot the graphs: rebuilt here, this batch
            # included (add_many then knows its event ids); otherwise a no-op
            await live.prepare(networks, sink)
            live.add_many(flows)
            live.add_future(future)  # after the batch's flows: counted at the watermark they reached
            for record in live.live_events(networks):
                await metrics_topic.send(key=record.network.encode(), value=record.model_dump_json().encode())
            await dead_letter(dead)


def decode_flows(events: Sequence[Any]) -> tuple[list[Flow], Counter[str], list[DlqRecord]]:
    """The flows of a batch of ``valuenet.flows`` events in stream order (``seq``), the future events per network
    (:class:`FlowRecord`), and dead letters for bad records."""
    flows: list[Flow] = []
    future: Counter[str] = Counter()
    dead: list[DlqRecord] = []
    for event in events:
        # msgspec first (the records our stage writes); whatever it refuses, pydantic accepts or names the field
        value = event.value
        arrow = isinstance(value, bytes) and is_arrow(value)
        fast = decode_flow_record(value) if isinstance(value, bytes) and not arrow else None
        try:
            if arrow:  # columnar (schemas/flow_wire.py): checked column-wise, pydantic names a bad field
                fast = decode_flows_value(value)
            elif fast is None:
                payload = FlowPayload.validate_json(event.value)
                fast = (payload, 0) if isinstance(payload, list) else (payload.flows, payload.future_events)
        except ValidationError as exc:  # not ours to crash on: dead-letter it and go on
            err = exc.errors()[0]
            reason, field = f"invalid flows record: {err['msg']}", ".".join(map(str, err["loc"]))
        except Exception as exc:  # noqa: BLE001 - one record, not the partition
            reason, field = f"invalid flows record: {exc!r}", "<root>"
        else:
            batch, n_future = fast
            if n_future:
                future[(event.key or b"").decode(errors="replace")] += n_future
            base = event.message.offset << SEQ_BITS  # stream order: offset, then position
            for i, flow in enumerate(batch):
                flow.__dict__["seq"] = base | i  # what BaseModel.__setattr__ does (a plain int field), minus its cost
                flow.__pydantic_fields_set__.add("seq")
            flows += batch
            continue
        network = (event.key or b"").decode(errors="replace")
        dead.append(
            dlq_record(
                stage="build_graph", source="flows", network=network, reason=reason, field=field, record=event.value
            )
        )
    return flows, future, dead


# mode's SignalHandlerT spells the handler with mypy_extensions' NamedArg("BaseSignalT") (a string mypy does
# not resolve), so no async handler matches it
@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
    """A rebalance may hand our networks to another worker: rebuild from ClickHouse when they come back."""
    if any(tp.topic == flows_topic.get_topic_name() for tp in revoked):
        live.forget()


class _TickRunner:
    """At most one metric tick at a time: a tick due while the previous one runs is skipped (said once)."""

    def __init__(self) -> None:
        self.running: asyncio.Future[None] | None = None
        self.skipped = 0

    def due(self) -> None:
        """Start a tick now, or skip it when the previous one is still running."""
        if self.running is not None and not self.running.done():
            if store_health().status() is not None:
                return  # the tick waits for a blocked store (said by the sink), not for its metrics
            self.skipped += 1
            if self.skipped == 1:
                log.warning(
                    "a metric tick takes longer than VALUENET_TICK_SECONDS=%g s: the ticks due while one runs are "
                    "skipped (said once; durations in valuenet_tick_seconds on /metrics)",
                    settings.tick_seconds,
                )
            return
        self.running = app.add_future(tick_once())


_ticks = _TickRunner()


@app.timer(interval=settings.tick_seconds)
async def tick() -> None:
    """Start a metric tick in the background; the timer itself never runs long (no overlapping timer)."""
    _ticks.due()


async def tick_once() -> None:
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
        refused = await sink.write("actor_metrics", out.actors)
        refused += await sink.write("network_metrics", out.network)
        refused += await sink.write("segment_flows", out.tunnels)
        refused += await sink.write("alerts", out.alerts)
        await dead_letter(refused)
        for event in out.events():
            await metrics_topic.send(key=out.network_id.encode(), value=event.model_dump_json().encode())
