"""One network spreads over the consumer group: 4 raw partitions, 2 workers, the flows and metrics of 1 worker.

The connectors' producer keys each envelope by its thread (``valuenet.ingest.routing``), so one
network's commits land on every raw partition and both workers parse, dedupe and classify
them; the flows of the network meet again on one flows partition (keyed by network), where
one rolling graph judges lateness per lane (raw partition). A SIGKILL of one worker mid-stream
hands its partitions to the other, which must end with exactly the reference metrics.
"""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from tests.pipeline_harness import Pipeline, envelope, git_records, settle, utc
from tests.test_pipeline_reliability import final_metrics, final_network, make_pipeline  # noqa: F401 - fixture
from valuenet.ingest.parsers import parse
from valuenet.ingest.producer import RawProducer
from valuenet.schemas import RawEnvelope

pytestmark = pytest.mark.kafka

NETWORK = "spread"


def raw_envelopes() -> list[RawEnvelope]:
    """3,000 commits in commit order; every 50th arrives a day late (the live run counts it late)."""
    records = git_records(3000)
    for r in records[25::50]:
        late = (utc(r["committed_at"]) - timedelta(days=1)).isoformat()
        r.update(committed_at=late, authored_at=late)
    return [RawEnvelope.model_validate_json(envelope("git", NETWORK, r)) for r in records]


def send(p: Pipeline, envs: list[RawEnvelope]) -> None:
    """Through the connectors' producer, 100 envelopes per record: one network over every raw partition."""
    with RawProducer(p.bootstrap, raw_topic=p.topic("raw"), dlq_topic=p.topic("dlq"), batch_envelopes=100) as prod:
        for env in envs:
            prod.send(env)


def lanes(p: Pipeline) -> dict[int, int]:
    """Stored flows of the network per lane (raw partition)."""
    rows = p.store.query(
        "SELECT lane, uniqExact(event_id) AS n FROM flows WHERE network = %(n)s GROUP BY lane", {"n": NETWORK}
    )
    return {r["lane"]: int(r["n"]) for r in rows}


def test_two_workers_on_one_network_give_the_metrics_of_one_even_after_a_sigkill(make_pipeline) -> None:  # noqa: F811
    envs = raw_envelopes()
    total = sum(len(parse(env)) for env in envs)  # one flow per interaction

    reference = make_pipeline()
    reference.start_worker("ref")
    send(reference, envs)
    settle(reference, NETWORK, total)
    want_flows = reference.flow_counts(NETWORK)
    want = final_metrics(reference, NETWORK)
    want_network = final_network(reference, NETWORK)
    assert want_network["late_events"] > 0 and len(want) > 100
    spread = lanes(reference)
    assert sorted(spread) == [0, 1, 2, 3] and min(spread.values()) > total / 8  # every partition carries the network

    p = make_pipeline()
    victim = p.start_worker("w1")
    p.start_worker("w2")
    p.wait_for(lambda: all("Topic Partition Set" in (p.home / f"{w}.log").read_text() for w in ("w1", "w2")), bool)
    # the kill lands as soon as the first half's flows start to be stored (some of it still in
    # flight), and the second half comes after it: the survivor takes the victim's lanes mid-stream
    # however fast the workers are
    half = len(envs) // 2
    send(p, envs[:half])
    p.wait_for(lambda: sum(p.flow_counts(NETWORK).values()), lambda n: n > 0)
    p.kill(victim, signal.SIGKILL)
    assert sum(p.flow_counts(NETWORK).values()) < total, "the kill must land mid-stream"
    send(p, envs[half:])
    settle(p, NETWORK, total)
    assert p.flow_counts(NETWORK) == want_flows
    assert lanes(p) == spread
    assert final_metrics(p, NETWORK) == want
    assert final_network(p, NETWORK) == want_network
