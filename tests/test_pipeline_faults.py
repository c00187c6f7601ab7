"""An error escaping an agent mid-batch stops the worker loudly; the restarted worker loses and doubles nothing."""

from __future__ import annotations

import pytest

from tests.pipeline_harness import Pipeline, envelope, git_records
from tests.test_pipeline_reliability import edge_counts, stored_strength
from valuenet.ingest.parsers import parse
from valuenet.pipeline.guard import EXIT_BATCH_FAILED
from valuenet.schemas import RawEnvelope

pytestmark = pytest.mark.kafka


@pytest.fixture
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    p.expected_exits = (EXIT_BATCH_FAILED,)
    yield p
    p.close()


def stored_rows(p: Pipeline, network: str) -> tuple[int, int]:
    """(distinct event ids, rows after ReplacingMergeTree dedupe) in ``flows`` for ``network``."""
    rows = p.store.query(
        "SELECT uniqExact(event_id) AS ids, count() AS n FROM flows FINAL WHERE network = %(n)s", {"n": network}
    )
    return int(rows[0]["ids"]), int(rows[0]["n"])


@pytest.mark.parametrize("agent", ["normalise", "graph"])
def test_a_fault_mid_batch_stops_the_worker_and_the_restart_loses_nothing(pipeline: Pipeline, agent: str) -> None:
    network = f"fault-{agent}"
    raw = [envelope("git", network, r) for r in git_records(2500)]
    total = sum(len(parse(RawEnvelope.model_validate_json(r))) for r in raw)  # one flow per interaction
    # several produce calls so the worker sees several batches
    for i in range(0, len(raw), 250):
        pipeline.produce(raw[i : i + 250], network)
    victim = pipeline.start_worker("victim", fault=agent)
    assert victim.wait(180) == EXIT_BATCH_FAILED
    log = (pipeline.home / "victim.log").read_text(errors="replace")
    assert "InjectedFault" in log and "stopping the worker" in log
    stored_at_crash = stored_rows(pipeline, network)[0]
    assert stored_at_crash < total, "the fault must land mid-stream"

    pipeline.start_worker("restarted")
    pipeline.wait_for(lambda: stored_rows(pipeline, network)[0], lambda n: n >= total)
    assert stored_rows(pipeline, network) == (total, total)  # 0 lost, no event stored twice
    expected = edge_counts(pipeline, network)
    # 0 duplicated in the metrics: every stored flow counted exactly once in the latest snapshot
    pipeline.wait_for(lambda: stored_strength(pipeline, network), lambda s: s == expected, timeout=90)
    assert pipeline.consume("dlq", expect=1, timeout=3) == []  # nothing was dead-lettered
