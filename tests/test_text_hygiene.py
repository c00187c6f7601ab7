"""The same text repair at every entry point: replay files and streaming frames (webhook and stage: their own tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.test_replay import ListSink
from valuenet.ingest.replay import replay
from valuenet.ingest.stream import StreamClient
from valuenet.schemas.interaction import Source
from valuenet.schemas.text import REPLACEMENT


def test_replay_repairs_surrogates_and_nul_and_dead_letters_deep_nesting(tmp_path: Path) -> None:
    f = tmp_path / "events.jsonl"
    lines = [
        '{"event_id": "e1", "actor": "a\\udcff", "target": "b", "kind": "reply", "timestamp": "2026-01-01T00:00:00Z", '
        '"text": "hi\\u0000there"}',
        "[" * 300 + "]" * 300,
        '{"event_id": "e2", "actor": "c", "target": "d", "kind": "reply", "timestamp": "2026-01-01T00:00:00Z"}',
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sink = ListSink()
    replay(f, sink, source=Source.generic, network="acme")
    payloads = [e.payload for e in sink.sent]
    assert payloads[0]["actor"] == f"a{REPLACEMENT}" and payloads[0]["text"] == f"hi{REPLACEMENT}there"
    assert [p["actor"] for p in payloads] == [f"a{REPLACEMENT}", "c"]
    assert len(sink.dlq) == 1
    for env in sink.sent:
        env.model_dump_json().encode("utf-8")  # encodable all the way to Kafka


def test_stream_frames_are_repaired_before_they_are_sent() -> None:
    sink = ListSink()
    client = StreamClient("jetstream", "wss://example.invalid/subscribe", sink, network="acme")
    frame = '{"did": "did:plc:x\\ud800", "time_us": 1700000000000000, "kind": "commit", "commit": {"text": "\\u0000"}}'
    asyncio.run(client._handle(frame))
    asyncio.run(client._handle("[" * 5000 + "]" * 5000))  # too deep: dead-lettered, not a crash
    assert sink.sent[0].payload["did"] == f"did:plc:x{REPLACEMENT}"
    assert sink.sent[0].payload["commit"]["text"] == REPLACEMENT
    assert len(sink.dlq) == 1 and sink.dlq[0]["stage"] == "stream"
