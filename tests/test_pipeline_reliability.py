"""Reliability through real workers: two workers split the partitions; a SIGKILLed worker loses and doubles nothing."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from tests.pipeline_harness import Pipeline, envelope, git_records, settle, utc
from valuenet.ingest.parsers import parse
from valuenet.schemas import RawEnvelope

pytestmark = pytest.mark.kafka

TYPES = ("knowledge", "idea", "reputation")


@pytest.fixture
def make_pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path_factory):
    made: list[Pipeline] = []

    def make() -> Pipeline:
        p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path_factory.mktemp("pipeline"))
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def stored_strength(p: Pipeline, network: str) -> dict[str, float]:
    """Sum of out-strength per flow type over every actor in the latest snapshot of ``network``."""
    rows = p.store.query(
        "SELECT sum(out_knowledge) AS knowledge, sum(out_idea) AS idea, sum(out_reputation) AS reputation "
        "FROM actor_metrics WHERE network = %(n)s AND window = '3650d' AND computed_at_ms = "
        "(SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s)",
        {"n": network},
    )
    return {t: float(rows[0][t] or 0) for t in TYPES} if rows else {}


def edge_counts(p: Pipeline, network: str) -> dict[str, float]:
    """Valued flows with a receiver, by type, straight from the stored flows (deduplicated by event id)."""
    rows = p.store.query(
        "SELECT toString(flow_type) AS t, uniqExact(event_id) AS n FROM flows "
        "WHERE network = %(n)s AND receiver IS NOT NULL AND receiver != giver GROUP BY t",
        {"n": network},
    )
    counts = {r["t"]: float(r["n"]) for r in rows}
    return {t: counts.get(t, 0.0) for t in TYPES}


def test_two_workers_split_partitions_and_count_each_event_once(make_pipeline) -> None:
    p = make_pipeline()
    records = git_records(240)
    networks = [f"net-{i}" for i in range(8)]  # 8 keys over 4 partitions: both workers get some
    p.start_worker("w1")
    p.start_worker("w2")
    for i, net in enumerate(networks):
        p.produce((envelope("git", net, r) for r in records[i * 30 : (i + 1) * 30]), net)

    for i, net in enumerate(networks):
        chunk = records[i * 30 : (i + 1) * 30]
        expected_min = len(chunk)
        p.wait_for(lambda net=net: sum(p.flow_counts(net).values()), lambda n, m=expected_min: n >= m)
    # the metric effect of every flow, exactly once: strengths in the latest snapshot equal the stored flows
    for net in networks:
        expected = edge_counts(p, net)
        assert sum(expected.values()) > 0
        p.wait_for(lambda net=net: stored_strength(p, net), lambda s, e=expected: s == e, timeout=90)
    logs = [(p.home / f"{w}.log").read_text(errors="replace") for w in ("w1", "w2")]
    assert all("Topic Partition Set" in log for log in logs), "both workers joined the group"


def final_metrics(p: Pipeline, network: str) -> dict[str, tuple]:
    """actor → (pagerank, strengths …) from the latest snapshot."""
    rows = p.store.query(
        "SELECT actor, pagerank, pagerank_reputation, in_knowledge, out_knowledge, in_idea, out_idea, "
        "in_reputation, out_reputation, give_get_balance FROM actor_metrics WHERE network = %(n)s AND window = '3650d' "
        "AND computed_at_ms = (SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s)",
        {"n": network},
    )
    return {r["actor"]: tuple(round(float(v), 9) for k, v in r.items() if k != "actor") for r in rows}


def final_network(p: Pipeline, network: str) -> dict[str, object]:
    """The latest network_metrics row, less its wall-clock fields."""
    rows = p.store.query(
        "SELECT * FROM network_metrics WHERE network = %(n)s AND window = '3650d' ORDER BY computed_at_ms DESC LIMIT 1",
        {"n": network},
    )
    skip = {"computed_at", "computed_at_ms", "tick_seconds"}
    return (
        {k: (round(v, 9) if isinstance(v, float) else v) for k, v in rows[0].items() if k not in skip} if rows else {}
    )


def test_sigkill_mid_stream_then_restart_gives_the_uninterrupted_metrics(make_pipeline) -> None:
    records = git_records(3000)
    for r in records[25::50]:  # every 50th commit arrives a day late: the live run counts it late
        late = (utc(r["committed_at"]) - timedelta(days=1)).isoformat()
        r.update(committed_at=late, authored_at=late)
    network = "restart"
    raw = [envelope("git", network, r) for r in records]
    total = sum(len(parse(RawEnvelope.model_validate_json(r))) for r in raw)  # one flow per interaction

    reference = make_pipeline()
    reference.start_worker("ref")
    reference.produce(raw, network)
    settle(reference, network, total)
    want = final_metrics(reference, network)
    want_network = final_network(reference, network)
    assert want_network["late_events"] > 0  # the rebuild must replay late events as late
    assert len(want) > 100

    p = make_pipeline()
    victim = p.start_worker("victim")
    half = len(raw) // 2  # the second half comes after the kill: mid-stream however fast the worker is
    p.produce(raw[:half], network)
    p.wait_for(lambda: sum(p.flow_counts(network).values()), lambda n: n > 0)  # the first batch is stored
    p.kill(victim, signal.SIGKILL)
    killed_at = sum(p.flow_counts(network).values())
    assert killed_at < total, "the kill must land mid-stream"
    p.produce(raw[half:], network)
    p.start_worker("restarted")
    settle(p, network, total)
    assert p.flow_counts(network) == reference.flow_counts(network)
    assert final_metrics(p, network) == want
    assert final_network(p, network) == want_network
