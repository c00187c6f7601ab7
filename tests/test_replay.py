"""File replay: raw envelopes out, parser rejects to the DLQ naming the field, pacing, --follow, real broker."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_kafka import consume_records
from valuenet.cli import app
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.replay import Pacer, replay
from valuenet.ingest.synth import SynthNetwork, write_dataset
from valuenet.schemas.dlq import DlqRecord
from valuenet.schemas.envelope import RawEnvelope, decode_raw
from valuenet.schemas.interaction import Source

UTC = UTC


def _frame(did: str, t_us: int, collection: str, record: dict[str, Any]) -> dict[str, Any]:
    rkey = f"3k{t_us % 10**9:09d}"
    return {
        "did": did,
        "time_us": t_us,
        "kind": "commit",
        "commit": {
            "rev": rkey,
            "operation": "create",
            "collection": collection,
            "rkey": rkey,
            "record": {"$type": collection, "createdAt": "2024-06-10T11:46:39.000Z", **record},
            "cid": "bafyrei1",
        },
    }


POST = _frame("did:plc:ann111", 1718020000000000, "app.bsky.feed.post", {"text": "valuenet is out", "langs": ["en"]})
REPOST = _frame(
    "did:plc:bea222",
    1718020005000000,
    "app.bsky.feed.repost",
    {"subject": {"uri": "at://did:plc:ann111/app.bsky.feed.post/3k020000000", "cid": "bafyrei1"}},
)
LIKE = _frame(
    "did:plc:cem333",
    1718020009000000,
    "app.bsky.feed.like",
    {"subject": {"uri": "at://did:plc:ann111/app.bsky.feed.post/3k020000000", "cid": "bafyrei1"}},
)
NO_DID = {k: v for k, v in POST.items() if k != "did"}


class ListSink:
    """Records what replay sends (pure tests)."""

    def __init__(self) -> None:
        self.sent: list[RawEnvelope] = []
        self.keys: list[str | None] = []
        self.dlq: list[dict[str, Any]] = []

    def send(self, env: RawEnvelope, *, key: str | None = None) -> None:
        self.sent.append(env)
        self.keys.append(key)

    def send_dlq(
        self, source: str, reason: str, field: str, record: Any, *, network: str = "default", stage: str = "ingest"
    ) -> None:
        self.dlq.append(
            {"source": source, "reason": reason, "field": field, "record": record, "network": network, "stage": stage}
        )

    def flush(self, timeout: float | None = None) -> None:
        pass


def _write_ndjson(path: Path, items: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items))
    return path


def test_raw_payloads_are_sent_unchanged_and_rejects_name_the_field(tmp_path: Path) -> None:
    f = _write_ndjson(tmp_path / "jetstream.jsonl", [POST, "{broken json", REPOST, NO_DID, LIKE])
    sink = ListSink()
    stats = replay(f, sink, source=Source.bluesky, network="acme")
    assert (stats.sent, stats.rejected) == (3, 2)
    assert [e.payload for e in sink.sent] == [POST, REPOST, LIKE]
    assert {e.network for e in sink.sent} == {"acme"} and {e.source for e in sink.sent} == {Source.bluesky}
    assert dict(stats.per_kind) == {"post": 1, "repost": 1, "reaction": 1}
    assert [d["source"] for d in sink.dlq] == ["bluesky", "bluesky"]
    assert sink.dlq[0]["field"] == "<payload>" and "JSON" in sink.dlq[0]["reason"]
    assert sink.dlq[1]["field"] == "did" and sink.dlq[1]["record"] == NO_DID
    assert stats.as_dict()["rejected_fields"] == {"<payload>": 1, "did": 1}


def test_stored_envelopes_keep_their_source_and_headers(tmp_path: Path) -> None:
    gen = SynthNetwork(seed=2, actors=40, rate=1.0)
    truth = write_dataset(gen, tmp_path, 400)
    sink = ListSink()
    stats = replay(tmp_path / "events.jsonl", sink, source=None)
    assert stats.rejected == 0 and stats.sent == 400
    assert dict(stats.per_source) == truth["events_per_source"]
    assert any(e.headers.get("x-github-event") for e in sink.sent if e.source is Source.github)
    assert stats.interactions == sum(stats.per_kind.values()) >= 400
    override = ListSink()
    replay(tmp_path / "events.jsonl", override, source=None, network="tenant-b", limit=10)
    assert len(override.sent) == 10 and {e.network for e in override.sent} == {"tenant-b"}


def _status(sid: str, user: str, reply_to: str | None = None) -> dict[str, Any]:
    return {
        "id": sid,
        "created_at": f"2024-06-10T12:00:0{sid}.000Z",
        "in_reply_to_id": reply_to,
        "content": f"<p>status {sid}</p>",
        "url": f"https://mastodon.example/@{user}/{sid}",
        "account": {"id": f"10{sid}", "acct": user, "url": f"https://mastodon.example/@{user}"},
    }


def test_replay_parses_each_payload_once_and_routes_as_the_connector_key(tmp_path: Path, monkeypatch) -> None:
    """One parse validates, counts and routes; a second (without the parent index) only where the
    index decided a routing field: a Mastodon reply to a reply (thread = the remembered root) and
    the delete of a remembered status."""
    from valuenet.ingest.parsers import registry
    from valuenet.ingest.routing import envelope_key

    gen = SynthNetwork(seed=3, actors=40, rate=1.0)
    write_dataset(gen, tmp_path, 300)
    frames = [
        {"event": "update", "payload": json.dumps(_status("1", "ann"))},
        {"event": "update", "payload": json.dumps(_status("2", "bea", reply_to="1"))},
        {"event": "update", "payload": json.dumps(_status("3", "cem", reply_to="2"))},  # root 1 via the index
        {"event": "delete", "payload": "3"},  # a remembered status: one delete (none without the index)
    ]
    stored = (tmp_path / "events.jsonl").read_text().splitlines()
    envs = [RawEnvelope(source=Source.mastodon, network="synth", payload=f).model_dump_json() for f in frames]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(stored + envs) + "\n")
    calls = 0
    real_run = registry._run

    def counting(*a: Any) -> Any:
        nonlocal calls
        calls += 1
        return real_run(*a)

    monkeypatch.setattr(registry, "_run", counting)
    sink = ListSink()
    stats = replay(path, sink, source=None)
    assert (stats.sent, stats.rejected) == (304, 0)
    monkeypatch.setattr(registry, "_run", real_run)
    parents = ParentIndex()
    routed = [registry.parse_routed(RawEnvelope.model_validate_json(line), parents)[1] for line in stored + envs]
    assert routed[-4:] == [False, False, True, True] and sum(routed) < 10
    assert calls == 304 + sum(routed)  # once each; the routed ones again without the index
    assert sink.keys == [envelope_key(e) for e in sink.sent]  # what the producer would compute alone
    assert sink.keys[-2:] == ["synth\x1fstatus:2", "synth"]  # the payload-only keys, not the index's
    assert stats.per_kind["delete"] >= 1  # the replay's own parse still used the index


def test_pacer_rate_and_speedup() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 6))
        now[0] += s

    p = Pacer(rate=4.0, sleep=sleep, clock=lambda: now[0])
    for _ in range(5):
        p.wait(None)
    assert slept == [0.25, 0.25, 0.25, 0.25]

    now[0], slept[:] = 0.0, []
    p = Pacer(speedup=10.0, sleep=sleep, clock=lambda: now[0])
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for dt in (0, 30, 30, 100):  # event-time seconds
        p.wait(t0 + timedelta(seconds=dt))
    assert slept == [3.0, 7.0]
    with pytest.raises(ValueError, match="rate"):
        Pacer(rate=0)


def test_follow_tails_a_growing_file(tmp_path: Path) -> None:
    f = tmp_path / "live.jsonl"
    f.write_text(json.dumps(POST) + "\n")
    frames = [
        _frame(f"did:plc:f{i:03d}", 1718020010000000 + i, "app.bsky.feed.post", {"text": f"n{i}"}) for i in range(30)
    ]

    def writer() -> None:
        with f.open("a") as out:
            for k in range(0, 30, 10):
                time.sleep(0.2)
                for fr in frames[k : k + 10]:
                    out.write(json.dumps(fr) + "\n")
                out.write('{"did": "did:plc:half')  # an incomplete line is held back until its newline arrives
                out.flush()
                time.sleep(0.1)
                out.write('way", "time_us": 1, "kind": "identity"}\n')
                out.flush()

    t = threading.Thread(target=writer)
    t.start()
    sink = ListSink()
    stats = replay(f, sink, source=Source.bluesky, network="acme", follow=True, idle_exit_s=1.5)
    t.join()
    dids = [e.payload["did"] for e in sink.sent]
    assert dids[:2] == ["did:plc:ann111", "did:plc:f000"]
    assert [d for d in dids if d.startswith("did:plc:f")] == [fr["did"] for fr in frames]
    assert dids.count("did:plc:halfway") == 3
    assert stats.sent == 34 and stats.rejected == 0


def test_cli_help_and_argument_errors() -> None:
    runner = CliRunner()
    for cmd in ("replay", "webhook", "stream", "synth"):
        r = runner.invoke(app, ["ingest", cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output
    r = runner.invoke(app, ["ingest", "replay", "/nonexistent/file.jsonl", "--source", "slack"])
    assert r.exit_code == 2


@pytest.mark.kafka
def test_replay_through_the_broker(kafka_bootstrap: str, new_topic, tmp_path: Path) -> None:
    raw, dlq = new_topic(4), new_topic(1)
    f = _write_ndjson(tmp_path / "jetstream.jsonl", [POST, REPOST, NO_DID, LIKE, "not json at all"])
    with RawProducer(kafka_bootstrap, raw_topic=raw, dlq_topic=dlq, batch_linger_ms=60_000) as producer:
        stats = replay(f, producer, source=Source.bluesky, network="acme")  # the batch ships on close
    assert (stats.sent, stats.rejected) == (3, 2)
    got = consume_records(kafka_bootstrap, raw, 3, size=lambda v: len(decode_raw(v)))
    # packed per network and routing partition (ingest/routing.py: the thread's partition)
    assert {r.key for r in got} == {b"acme"} and len({r.partition for r in got}) == len(got)
    envs = [e for r in sorted(got, key=lambda r: r.offset) for e in decode_raw(r.value)]
    assert sorted(map(str, (e.payload for e in envs))) == sorted(map(str, (POST, REPOST, LIKE)))
    dead = sorted(
        (DlqRecord.model_validate_json(r.value) for r in consume_records(kafka_bootstrap, dlq, 2)),
        key=lambda d: d.field,
    )
    assert [(d.stage, d.source, d.field) for d in dead] == [
        ("replay", "bluesky", "<payload>"),
        ("replay", "bluesky", "did"),
    ]
    assert json.loads(dead[1].record) == NO_DID and dead[0].record == "not json at all"


def test_replay_repairs_text_once_whatever_the_reader(tmp_path: Path) -> None:
    """NDJSON lines arrive repaired by the reader (schemas.text.loads); a JSON array file's items are
    repaired by replay itself: the same envelopes either way."""
    item = {"event_id": "e1", "actor": "a\udcff", "kind": "post", "timestamp": "2026-01-01T00:00:00Z", "text": "x\x00"}
    nd = tmp_path / "events.jsonl"
    nd.write_text(json.dumps(item) + "\n")
    arr = tmp_path / "events.json"
    arr.write_text(json.dumps([item]))
    got = []
    for f in (nd, arr):
        sink = ListSink()
        replay(f, sink, source=Source.generic, network="acme")
        got.append(sink.sent[0].payload)
    assert got[0] == got[1] == {**item, "actor": "a\ufffd", "text": "x\ufffd"}
