"""End to end: raw git commits → real broker → faust worker → ClickHouse; checked against networkx."""

from __future__ import annotations

import unicodedata
from collections import Counter

import httpx
import networkx as nx
import pytest

from tests.pipeline_harness import Pipeline, envelope, git_records
from valuenet.schemas.flow_wire import is_arrow
from valuenet.web.feed import epoch_ms

FLOW_TYPES = ("knowledge", "idea", "reputation", "none")

pytestmark = pytest.mark.kafka

N_COMMITS = 400
NETWORK = "git-e2e"

# Natural flow readings of the dataset (shared/datasets/README.md): giver = trailer name, receiver = author.
KNOWLEDGE = {"helped-by", "mentored-by", "reviewed-by", "reported-by", "noticed-by", "tested-by"}
IDEA = {"suggested-by", "based-on-patch-by", "original-patch-by"}
REPUTATION = {"acked-by"}


def _person(name: str) -> str:
    """A name as git actor ids spell it: NFC, no quotes, single spaces, case-folded."""
    return " ".join(unicodedata.normalize("NFC", name).replace('"', "").split()).casefold()


def expected_edges(records: list[dict]) -> list[tuple[str, str, str]]:
    """(giver, receiver, type) for every credited contribution, read straight from the commit records."""
    edges = []
    for r in records:
        author, committer = _person(r["author"]), _person(r["committer"] or r["author"])
        if committer != author:
            edges.append((committer, author, "reputation"))  # the committer applied the author's patch
        for t in r["trailers"]:
            key, name = t["key"].lower(), _person(t["name"])
            if not name or name == author:
                continue
            if key in KNOWLEDGE:
                edges.append((name, author, "knowledge"))
            elif key in IDEA:
                edges.append((name, author, "idea"))
            elif key in REPUTATION:
                edges.append((name, author, "reputation"))
    return edges


def plain_records(n: int) -> list[dict]:
    """Commits whose trailers all have a reading in the dataset README (plus sign-offs by the author/committer)."""
    known = KNOWLEDGE | IDEA | REPUTATION
    out = []
    for r in git_records(5000):
        ok = all(
            t["key"].lower() in known
            or (t["key"].lower() == "signed-off-by" and t["name"] in (r["author"], r["committer"]))
            for t in r["trailers"]
        )
        if ok:
            out.append(r)
        if len(out) == n:
            break
    return out


@pytest.fixture(params=["json", "arrow"])
def pipeline(kafka_bootstrap: str, clickhouse_url: str, tmp_path, request: pytest.FixtureRequest) -> Pipeline:
    p = Pipeline(kafka_bootstrap, clickhouse_url, tmp_path)
    p.env["VALUENET_FLOWS_FORMAT"] = request.param  # the valuenet.flows wire format (docs/flows-wire.md)
    yield p
    p.close()


def test_replay_flows_and_pagerank_match_networkx(pipeline: Pipeline) -> None:
    records = plain_records(N_COMMITS)
    edges = expected_edges(records)
    by_type = Counter(t for _, _, t in edges)
    assert by_type["knowledge"] > 20 and by_type["reputation"] > 20  # the slice exercises every reading

    pipeline.start_worker()
    pipeline.produce((envelope("git", NETWORK, r) for r in records), NETWORK)

    # every commit also yields one target-less "commit" interaction
    total = len(edges) + len(records)
    counts = pipeline.wait_for(lambda: pipeline.flow_counts(NETWORK), lambda c: sum(c.values()) >= total)
    with_receiver = pipeline.store.query(
        "SELECT toString(flow_type) AS t, uniqExact(event_id) AS n FROM flows "
        "WHERE network = %(n)s AND receiver IS NOT NULL GROUP BY t",
        {"n": NETWORK},
    )
    assert {r["t"]: int(r["n"]) for r in with_receiver} == dict(by_type)
    assert sum(counts.values()) == total
    assert {is_arrow(v) for v in flows_values(pipeline)} == {pipeline.env["VALUENET_FLOWS_FORMAT"] == "arrow"}

    # PageRank of the top actors equals networkx on the same window: the actors joined by a
    # valued flow, edge weight = number of flows giver → receiver.
    g = nx.DiGraph()
    for giver, receiver, _ in edges:
        u, v = f"git:{giver}", f"git:{receiver}"
        w = g[u][v]["weight"] + 1 if g.has_edge(u, v) else 1
        g.add_edge(u, v, weight=w)
    reference = nx.pagerank(g, alpha=0.85, weight="weight", tol=1e-12)
    top = sorted(reference, key=reference.get, reverse=True)[:10]

    def latest() -> dict[str, float]:
        rows = pipeline.store.query(
            "SELECT actor, pagerank FROM actor_metrics WHERE network = %(n)s AND window = '3650d' "
            "AND computed_at_ms = (SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s)",
            {"n": NETWORK},
        )
        return {r["actor"]: r["pagerank"] for r in rows}

    stored = pipeline.wait_for(latest, lambda m: len(m) >= g.number_of_nodes())
    for actor in top:
        assert stored[actor] == pytest.approx(reference[actor], rel=1e-6), actor
    assert sorted(stored, key=stored.get, reverse=True)[:3] == top[:3]


def test_live_counters_reach_a_separate_api_without_any_tick(pipeline: Pipeline) -> None:
    """Cheap metrics go worker → valuenet.metrics → ``valuenet serve`` after every batch; no tick involved."""
    records = plain_records(200)
    edges = expected_edges(records)
    pipeline.env["VALUENET_TICK_SECONDS"] = "3600"  # the first tick would come in an hour
    base = pipeline.start_web()
    pipeline.start_worker()
    pipeline.produce((envelope("git", NETWORK, r) for r in records), NETWORK)
    total = len(edges) + len(records)

    def live() -> dict | None:
        r = httpx.get(f"{base}/api/metrics/live", params={"network": NETWORK}, timeout=5)
        return r.json() if r.status_code == 200 else None

    def counted(v: dict | None) -> int:
        return sum(v["live"][0][f"flows_{t}"] for t in FLOW_TYPES) + v["live"][0]["late_events"] if v else 0

    got = pipeline.wait_for(live, lambda v: counted(v) >= total)
    row = got["live"][0]
    assert row["window"] == "3650d" and counted(got) == total
    # edges by type, straight from the commits: the tunnels' flows that have a receiver
    with_receiver: Counter[str] = Counter()
    for tunnel in row["tunnels"]:
        if tunnel["dst_segment"] is not None:
            with_receiver.update({t: tunnel[t] for t in FLOW_TYPES if tunnel[t]})
    assert row["late_events"] == 0 and with_receiver == Counter(t for _, _, t in edges)
    # flows by type: a direct count over the stored flows of the same event-time window
    stored = pipeline.store.query(
        "SELECT toString(flow_type) AS t, uniqExact(event_id) AS n FROM flows WHERE network = %(n)s "
        "AND timestamp_ms >= %(a)s AND timestamp_ms < %(b)s GROUP BY t",
        {"n": NETWORK, "a": epoch_ms(row["window_start"]), "b": epoch_ms(row["window_end"])},
    )
    assert {r["t"]: int(r["n"]) for r in stored} == {t: row[f"flows_{t}"] for t in FLOW_TYPES if row[f"flows_{t}"]}
    assert got["watermark_ms"] == int(
        pipeline.store.query("SELECT max(timestamp_ms) AS t FROM flows WHERE network = %(n)s", {"n": NETWORK})[0]["t"]
    )
    assert pipeline.store.query("SELECT count() AS n FROM network_metrics")[0]["n"] == 0  # really no tick


def flows_values(pipeline: Pipeline) -> list[bytes]:
    """The values of every record on this test's valuenet.flows topic."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        pipeline.topic("flows"),
        bootstrap_servers=pipeline.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        group_id=None,
    )
    try:
        return [msg.value for msg in consumer]
    finally:
        consumer.close()
