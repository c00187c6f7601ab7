"""Streaming clients against a local WebSocket server that sends documented frames and drops the connection once."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve

from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.stream import Backoff, CursorStore, StreamClient, with_cursor
from valuenet.schemas.envelope import RawEnvelope, decode_raw

T0 = 1718020000000000


def jet_frame(i: int) -> dict[str, Any]:
    """A Jetstream commit (documented shape): post i by its own DID."""
    rkey = f"3kmnr{i:08d}"
    return {
        "did": f"did:plc:user{i:04d}",
        "time_us": T0 + i * 1000,
        "kind": "commit",
        "commit": {
            "rev": rkey,
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": {"$type": "app.bsky.feed.post", "createdAt": "2024-06-10T11:46:40.000Z", "text": f"post {i}"},
            "cid": "bafyreiabc",
        },
    }


class JetstreamServer:
    """Serves frames with ``time_us >= cursor`` (inclusive, like Jetstream); the first connection is dropped after ``drop_after``."""

    def __init__(self, frames: list[dict[str, Any]], drop_after: int) -> None:
        self.frames = frames
        self.drop_after = drop_after
        self.cursors: list[int | None] = []

    async def handler(self, ws: ServerConnection) -> None:
        q = parse_qs(urlsplit(ws.request.path).query)
        cursor = int(q["cursor"][0]) if "cursor" in q else None
        self.cursors.append(cursor)
        first = len(self.cursors) == 1
        sent = 0
        for f in self.frames:
            if cursor is not None and f["time_us"] < cursor:
                continue
            await ws.send(json.dumps(f))
            sent += 1
            if first and sent == self.drop_after:
                await asyncio.sleep(0.05)
                ws.transport.abort()  # the network drops: no close frame
                return
        await ws.wait_closed()


class ListSink:
    def __init__(self) -> None:
        self.sent: list[RawEnvelope] = []
        self.dlq: list[dict[str, Any]] = []
        self.flushes = 0

    def send(self, env: RawEnvelope) -> None:
        self.sent.append(env)

    def send_dlq(
        self, source: str, reason: str, field: str, record: Any, *, network: str = "default", stage: str = "ingest"
    ) -> None:
        self.dlq.append({"source": source, "field": field, "reason": reason, "record": record, "stage": stage})

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1


async def _run_jetstream(
    sink: Any, tmp_path: Path, frames: list[dict[str, Any]], drop_after: int, expect: int | None = None
) -> tuple[StreamClient, JetstreamServer]:
    server = JetstreamServer(frames, drop_after)
    async with serve(server.handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/subscribe?wantedCollections=app.bsky.feed.post"
        store = CursorStore(tmp_path / "cursors" / "jetstream-test.json")  # the port changes between runs
        client = StreamClient(
            "jetstream",
            url,
            sink,
            network="acme",
            cursor_store=store,
            backoff=Backoff(base_s=0.05, cap_s=0.2, rng=random.Random(1)),
            checkpoint_every=5,
        )
        stop = asyncio.Event()
        want = len(frames) if expect is None else expect
        client.on_frame = lambda st: stop.set() if st.sent >= want else None
        await asyncio.wait_for(client.run(stop, max_connections=5), timeout=30)
    return client, server


def test_jetstream_resumes_from_cursor_without_loss_or_duplicates(tmp_path: Path) -> None:
    frames = [jet_frame(i) for i in range(20)]
    sink = ListSink()
    client, server = asyncio.run(_run_jetstream(sink, tmp_path, frames, drop_after=8))
    assert [e.payload for e in sink.sent] == frames  # none lost, none twice, in order
    assert server.cursors == [None, frames[7]["time_us"]]  # reconnected with ?cursor=<last acked time_us>
    assert client.stats.connections == 2 and client.stats.skipped == 1  # the inclusive resend of the cursor frame
    assert client.cursor_store is not None and client.cursor_store.load() == frames[-1]["time_us"]
    parents = ParentIndex()
    kinds = [i.kind.value for e in sink.sent for i in parse(e, parents)]
    assert kinds == ["post"] * 20

    # a new process resumes from the persisted cursor: nothing is sent twice
    more = frames + [jet_frame(i) for i in range(20, 25)]
    sink2 = ListSink()
    client2, server2 = asyncio.run(_run_jetstream(sink2, tmp_path, more, drop_after=10**6, expect=5))
    assert server2.cursors[0] == frames[-1]["time_us"]
    assert [e.payload["time_us"] for e in sink2.sent] == [f["time_us"] for f in more[20:]]


def test_cursor_file_is_keyed_by_url_without_its_cursor(tmp_path: Path) -> None:
    a = CursorStore.for_url(tmp_path, "jetstream", "wss://jet.example/subscribe?wantedCollections=x")
    b = CursorStore.for_url(tmp_path, "jetstream", "wss://jet.example/subscribe?wantedCollections=x&cursor=9")
    c = CursorStore.for_url(tmp_path, "jetstream", "wss://jet.example/subscribe?wantedCollections=y")
    assert a.path == b.path != c.path and a.path.parent == tmp_path / "cursors"
    assert a.load() is None
    a.save(123)
    assert b.load() == 123


def test_with_cursor_replaces_the_query_parameter() -> None:
    url = "wss://jet.example/subscribe?wantedCollections=app.bsky.feed.post&cursor=5"
    assert with_cursor(url, 42) == "wss://jet.example/subscribe?wantedCollections=app.bsky.feed.post&cursor=42"
    assert with_cursor(url, None) == "wss://jet.example/subscribe?wantedCollections=app.bsky.feed.post"


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(3))
    caps = [1, 2, 4, 8, 8, 8]
    delays = [b.next_delay() for _ in caps]
    assert all(0 <= d <= c for d, c in zip(delays, caps))
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.attempt == 0


def _status(i: int) -> dict[str, Any]:
    return {
        "id": f"1100000000000000{i:02d}",
        "created_at": f"2024-06-10T12:00:{i:02d}.000Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "visibility": "public",
        "language": "en",
        "content": f"<p>toot {i}</p>",
        "reblog": None,
        "mentions": [],
        "url": f"https://mastodon.example/@ann/{i}",
        "account": {"id": "1001", "username": "ann", "acct": "ann", "display_name": "Ann", "followers_count": 10},
    }


def _masto_frames() -> list[str]:
    frames = [
        json.dumps({"stream": ["public"], "event": "update", "payload": json.dumps(_status(i))}) for i in range(6)
    ]
    fav = {
        "id": "9001",
        "type": "favourite",
        "created_at": "2024-06-10T12:01:00.000Z",
        "account": {"id": "1002", "username": "bea", "acct": "bea"},
        "status": _status(0),
    }
    frames.append(json.dumps({"stream": ["user"], "event": "notification", "payload": json.dumps(fav)}))
    frames.append(json.dumps({"stream": ["public"], "event": "delete", "payload": "110000000000000003"}))
    frames.append(json.dumps({"stream": ["public"], "event": "update", "payload": "{truncated"}))
    return frames


def test_mastodon_decodes_twice_dedupes_overlap_and_dead_letters_bad_frames(tmp_path: Path) -> None:
    frames = _masto_frames()
    connections: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        connections.append(ws.request.headers.get("Authorization", ""))
        if len(connections) == 1:
            for f in frames[:4]:
                await ws.send(f)
            await asyncio.sleep(0.05)
            ws.transport.abort()
            return
        for f in frames[2:]:  # the server overlaps two frames already delivered
            await ws.send(f)
        await ws.wait_closed()

    async def main() -> StreamClient:
        async with serve(handler, "127.0.0.1", 0) as srv:
            port = srv.sockets[0].getsockname()[1]
            sink = ListSink()
            client = StreamClient(
                "mastodon",
                f"ws://127.0.0.1:{port}/api/v1/streaming?stream=public",
                sink,
                network="acme",
                token="tok-123",
                backoff=Backoff(base_s=0.05, cap_s=0.1),
                cursor_store=CursorStore(tmp_path / "m.json"),
            )
            stop = asyncio.Event()
            await asyncio.wait_for(client.run(stop, max_frames=4 + len(frames) - 2), timeout=30)
            client.sink_records = sink  # type: ignore[attr-defined]
            return client

    client = asyncio.run(main())
    sink: ListSink = client.sink_records  # type: ignore[attr-defined]
    assert connections == ["Bearer tok-123", "Bearer tok-123"]
    sent = [
        (json.loads(e.payload["payload"])["id"] if e.payload["event"] != "delete" else e.payload["payload"])
        for e in sink.sent
    ]
    assert sent == [f"1100000000000000{i:02d}" for i in range(6)] + ["9001", "110000000000000003"]
    assert client.stats.skipped == 2 and client.stats.rejected == 1
    assert (
        sink.dlq[0]["field"] == "payload" and sink.dlq[0]["stage"] == "stream" and sink.dlq[0]["source"] == "mastodon"
    )
    parents = ParentIndex()
    kinds = [i.kind.value for e in sink.sent for i in parse(e, parents)]
    assert kinds.count("post") == 6 and "reaction" in kinds and "delete" in kinds


@pytest.mark.kafka
def test_jetstream_through_the_broker(kafka_bootstrap: str, new_topic, tmp_path: Path) -> None:
    raw, dlq = new_topic(4), new_topic(1)
    frames = [jet_frame(i) for i in range(40)]
    producer = RawProducer(kafka_bootstrap, raw_topic=raw, dlq_topic=dlq, linger_ms=5)
    try:
        client, server = asyncio.run(_run_jetstream(producer, tmp_path, frames, drop_after=13))
    finally:
        producer.close()
    assert server.cursors == [None, frames[12]["time_us"]]
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        raw, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    got: list = []
    deadline = time.monotonic() + 20
    try:
        while sum(len(decode_raw(r.value)) for r in got) < 40 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
        got.extend(r for b in consumer.poll(timeout_ms=1000).values() for r in b)  # nothing more may follow
    finally:
        consumer.close()
    # one network spreads over the raw partitions (keyed per thread): every frame exactly once,
    # and in stream order within each partition
    envs = [e for r in sorted(got, key=lambda r: (r.partition, r.offset)) for e in decode_raw(r.value)]
    assert sorted(e.payload["time_us"] for e in envs) == [f["time_us"] for f in frames]
    for part in {r.partition for r in got}:
        times = [
            e.payload["time_us"]
            for r in sorted(got, key=lambda r: r.offset)
            if r.partition == part
            for e in decode_raw(r.value)
        ]
        assert times == sorted(times)
    assert {r.key for r in got} == {b"acme"} and {e.source.value for e in envs} == {"bluesky"}


def test_the_cursor_stays_at_the_last_acknowledged_frame_when_kafka_did_not_take_the_rest(tmp_path: Path) -> None:
    class Unacknowledged(ListSink):
        """A producer interrupted (Ctrl-C) while the broker was down: flush reports what it left."""

        def __init__(self, acked: int) -> None:
            super().__init__()
            self.acked = acked

        def flush(self, timeout: float | None = None) -> bool:
            self.flushes += 1
            return len(self.sent) <= self.acked

    frames = [jet_frame(i) for i in range(12)]
    sink = Unacknowledged(acked=5)  # the first checkpoint (5 frames) is acknowledged, the second is not
    client, _ = asyncio.run(_run_jetstream(sink, tmp_path, frames, drop_after=10**6))
    assert len(sink.sent) == 12 and sink.flushes >= 2
    assert client.cursor_store is not None and client.cursor_store.load() == frames[4]["time_us"]
