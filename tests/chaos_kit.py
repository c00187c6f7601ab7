"""Poison records and fault bookkeeping shared by tests/test_chaos.py and benchmarks/chaos.py.

Each poison kind is a function ``(network) -> Poison``: the records to put on ``raw`` and on
``flows`` mid-stream, how many dead letters they must produce, and the extra valid flows they
carry (records the pipeline repairs rather than rejects).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.pipeline_harness import Pipeline, envelope, git_records
from valuenet.processors.stage import ProcessorStage

NETWORK = "chaos"
TWIN = "chaos-twin"


@dataclass
class Poison:
    """Records of one poison kind: on ``raw`` and on ``flows``; ``dead`` dead letters expected."""

    raw: list[bytes] = field(default_factory=list)
    flows: list[bytes] = field(default_factory=list)
    dead: int = 0
    twin: list[bytes] = field(default_factory=list)  # valid records for a second network (same event ids)
    held: int = 0  # valid flows the watermark's jump guard holds (stored, not in the metrics)


def commits(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """``n`` commits of the bundled sample starting at ``offset`` (oldest first)."""
    return git_records(offset + n)[offset:]


def _dated(commit: dict[str, Any], when: str) -> dict[str, Any]:
    """``commit`` with another hash (so another event id) dated ``when``."""
    return {**commit, "commit": "f" * 8 + commit["commit"][8:], "committed_at": when, "authored_at": when}


def deep_nesting(network: str) -> Poison:
    """A 4 KB record nested 2,000 levels deep (once raised RecursionError and lost its batch)."""
    deep = b'{"source": "git", "network": "%s", "payload": ' % network.encode() + b"[" * 2000 + b"]" * 2000 + b"}"
    return Poison(raw=[deep, b"[" * 3000 + b"]" * 3000], dead=2)


def surrogates_in_packed_batch(network: str, when: str = "2020-11-01T00:00:00+00:00") -> Poison:
    """A packed batch (JSON array) whose second envelope holds lone surrogates and NUL: repaired, not lost.

    Both commits are re-dated to ``when`` (the stream's event time where they are injected), so
    they are applied like their neighbours, neither late nor moving the watermark.
    """
    extra = [_dated(c, when) for c in commits(2, offset=5000)]
    good = envelope("git", network, extra[0])
    dirty = envelope("git", network, extra[1]).replace(b'"subject": "', b'"subject": "\\udcff\\ud800\\u0000 ')
    assert b"\\udcff" in dirty
    return Poison(raw=[b"[" + good + b"," + dirty + b"]"], dead=0)


def big_record(network: str) -> Poison:
    """A 900 KB record that is not a valid envelope (its dead letter is cut to 4 KB)."""
    body = json.dumps({"source": "git", "network": network, "payload": {"subject": "x" * 900_000}}).encode()
    assert len(body) > 900_000
    return Poison(raw=[body], dead=1)


def wrong_shape_raw(network: str) -> Poison:
    """JSON of the wrong shape on raw: a list payload, a bare array of numbers, a string, a null."""
    records = [
        json.dumps({"source": "git", "network": network, "payload": [1, 2, 3]}).encode(),
        b"[1, 2]",  # a "batch" of two non-envelopes: two dead letters
        b'"just a string"',
        b"null",
    ]
    return Poison(raw=records, dead=5)


def wrong_shape_flows(network: str) -> Poison:
    """JSON of the wrong shape on the flows topic: missing fields, an object, garbage bytes."""
    return Poison(flows=[b'[{"event_id": "x"}]', b'{"a": 1}', b"\xff\xfe not json"], dead=3)


def future_and_ancient(network: str) -> Poison:
    """A valid commit dated 2100 (once moved the watermark and blanked every window) and one dated 1900."""
    base = commits(2, offset=5100)
    records = [
        envelope("git", network, _dated(base[0], "2100-01-01T00:00:00+00:00")),
        envelope("git", network, _dated(base[1], "1900-01-01T00:00:00+00:00")),
    ]
    return Poison(raw=records, dead=records_dead(records))


def recent_outlier(network: str) -> Poison:
    """A valid commit re-dated to yesterday inside the 2020-2026 history, received now: it passes the future
    guard, is stored, and the jump guard holds it (once it moved the watermark: the history counted late)."""
    now = datetime.now(UTC).replace(microsecond=0)
    (base,) = commits(1, offset=5200)
    moved = _dated(base, (now - timedelta(days=1)).isoformat())
    return Poison(raw=[envelope("git", network, moved, received_at=now.isoformat())], dead=0, held=1)


def duplicate_ids_across_networks(network: str) -> Poison:
    """The same commits in a second network: the same event ids, yet other events (no dead letter)."""
    return Poison(twin=[envelope("git", TWIN, c) for c in commits(300)], dead=0)


def bluesky_reply(
    network: str,
    *,
    mentions: int = 150,
    uri_chars: int = 8000,
    time_us: int = 1718020100000000,
    rkey: str = "3kmnrbig1",
) -> bytes:
    """A valid Jetstream reply (the shape of tests/payloads/bluesky) with ``mentions`` mention facets and root /
    parent AT-URIs of ``uri_chars`` characters: 151 flows that once made a 1.29 MB ``valuenet.flows`` record."""
    tail = "r" * uri_chars
    parent = f"at://did:plc:ann111/app.bsky.feed.post/3kmnrp{tail}"[:uri_chars]
    root = f"at://did:plc:ann111/app.bsky.feed.post/3kmnrq{tail}"[:uri_chars]
    text, facets = "", []
    for i in range(mentions):
        handle = f"@u{i:03d}.bsky.social"
        start = len(text.encode())
        text += handle + " "
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": start + len(handle)},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": f"did:plc:u{i:03d}"}],
            }
        )
    record = {
        "$type": "app.bsky.feed.post",
        "createdAt": "2024-06-10T11:48:20.000Z",
        "langs": ["en"],
        "text": text + "thanks all, here is how to fix it",
        "facets": facets,
        "reply": {"parent": {"cid": "bafyreiaaa", "uri": parent}, "root": {"cid": "bafyreiaaa", "uri": root}},
    }
    payload = {
        "did": "did:plc:bea222",
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3kmnrzzz2a99a",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": "bafyreibig",
        },
    }
    return envelope("bluesky", network, payload)


def oversized_bluesky_reply(network: str, when: str = "2020-11-01T00:00:00+00:00") -> Poison:
    """A valid Bluesky reply with 150 mentions and 8 KB root / parent URIs (issue 25: its 1.29 MB flows record
    stopped the worker for good): its 151 flows are stored, cut into records under the byte cap (no dead letter).

    Dated ``when`` (the stream's event time where it is injected), so it neither lags nor moves the watermark.
    """
    time_us = int(datetime.fromisoformat(when).timestamp() * 1_000_000)
    return Poison(raw=[bluesky_reply(network, time_us=time_us)], dead=0)


def unknown_github_event(network: str) -> Poison:
    """A real GitHub webhook body (octokit's star example) under an X-GitHub-Event GitHub does not document:
    once parsed to nothing and dropped without a trace, now one dead letter naming the header."""
    from pathlib import Path

    body = json.loads((Path(__file__).parent / "payloads" / "github" / "real" / "star_created.json").read_text())
    headers = {"x-github-event": "copilot_seat_assignment", "x-github-delivery": "chaos-unknown-event"}
    record = json.dumps({"source": "github", "network": network, "headers": headers, "payload": body}).encode()
    return Poison(raw=[record], dead=1)


def unstorable_flow(network: str, when: str = "2020-11-01T00:00:00+00:00") -> Poison:
    """A valid flows record whose flows the store refuses (``giver_followers`` 10**20 overflows Int64), given by
    an actor no other flow names: dead-lettered, and in neither the store nor the metrics (issue 25)."""
    from valuenet.pipeline.wiring import build_stage
    from valuenet.schemas.flow import FlowRecord

    commit = _dated(commits(1, offset=5200)[0], when)
    flows = build_stage().process([envelope("git", network, commit)]).flows
    refused = [f.model_copy(update={"giver": GHOST, "giver_followers": 10**20}) for f in flows]
    assert refused
    return Poison(flows=[FlowRecord(flows=refused).model_dump_json().encode()], dead=len(refused))


GHOST = "ghost-with-1e20-followers"


def records_dead(records: list[bytes]) -> int:
    """Dead letters the stage makes of ``records`` (one per rejected interaction), computed offline."""
    from valuenet.pipeline.wiring import build_stage

    return len(build_stage().process(records).dead)


POISONS: dict[str, Callable[[str], Poison]] = {
    "deep nesting": deep_nesting,
    "surrogates in packed batch": surrogates_in_packed_batch,
    "900 KB record": big_record,
    "wrong-shape JSON on raw": wrong_shape_raw,
    "wrong-shape JSON on flows": wrong_shape_flows,
    "future + ancient timestamps": future_and_ancient,
    "recent outlier (re-dated to yesterday)": recent_outlier,
    "duplicate ids across networks": duplicate_ids_across_networks,
    "oversized Bluesky reply": oversized_bluesky_reply,
    "unknown GitHub event": unknown_github_event,
    "flow the store refuses": unstorable_flow,
}


def expected_ids(stage: ProcessorStage, records: list[bytes]) -> set[str]:
    """Event ids of the flows ``records`` yield through a fresh stage (the reference, offline)."""
    return {f.event_id for f in stage.process(records).flows}


def stored_ids(p: Pipeline, network: str) -> set[str]:
    """Distinct event ids in ``flows`` for ``network`` (retrying while the store restarts)."""
    for _ in range(60):
        try:
            rows = p.store.query("SELECT DISTINCT event_id FROM flows WHERE network = %(n)s", {"n": network})
            return {r["event_id"] for r in rows}
        except Exception:  # noqa: BLE001 - the server may be restarting (ClickHouse kill)
            time.sleep(0.5)
    raise RuntimeError("store unreachable for 30 s")


def produce_paced(p: Pipeline, records: list[bytes], network: str, chunk: int = 100, pause: float = 0.05) -> None:
    """Produce ``records`` in chunks with a pause, so faults land mid-stream."""
    for i in range(0, len(records), chunk):
        p.produce(records[i : i + chunk], network)
        time.sleep(pause)


def inject(p: Pipeline, poison: Poison, network: str) -> None:
    """Put a poison kind's records on raw (keyed by ``network``), flows and the twin network."""
    if poison.raw:
        p.produce(poison.raw, network)
    for value in poison.flows:
        p._producer.send(p.topic("flows"), key=network.encode(), value=value)
    p._producer.flush()
    if poison.twin:
        p.produce(poison.twin, TWIN)
