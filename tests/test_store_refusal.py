"""Issue 25, item 7: a flow the store refuses is counted nowhere; per-actor rows reach the last batch once quiet.

Real broker, real worker, real clickhouse-server. 452 commits go through the pipeline in two
parts with a flows record in between whose flows ClickHouse refuses (``giver_followers`` 10**20
overflows Int64). Per-actor rows are throttled to one snapshot an hour
(``VALUENET_ACTOR_SNAPSHOT_SECONDS=3600``): only the quiet-period flush can bring the last batch
into them. The latest per-actor snapshot must equal networkx on the stored flows, the refused
flows must be in the dead-letter topic and in neither the store nor the metrics.
"""

from __future__ import annotations

import math

import networkx as nx
import pytest

from tests.chaos_kit import GHOST, expected_ids, inject, stored_ids, unstorable_flow
from tests.pipeline_harness import Pipeline, envelope, git_records
from valuenet.pipeline.wiring import build_stage

pytestmark = pytest.mark.kafka

NETWORK = "refusal"
TYPES = ("knowledge", "idea", "reputation")


@pytest.fixture
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    p.env["VALUENET_ACTOR_SNAPSHOT_SECONDS"] = "3600"  # actor rows throttled: one snapshot an hour while busy
    yield p
    p.close()


def latest_actor_rows(p: Pipeline) -> dict[str, dict]:
    """The latest per-actor snapshot of the network: actor → row."""
    rows = p.store.query(
        "SELECT * FROM actor_metrics WHERE network = %(n)s AND window = '3650d' AND computed_at_ms = "
        "(SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s)",
        {"n": NETWORK},
    )
    return {r["actor"]: r for r in rows}


def reference(p: Pipeline) -> nx.DiGraph:
    """networkx on the stored flows: giver → receiver, weight = flows, one weight per flow type too (flows without
    a receiver, to oneself or of type none add no edge)."""
    rows = p.store.query(
        "SELECT giver, receiver, toString(flow_type) AS t FROM flows FINAL WHERE network = %(n)s", {"n": NETWORK}
    )
    g = nx.DiGraph()
    for r in rows:
        if r["receiver"] is None or r["receiver"] == r["giver"] or r["t"] not in TYPES:
            continue  # no edge (analytics/graph_store.py): not an actor of the graph either
        data = g.get_edge_data(r["giver"], r["receiver"]) or {"weight": 0, **dict.fromkeys(TYPES, 0)}
        data["weight"] += 1
        data[r["t"]] += 1
        g.add_edge(r["giver"], r["receiver"], **data)
    return g


def strengths(g: nx.DiGraph) -> dict[str, dict[str, float]]:
    """Per actor, ``in_<type>`` and ``out_<type>``: flows of that type received and given."""
    return {
        a: {
            **{f"out_{t}": float(g.out_degree(a, weight=t)) for t in TYPES},
            **{f"in_{t}": float(g.in_degree(a, weight=t)) for t in TYPES},
        }
        for a in g.nodes
    }


def differences(rows: dict[str, dict], expected: dict[str, dict[str, float]]) -> dict[str, object]:
    """Actors whose strengths differ from ``expected`` (missing, extra, or (got, want))."""
    out: dict[str, object] = {}
    for actor in rows.keys() | expected.keys():
        if actor not in rows or actor not in expected:
            out[actor] = "missing" if actor not in rows else "extra"
            continue
        got = {k: rows[actor][k] for k in expected[actor]}
        if got != expected[actor]:
            out[actor] = (got, expected[actor])
    return out


def test_a_refused_flow_is_counted_nowhere_and_quiet_actor_rows_hold_the_last_batch(pipeline: Pipeline) -> None:
    p = pipeline
    commits = git_records(452)
    first = [envelope("git", NETWORK, c) for c in commits[:200]]
    rest = [envelope("git", NETWORK, c) for c in commits[200:]]
    want = expected_ids(build_stage(), first + rest)
    poison = unstorable_flow(NETWORK, commits[199]["committed_at"])

    p.start_worker("w")
    p.produce(first, NETWORK)
    p.wait_for(lambda: p.store.count("actor_metrics", NETWORK), lambda n: n > 0)  # the hour's actor snapshot
    inject(p, poison, NETWORK)
    p.produce(rest, NETWORK)
    p.wait_for(lambda: len(stored_ids(p, NETWORK)), lambda n: n >= len(want))

    dead = p.consume("dlq", expect=poison.dead, timeout=60)
    assert len(dead) == poison.dead and all(d["field"] == "flows.giver_followers" for d in dead), dead
    assert all("refused the row" in d["reason"] for d in dead)
    assert stored_ids(p, NETWORK) == want  # the refused flows are not stored, every valid one is

    g = reference(p)
    assert GHOST not in g
    expected = strengths(g)
    # the latest actor rows catch up with every stored flow although actor rows are throttled to one an hour
    p.wait_for(lambda: differences(latest_actor_rows(p), expected), lambda d: d == {}, timeout=90)
    rows = latest_actor_rows(p)
    assert GHOST not in rows
    assert p.store.query(
        "SELECT count() AS n FROM actor_metrics WHERE network = %(n)s AND actor = %(a)s", {"n": NETWORK, "a": GHOST}
    ) == [{"n": 0}]
    pagerank = nx.pagerank(g, alpha=0.85, weight="weight", tol=1e-12, max_iter=10_000)
    for actor, row in rows.items():
        assert math.isclose(row["pagerank"], pagerank[actor], rel_tol=1e-5, abs_tol=1e-9), actor
