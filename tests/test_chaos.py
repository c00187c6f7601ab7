"""A lean chaos run for CI: poison of several kinds mid-stream plus a SIGKILLed worker, real broker and ClickHouse.

Nothing valid is lost or counted twice, every poison record is dead-lettered (a flow the store refuses
too, and counted nowhere), nothing stalls
(the full table, with broker and ClickHouse kills, is ``benchmarks/chaos.py``).
"""

from __future__ import annotations

import json
import signal

import pytest

from tests.chaos_kit import (
    NETWORK,
    deep_nesting,
    expected_ids,
    future_and_ancient,
    inject,
    oversized_bluesky_reply,
    produce_paced,
    recent_outlier,
    stored_ids,
    surrogates_in_packed_batch,
    unstorable_flow,
    wrong_shape_flows,
)
from tests.pipeline_harness import Pipeline, envelope, git_records, settle, utc
from tests.test_pipeline_reliability import edge_counts, final_network, stored_strength
from valuenet.pipeline.wiring import build_stage

pytestmark = pytest.mark.kafka


@pytest.fixture
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    yield p
    p.close()


def test_poison_and_a_sigkill_lose_and_double_nothing(pipeline: Pipeline) -> None:
    p = pipeline
    valid = [envelope("git", NETWORK, c) for c in git_records(1500)]
    mid = json.loads(valid[499])["payload"]["committed_at"]  # injected after the first 500: dated like them
    poisons = [deep_nesting(NETWORK), surrogates_in_packed_batch(NETWORK, mid), wrong_shape_flows(NETWORK)]
    poisons += [future_and_ancient(NETWORK), unstorable_flow(NETWORK, mid)]
    poisons.append(oversized_bluesky_reply(NETWORK, mid))  # once a 1.29 MB flows record: exit 70 on every restart
    poisons.append(recent_outlier(NETWORK))  # stored, held by the jump guard: the watermark stays in the history
    assert poisons[-1].held
    want = expected_ids(build_stage(), valid + [r for x in poisons for r in x.raw])
    assert len(want) > len(expected_ids(build_stage(), valid))  # the repaired surrogate record counts as valid

    victim = p.start_worker("victim")
    produce_paced(p, valid[:500], NETWORK)
    for poison in poisons:
        inject(p, poison, NETWORK)
    produce_paced(p, valid[500:1000], NETWORK)
    p.wait_for(lambda: len(stored_ids(p, NETWORK)), lambda n: n > 0)
    p.kill(victim, signal.SIGKILL)
    produce_paced(p, valid[1000:], NETWORK)
    p.start_worker("restarted")

    settle(p, NETWORK, len(want))  # no stall: everything stored, then a snapshot after it
    ids = stored_ids(p, NETWORK)
    assert want - ids == set(), "valid flows lost"
    assert ids - want == set(), "flows nobody sent"
    expected = edge_counts(p, NETWORK)
    for f in build_stage().process(poisons[-1].raw).flows:  # the held outlier's edges: stored, not counted
        if f.receiver is not None and f.receiver != f.giver:
            expected[f.flow_type.value] -= 1
    # each stored flow counted exactly once in the latest snapshot (ticks follow the flows: wait for it)
    p.wait_for(lambda: stored_strength(p, NETWORK), lambda s: s == expected, timeout=120)
    expected_dead = sum(x.dead for x in poisons)
    dead = p.consume("dlq", expect=expected_dead, timeout=60)
    reasons = " | ".join(d["reason"] for d in dead)
    assert len(dead) >= expected_dead, reasons  # a redelivered poison record may be dead-lettered twice
    for words in ("nested deeper", "invalid flows record", "future event", "before 1970", "flows refused the row"):
        assert words in reasons, words
    history_end_ms = max(int(utc(json.loads(r)["payload"]["committed_at"]).timestamp() * 1000) for r in valid)
    assert final_network(p, NETWORK)["watermark_ms"] <= history_end_ms  # yesterday's commit did not move it
