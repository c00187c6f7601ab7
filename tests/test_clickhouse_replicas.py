"""ClickHouse 2 shards × 2 replicas with Apache ZooKeeper: a replica SIGKILLed mid-stream loses and doubles nothing.

Four Debian clickhouse-server 18.16 processes and one ZooKeeper (jars from Maven Central) on 127.0.0.1;
``Replicated*MergeTree`` local tables behind Distributed tables (``CLICKHOUSE_CLUSTER``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_api import build_seed
from valuenet.analytics.storage import open_store
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings
from valuenet.localstack.clickhouse_cluster import ClickHouseCluster
from valuenet.localstack.zookeeper import ZooKeeper

pytestmark = pytest.mark.server

CLUSTER = "vn22"
DB = "replicated"
NETWORKS = [f"net{i}" for i in range(6)]


def _with_database(url: str, database: str) -> str:
    from valuenet.analytics.storage.server_store import with_database

    return with_database(url, database)


def _local_counts(url: str, table: str) -> dict[str, int]:
    """``network → rows`` of one server's local table (no FINAL: every stored row)."""
    from clickhouse_driver import Client

    client = Client.from_url(url)
    try:
        return dict(client.execute(f"SELECT network, count() FROM {DB}.{table}_local GROUP BY network"))
    finally:
        client.disconnect()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
    """ZooKeeper and the 2 × 2 cluster (macros {shard}, {replica}; internal_replication)."""
    zk = ZooKeeper()
    try:
        port = zk.start()
    except Exception as e:  # noqa: BLE001
        zk.stop()
        pytest.fail(f"cannot start ZooKeeper: {e}", pytrace=False)
    c = ClickHouseCluster(
        2,
        replicas=2,
        name=CLUSTER,
        zookeeper_port=port,
        data_dir=tmp_path_factory.mktemp("ch-2x2"),
        max_memory=400_000_000,
    )
    try:
        c.start()
        yield c
    finally:
        c.stop()
        zk.stop()


def _batches(network: str, k: int) -> list[tuple[str, list[Any]]]:
    seed = build_seed()
    flows = [f.model_copy(update={"network": network}) for f in seed.flows[k:]]
    half = len(flows) // 2
    return [
        ("flows", flows[:half]),
        ("flows", flows[half:]),
        ("actor_metrics", [a.model_copy(update={"network": network}) for a in seed.actors]),
        ("segment_flows", [t.model_copy(update={"network": network}) for t in seed.tunnels]),
        ("network_metrics", [n.model_copy(update={"network": network}) for n in seed.network]),
    ]


def _converged(cluster: ClickHouseCluster, table: str, timeout: float = 60.0) -> list[dict[str, int]]:
    """Wait until both replicas of every shard hold the same rows of ``table``; the per-server counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = [_local_counts(u, table) for u in cluster.urls]
        if counts[0] == counts[1] and counts[2] == counts[3]:
            return counts
        assert time.monotonic() < deadline, f"replicas of {table} did not converge: {counts}"
        time.sleep(0.3)


def test_a_replica_killed_mid_stream_loses_and_doubles_nothing(cluster: ClickHouseCluster) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    urls = cluster.urls  # shard 1: urls[0], urls[1]; shard 2: urls[2], urls[3]
    clustered = open_store(Settings(CLICKHOUSE_URL=_with_database(urls[0], DB), CLICKHOUSE_CLUSTER=CLUSTER))
    single = open_store(Settings(CLICKHOUSE_URL=_with_database(urls[0], "single")))
    assert isinstance(clustered, ServerStore) and isinstance(single, ServerStore)
    stream = [(t, rows) for k, n in enumerate(NETWORKS) for t, rows in _batches(n, k)]
    try:
        rows = clustered.query("SELECT name, engine FROM system.tables WHERE database = %(d)s", {"d": DB})
        engines = {r["name"]: r["engine"] for r in rows}
        assert engines["flows_local"] == "ReplicatedReplacingMergeTree" and engines["flows"] == "Distributed"
        kill_at = len(stream) // 2
        for i, (table, rows) in enumerate(stream):
            if i == kill_at:
                cluster.kill(2, 1)  # SIGKILL shard 2's first replica mid-stream
                clustered.write_models(*stream[i - 1])  # the retry of the batch in flight when it died
            clustered.write_models(table, rows)
            single.write_models(table, rows)
        a, b = Reader(clustered), Reader(single)
        for network in NETWORKS:  # reads fail over to the live replica
            assert a.flows(network, "24h") == b.flows(network, "24h") != []
        cluster.restart(2, 1)
        for table in ("flows", "actor_metrics", "segment_flows", "network_metrics"):
            counts = _converged(cluster, table)
            assert set(counts[0]).isdisjoint(counts[2]) and set(counts[0]) | set(counts[2]) == set(NETWORKS)
            # 0 duplicated: the retried block was dropped by ReplicatedMergeTree's block deduplication
            want = single.query(f"SELECT network, count() AS n FROM {table} GROUP BY network")
            assert {**counts[0], **counts[2]} == {r["network"]: r["n"] for r in want}, table
        for network in NETWORKS:  # 0 lost: the restarted replica caught up; answers equal a single node's
            for window in ("1h", "24h"):
                assert a.flows(network, window) == b.flows(network, window)
                assert a.top_actors(network, window, "pagerank", 10) == b.top_actors(network, window, "pagerank", 10)
                assert a.tunnels(network, window) == b.tunnels(network, window) != []
        assert clustered.count("flows") == single.count("flows") == sum(len(build_seed().flows) - k for k in range(6))
    finally:
        clustered.close()
        single.close()
