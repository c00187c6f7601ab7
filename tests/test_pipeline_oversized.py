"""Issue 25, fault 1, through the real pipeline: a valid Bluesky reply whose flows once made a 1.29 MB record.

Before: the worker's send failed with MessageSizeTooLargeError, it exited 70 and exited 70 again on
every restart; nothing more was stored in any network. Now its 151 flows are stored, cut into several
``valuenet.flows`` records under the byte cap, the ordinary events after it reach the store and the
metrics, nothing is lost, duplicated or dead-lettered, and the worker never exits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chaos_kit import bluesky_reply, expected_ids, stored_ids
from tests.fixtures_kafka import consume_records
from tests.pipeline_harness import Pipeline, envelope, git_records, settle
from tests.test_pipeline_faults import stored_rows
from tests.test_pipeline_reliability import edge_counts, stored_strength
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas.flow_wire import is_arrow, read_flows_record
from valuenet.schemas.limits import MAX_ID_CHARS, bound_id

pytestmark = pytest.mark.kafka

NETWORK = "oversize"
OTHER = "oversize-git"
CAP = 32 * 1024  # VALUENET_FLOWS_RECORD_BYTES of the worker: the reply's ~146 KB of flows take several records
FIXTURE = Path(__file__).parent / "payloads" / "bluesky" / "jetstream.jsonl"


@pytest.fixture
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    yield p
    p.close()


def ordinary_replies(network: str, n: int = 10) -> list[bytes]:
    """``n`` replies shaped like the fixture's (a reply to ann's post mentioning three people), each its own post."""
    base = json.loads(FIXTURE.read_text().splitlines()[1])
    out = []
    for i in range(n):
        event = json.loads(json.dumps(base))
        event["time_us"] = 1718020200000000 + i * 1_000_000
        event["commit"]["rkey"] = f"3kmnr1{i:03d}"
        event["commit"]["record"]["text"] = f"@cem.bsky.social @dov.bsky.social @eve.bsky.social here is how, part {i}"
        out.append(envelope("bluesky", network, event))
    return out


def test_an_oversized_reply_is_stored_in_several_records_and_ordinary_events_keep_flowing(pipeline: Pipeline) -> None:
    p = pipeline
    p.env["VALUENET_FLOWS_RECORD_BYTES"] = str(CAP)
    big = bluesky_reply(NETWORK)
    root = json.loads(big)["payload"]["commit"]["record"]["reply"]["root"]["uri"]
    fixture = [envelope("bluesky", NETWORK, json.loads(line)) for line in FIXTURE.read_text().splitlines()]
    ordinary = fixture + ordinary_replies(NETWORK)
    git = [envelope("git", OTHER, c) for c in git_records(40)]
    big_ids = expected_ids(build_stage(), [big])
    want = expected_ids(build_stage(), [big, *ordinary])
    want_other = expected_ids(build_stage(), git)
    assert len(big_ids) == 151 and len(want) > len(big_ids) + 40

    worker = p.start_worker()
    p.produce([big], NETWORK)  # first: before the fix nothing after it was ever stored
    p.produce(ordinary, NETWORK)
    p.produce(git, OTHER)

    settle(p, NETWORK, len(want))
    settle(p, OTHER, len(want_other))
    assert stored_ids(p, NETWORK) == want and stored_ids(p, OTHER) == want_other  # nothing lost, nothing invented
    assert stored_rows(p, NETWORK) == (len(want), len(want))  # no event stored twice
    for net in (NETWORK, OTHER):  # the metrics count every stored flow exactly once
        expected = edge_counts(p, net)
        assert sum(expected.values()) > 0
        p.wait_for(lambda net=net: stored_strength(p, net), lambda s, e=expected: s == e, timeout=120)

    # the reply's flows went out as several records, each under the cap, each flow once
    flows_records = consume_records(
        p.bootstrap, p.topic("flows"), len(want) + len(want_other), size=lambda v: len(read_flows_record(v))
    )
    holding = []
    for r in flows_records:
        ids = [f.event_id for f in read_flows_record(r.value)]  # either wire format (VALUENET_FLOWS_FORMAT)
        assert len(r.value) <= CAP
        if big_ids.intersection(ids):
            holding.append(ids)
    if not any(is_arrow(r.value) for r in flows_records):  # lz4 columns hold the big reply's flows in fewer records
        assert len(holding) >= 4
    assert sorted(i for ids in holding for i in ids if i in big_ids) == sorted(big_ids)

    # the full 8 KB thread is kept in interactions; flows carry it bounded (one thread, so threading holds)
    full = p.store.query(
        "SELECT DISTINCT assumeNotNull(thread) AS t FROM interactions WHERE network = %(n)s AND has(%(ids)s, event_id)",
        {"n": NETWORK, "ids": sorted(big_ids)},
    )
    assert [r["t"] for r in full] == [root] and len(root) == 8000
    bounded = p.store.query(
        "SELECT DISTINCT assumeNotNull(thread) AS t FROM flows WHERE network = %(n)s AND has(%(ids)s, event_id)",
        {"n": NETWORK, "ids": sorted(big_ids)},
    )
    assert [r["t"] for r in bounded] == [bound_id(root)] and len(bound_id(root)) == MAX_ID_CHARS

    assert p.consume("dlq", expect=1, timeout=3) == []  # nothing dead-lettered: every flow was sendable
    assert worker.poll() is None, "the worker must never exit"
    log = (p.home / "w0.log").read_text(errors="replace")
    assert "MessageSizeTooLarge" not in log and "stopping the worker" not in log


def test_a_flow_the_producer_refuses_is_dead_lettered_by_name_and_the_rest_goes_on(pipeline: Pipeline) -> None:
    """The last guard in ``send_flows``. The worker runs the pre-fix encoding (tests/faults.py ``unbounded``: no id
    bounds, no byte cap) with a 64 KiB producer limit, and the reply has 40 KB URIs: its one 6 MB flows record is
    refused, cut in halves until the parts fit, and only the reply's own flow (thread + parent: 80 KB) is refused
    alone; it is dead-lettered naming its event, everything else is stored and counted, the worker never exits."""
    p = pipeline
    p.env["VALUENET_MAX_MESSAGE_BYTES"] = str(64 * 1024)
    big = bluesky_reply(NETWORK, uri_chars=40_000)
    reply_id = json.loads(big)["payload"]["commit"]
    reply_id = f"at://did:plc:bea222/app.bsky.feed.post/{reply_id['rkey']}"
    ordinary = ordinary_replies(NETWORK)
    big_ids = expected_ids(build_stage(), [big])
    assert reply_id in big_ids
    want = expected_ids(build_stage(), [big, *ordinary]) - {reply_id}

    worker = p.start_worker(fault="unbounded")
    p.produce([big], NETWORK)
    p.produce(ordinary, NETWORK)

    settle(p, NETWORK, len(want))
    assert stored_ids(p, NETWORK) == want  # the 150 mentions and every ordinary event after it
    expected = edge_counts(p, NETWORK)
    p.wait_for(lambda: stored_strength(p, NETWORK), lambda s: s == expected, timeout=120)
    [letter] = p.consume("dlq", expect=1, timeout=60)
    assert (letter["stage"], letter["source"], letter["field"], letter["network"]) == (
        "normalise",
        "bluesky",
        "flow",
        NETWORK,
    )
    assert (
        f"flow of event {reply_id!r}" in letter["reason"] and "refused by the producer as too large" in letter["reason"]
    )
    assert letter["truncated"]  # the flow is shown cut to 4 KB
    stored = p.store.query("SELECT count() AS n FROM interactions WHERE network = %(n)s", {"n": NETWORK})
    assert int(stored[0]["n"]) >= len(want) + 1  # the reply's interaction is stored whole; only its flow was refused
    assert worker.poll() is None, "the worker must never exit"
    assert "sent again in two halves" in (p.home / "w0.log").read_text(errors="replace")
