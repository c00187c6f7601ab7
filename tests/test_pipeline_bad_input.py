"""Bad input through the real worker: each bad record lands in the DLQ naming its field; good ones still flow."""

from __future__ import annotations

import json

import pytest

from tests.pipeline_harness import Pipeline, envelope, git_records

pytestmark = pytest.mark.kafka

NETWORK = "bad-input"


@pytest.fixture
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    yield p
    p.close()


def test_bad_records_go_to_dlq_and_good_ones_keep_flowing(pipeline: Pipeline) -> None:
    good = git_records(30)
    commit = dict(good[0])
    no_author = {k: v for k, v in commit.items() if k != "author"}
    wrong_type = {**commit, "trailers": "Reviewed-by: someone"}
    bad = [
        (b'{"source": "git", "network": "bad-input", "payload": {', "<root>", "malformed JSON"),
        (json.dumps({"source": "git", "payload": commit}).encode(), "network", "Field required"),
        (envelope("git", NETWORK, no_author), "author", "author"),
        (envelope("git", NETWORK, wrong_type), "trailers", "expected a list"),
        (envelope("myspace", NETWORK, commit), "source", "myspace"),
        (
            json.dumps({"source": "git", "network": NETWORK, "received_at": "yesterday", "payload": commit}).encode(),
            "received_at",
            "datetime",
        ),
    ]
    pipeline.start_worker()
    # bad records first, then the good ones: the partition must keep flowing after each failure
    pipeline.produce([b for b, _, _ in bad], NETWORK)
    pipeline.produce((envelope("git", NETWORK, r) for r in good), NETWORK)

    dead = pipeline.consume("dlq", expect=len(bad), timeout=120)
    assert len(dead) == len(bad)
    for (record, field, words), letter in zip(bad, dead):
        assert letter["field"] == field, letter
        assert words in letter["reason"], letter
        assert letter["stage"] == "normalise"
        assert letter["record"] == record.decode()
    assert dead[4]["source"] == "myspace"

    expected = sum(1 + (r["committer"] != r["author"]) for r in good)  # at least commit + apply per record
    counts = pipeline.wait_for(lambda: pipeline.flow_counts(NETWORK), lambda c: sum(c.values()) >= expected)
    assert sum(counts.values()) >= expected
    assert all(w.poll() is None for w in pipeline.workers), "the worker must survive bad input"


def test_a_bad_flows_record_is_dead_lettered_by_the_graph_agent(pipeline: Pipeline) -> None:
    pipeline.start_worker()
    pipeline._producer.send(pipeline.topic("flows"), key=NETWORK.encode(), value=b'[{"event_id": "x"}]')
    pipeline._producer.flush()
    good = git_records(10)
    pipeline.produce((envelope("git", NETWORK, r) for r in good), NETWORK)
    dead = pipeline.consume("dlq", expect=1, timeout=120)
    assert [(d["stage"], d["source"]) for d in dead] == [("build_graph", "flows")]
    assert "invalid flows record" in dead[0]["reason"] and dead[0]["field"]
    pipeline.wait_for(lambda: sum(pipeline.flow_counts(NETWORK).values()), lambda n: n >= len(good))
