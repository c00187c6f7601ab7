"""ClickHouse cluster: 2 local clickhouse-server shards (18.16), Distributed tables sharded by network.

The same flows and metrics go through a cluster Store (``CLICKHOUSE_CLUSTER``) and a single-node Store;
the Reader's answers must be equal, and each network's rows must live on exactly one shard.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from tests.test_api import NAMES, SEGMENT, build_seed
from valuenet.analytics.storage import StorageError, open_store
from valuenet.analytics.storage.cluster import cluster_ddl, local_table_sql
from valuenet.analytics.storage.reader import Reader
from valuenet.analytics.storage.tables import TABLES
from valuenet.cli import app as cli_app
from valuenet.config import Settings, get_settings
from valuenet.localstack.clickhouse_cluster import ClickHouseCluster, remote_servers_xml
from valuenet.localstack.clickhouse_server import free_port

if TYPE_CHECKING:  # clickhouse_driver: imported inside the tests (tests/import_guard.py)
    from valuenet.analytics.storage.server_store import ServerStore

pytestmark = pytest.mark.server


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database``."""
    from valuenet.analytics.storage.server_store import with_database as _with

    return _with(url, database)


def _client(url: str) -> Any:
    from clickhouse_driver import Client

    return Client.from_url(url)


CLUSTER = "vn2"
DB = "clustered"
NETWORKS = [f"net{i}" for i in range(8)]
NETWORK_TABLES = ["flows", "actor_metrics", "network_metrics", "segment_flows", "alerts", "directory"]


@pytest.fixture(scope="module")
def cluster(cluster_handle: ClickHouseCluster) -> list[str]:
    """The shards' URLs."""
    return cluster_handle.urls


@pytest.fixture(scope="module")
def cluster_handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
    """Two shards forming cluster ``vn2``; their config also names ``broken`` (shard 1 + a dead port)."""
    c = ClickHouseCluster(2, name=CLUSTER, data_dir=tmp_path_factory.mktemp("ch-cluster"), max_memory=500_000_000)
    broken = remote_servers_xml("broken", [c.servers[0].tcp_port, free_port()])
    for s in c.servers:
        s.extra_config = s.extra_config.replace("</remote_servers>", broken.removeprefix("<remote_servers>"))
    try:
        c.start()
    except Exception as e:  # noqa: BLE001
        c.stop()
        pytest.fail(f"cannot start the 2-shard cluster: {e}", pytrace=False)
    yield c
    c.stop()


def _models(network: str, k: int) -> dict[str, list[Any]]:
    """The API seed moved to ``network`` and made distinct per network (fewer flows, scaled pagerank)."""
    seed = build_seed()
    scale = 1.0 + k / 10

    def move(rows: list[Any], **extra: Any) -> list[Any]:
        return [r.model_copy(update={"network": network, **extra}) for r in rows]

    return {
        "flows": move(seed.flows[k:]),
        "actor_metrics": [
            a.model_copy(update={"network": network, "pagerank": a.pagerank * scale}) for a in seed.actors
        ],
        "network_metrics": move(seed.network),
        "segment_flows": move(seed.tunnels),
        "alerts": move(seed.alerts),
    }


def _write(store: ServerStore) -> None:
    for k, network in enumerate(NETWORKS):
        for table, models in _models(network, k).items():
            store.write_models(table, models)
        store.write(
            "directory",
            [
                {
                    "network": network,
                    "actor": a,
                    "display_name": n,
                    "segment": SEGMENT[a][0],
                    "team": SEGMENT[a][1],
                    "organisation": None,
                    "updated_at": build_seed().ticks[0],
                }
                for a, n in NAMES.items()
            ],
        )
    store.write(
        "offsets",
        [
            {
                "consumer_group": "g",
                "topic": "valuenet.flows",
                "partition": p,
                "offset": 10 * p,
                "updated_at": build_seed().ticks[0],
            }
            for p in range(6)
        ],
    )


@pytest.fixture(scope="module")
def stores(cluster: list[str]) -> Iterator[tuple[ServerStore, ServerStore]]:
    """(cluster store through shard 1, single-node store on shard 1's server), both written the same way;
    the cluster store writes the flows twice (a retried batch: folded by the replacing tables)."""
    from valuenet.analytics.storage.server_store import ServerStore

    settings = Settings(CLICKHOUSE_URL=with_database(cluster[0], DB), CLICKHOUSE_CLUSTER=CLUSTER)
    clustered = open_store(settings)
    assert isinstance(clustered, ServerStore) and clustered.cluster == CLUSTER
    single = open_store(Settings(CLICKHOUSE_URL=with_database(cluster[0], "single")))
    assert isinstance(single, ServerStore)
    _write(clustered)
    for k, network in enumerate(NETWORKS[:3]):  # retried batches
        for table, models in _models(network, k).items():
            clustered.write_models(table, models)
    _write(single)
    yield clustered, single
    for store in (clustered, single):
        store.close()
    for url in cluster:
        _client(url).execute(f"DROP DATABASE IF EXISTS {DB}")
    _client(cluster[0]).execute("DROP DATABASE IF EXISTS single")


def _per_shard(url: str, table: str) -> dict[str, int]:
    client = _client(url)
    try:
        return dict(client.execute(f"SELECT network, count() FROM {DB}.{table}_local GROUP BY network"))
    finally:
        client.disconnect()


def test_each_network_lives_on_exactly_one_shard(cluster: list[str], stores: tuple) -> None:
    clustered, single = stores
    homes: dict[str, int] = {}
    for table in NETWORK_TABLES:
        shards = [_per_shard(url, table) for url in cluster]
        assert not set(shards[0]) & set(shards[1]), table  # no network split across shards
        assert set(shards[0]) | set(shards[1]) == set(NETWORKS), table
        for i, counts in enumerate(shards):
            for network in counts:
                assert homes.setdefault(network, i) == i  # every table of a network on the same shard
    assert set(homes.values()) == {0, 1}  # both shards hold networks
    for table in [*NETWORK_TABLES, "offsets"]:  # FINAL folds the retried batches (merges may fold them earlier)
        distinct = f"SELECT count() AS n FROM (SELECT DISTINCT * FROM {table})"
        assert clustered.query(distinct) == single.query(distinct) != [{"n": 0}], table
        assert clustered.count(table) >= single.count(table), table
        if table in ("flows", "directory", "offsets"):
            assert clustered.count(table) == single.count(table), table


def test_the_reader_answers_as_a_single_node(stores: tuple) -> None:
    clustered, single = stores
    a, b = Reader(clustered), Reader(single)
    assert a.networks() == b.networks() and len(b.networks()) == len(NETWORKS)
    assert sorted(a.latest_ticks().items()) == sorted(b.latest_ticks().items())
    key = lambda r: (r["network"], r["window"])  # noqa: E731
    rates = {key(r): r for r in b.latest_rates()}  # IN subquery, answered per shard; replays are equal rows
    assert {key(r): r for r in a.latest_rates()} == rates and len(rates) == 2 * len(NETWORKS)
    keys = {(r["network"], r["event_id"]) for r in b.recent_flow_keys(3_600_000)}
    assert {(r["network"], r["event_id"]) for r in a.recent_flow_keys(3_600_000)} == keys != set()
    # a scalar subquery is computed once, over every shard (not per shard): the newest network is net7 on both
    assert clustered.query("SELECT DISTINCT (SELECT max(network) FROM flows) AS m FROM flows") == [{"m": "net7"}]
    for k, network in enumerate(NETWORKS):
        for window in ("1h", "24h"):
            top = a.top_actors(network, window, "pagerank", 10)
            assert top == b.top_actors(network, window, "pagerank", 10) and top
            assert top[0]["pagerank"] == pytest.approx(max(r["pagerank"] for r in top))
            assert a.tunnels(network, window) == b.tunnels(network, window) != []
            assert a.flows(network, window) == b.flows(network, window)
            assert a.edges(network, window) == b.edges(network, window)
            assert a.edges(network, window, actor="inf1") == b.edges(network, window, actor="inf1")
            assert a.network_metrics(network, [window]) == b.network_metrics(network, [window])
        assert len(a.flows(network, "24h")) == len(build_seed().flows) - k  # replays folded by FINAL
        if k >= 3:  # count() without FINAL: retried networks hold their replays until a merge folds them
            assert a.flows_fingerprint(network) == b.flows_fingerprint(network)
        assert a.display_names(network) == b.display_names(network) != {}
        assert a.alerts(network, None, 50) == b.alerts(network, None, 50)
    assert clustered.count("offsets") == single.count("offsets") == 6
    assert clustered.read_models("flows") == single.read_models("flows")


def test_setup_is_idempotent_and_refuses_a_single_node_database(cluster: list[str], stores: tuple) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    clustered, _ = stores
    clustered.setup()  # again: nothing changes
    assert clustered.count("flows") == sum(len(_models(n, k)["flows"]) for k, n in enumerate(NETWORKS))
    wrong = ServerStore(with_database(cluster[0], "single"), cluster=CLUSTER)
    with pytest.raises(StorageError, match=r"table single\.interactions exists with engine ReplacingMergeTree"):
        wrong.setup()
    wrong.close()


def test_bad_cluster_settings_give_one_clear_line(cluster: list[str]) -> None:
    runner = CliRunner()
    env = {"CLICKHOUSE_URL": with_database(cluster[0], "nope"), "CLICKHOUSE_CLUSTER": "nosuch"}
    get_settings.cache_clear()
    r = runner.invoke(cli_app, ["storage", "setup"], env=env)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "cluster 'nosuch' is not configured on 127.0.0.1:" in r.output and "broken, vn2" in r.output
    get_settings.cache_clear()
    r = runner.invoke(cli_app, ["storage", "setup"], env={**env, "CLICKHOUSE_CLUSTER": "broken"})  # a dead shard
    get_settings.cache_clear()
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert re.search(r"cluster broken: node 127\.0\.0\.1:\d+ \(shard 2, replica 1\) does not answer", r.output)
    with pytest.raises(StorageError, match="CLICKHOUSE_CLUSTER needs CLICKHOUSE_URL"):
        open_store(Settings(CLICKHOUSE_CLUSTER=CLUSTER))


def test_the_printed_ddl(cluster: list[str]) -> None:
    r = CliRunner().invoke(cli_app, ["storage", "ddl", "--cluster", CLUSTER, "--replicated", "--database", "vn"])
    assert r.exit_code == 0, r.output
    statements = [s for s in r.output.split(";\n") if s.strip()]
    assert len(statements) == 1 + 2 * len(TABLES)
    assert all(f" ON CLUSTER {CLUSTER}" in s.strip().splitlines()[0] for s in statements)
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vn/directory', '{replica}', updated_at_ms)"
        in r.output
    )
    assert "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/vn/actor_metrics', '{replica}')" in r.output
    assert f"ENGINE = Distributed({CLUSTER}, vn, flows_local, cityHash64(network))" in r.output
    assert (
        f"ENGINE = Distributed({CLUSTER}, vn, offsets_local, cityHash64(consumer_group, topic, partition))" in r.output
    )
    # 18.16 parses the ON CLUSTER form and asks for ZooKeeper (the distributed DDL queue) rather than failing on syntax
    client = _client(cluster[0])
    for statement in (cluster_ddl("vn", CLUSTER)[0], local_table_sql("flows", "vn", cluster=CLUSTER, replicated=True)):
        with pytest.raises(Exception) as e:
            client.execute(statement)
        assert getattr(e.value, "code", None) == 49, e.value  # 62 would be a syntax error
        assert "DDL background thread is not initialized" in str(e.value)
    client.disconnect()


def test_a_shard_down_fails_the_write_and_the_retry_lands_once(cluster_handle: Any, stores: tuple) -> None:
    """insert_distributed_sync=1: a write touching a dead shard raises (nothing queued to deliver later);
    the caller's retry after the restart lands, and FINAL folds the rows the live shard already had."""
    from valuenet.analytics.storage import WriteError

    clustered, single = stores
    extra = [
        f.model_copy(update={"network": n, "event_id": f"late-{f.event_id}"})
        for n in NETWORKS
        for f in build_seed().flows[:5]
    ]
    cluster_handle.kill(2)
    try:
        with pytest.raises(WriteError):
            clustered.write_models("flows", extra)
    finally:
        cluster_handle.restart(2)
    retries = 0
    while True:  # the sink's retry: the Distributed table reconnects to the restarted shard
        try:
            clustered.write_models("flows", extra)
            break
        except WriteError:
            retries += 1
            assert retries < 50, "the restarted shard never took the write"
            time.sleep(0.2)
    single.write_models("flows", extra)
    a, b = Reader(clustered), Reader(single)
    for network in NETWORKS:
        assert a.flows(network, "24h") == b.flows(network, "24h")
    assert clustered.count("flows") == single.count("flows")


def test_the_ddl_command_without_a_cluster_and_per_node() -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["storage", "ddl", "--database", "vn"])
    assert r.exit_code == 0 and "ON CLUSTER" not in r.output and "Distributed" not in r.output
    assert "CREATE TABLE IF NOT EXISTS flows\n" in r.output and "ENGINE = ReplacingMergeTree\n" in r.output
    r = runner.invoke(cli_app, ["storage", "ddl", "--cluster", CLUSTER, "--per-node", "--database", "vn"])
    assert r.exit_code == 0 and "ON CLUSTER" not in r.output and "Replicated" not in r.output
    assert "CREATE TABLE IF NOT EXISTS vn.flows_local\n" in r.output
    assert r.output.count("ENGINE = Distributed(") == len(TABLES)
    r = runner.invoke(cli_app, ["storage", "ddl", "--replicated"])
    assert r.exit_code == 2 and "--replicated and --per-node need --cluster NAME" in r.output


def test_setup_adds_a_newer_ddl_column_to_local_and_distributed_tables(cluster: list[str]) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    store = ServerStore(with_database(cluster[0], "upgrade"), cluster=CLUSTER)
    try:
        store.setup()
        for url in cluster:  # a store made before flows.receiver_kind existed
            client = _client(url)
            for table in ("flows", "flows_local"):
                client.execute(f"ALTER TABLE upgrade.{table} DROP COLUMN receiver_kind")
            client.disconnect()
        store.setup()
        for url in cluster:
            client = _client(url)
            rows = client.execute(
                "SELECT table FROM system.columns WHERE database = 'upgrade' AND name = 'receiver_kind' ORDER BY table"
            )
            client.disconnect()
            assert rows == [("flows",), ("flows_local",)]
        store.write_models("flows", _models("net1", 0)["flows"])
        assert store.count("flows", "net1") == len(build_seed().flows)
    finally:
        store.close()
        for url in cluster:
            _client(url).execute("DROP DATABASE IF EXISTS upgrade")
