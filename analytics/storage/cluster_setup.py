"""Apply the cluster DDL to every node of a ClickHouse cluster, one node at a time (no ZooKeeper needed).

The nodes are read from the connected server's ``system.clusters``; each one gets the database, the
``<table>_local`` tables (``Replicated*`` when the cluster has more than one replica per shard) and the
Distributed tables, with the same user and password as the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from clickhouse_driver import Client

from valuenet.analytics.storage.cluster import (
    CLUSTER_NODES_SQL,
    CLUSTERS_SQL,
    TABLE_COLUMNS_SQL,
    TABLE_ENGINES_SQL,
    add_column_sql,
    cluster_ddl,
    local_name,
)
from valuenet.analytics.storage.exceptions import StorageError
from valuenet.analytics.storage.tables import TABLES, check_identifier, table_spec

__all__ = ["Node", "cluster_nodes", "setup_cluster", "node_url"]


@dataclass(frozen=True)
class Node:
    """One server of a cluster: its shard, replica and native-protocol address."""

    shard: int
    replica: int
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port} (shard {self.shard}, replica {self.replica})"


def node_url(url: str, node: Node, database: str) -> str:
    """``url`` (credentials, query options kept) pointing at ``node`` and ``database``."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{node.host}:{node.port}" if userinfo else f"{node.host}:{node.port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 9000}"


def cluster_nodes(url: str, cluster: str) -> list[Node]:
    """The nodes of ``cluster`` as the server at ``url`` knows them; StorageError if it knows no such cluster."""
    check_identifier(cluster)
    client = Client.from_url(url)
    try:
        try:
            rows = client.execute(CLUSTER_NODES_SQL, {"cluster": cluster})
            known = [r[0] for r in client.execute(CLUSTERS_SQL)] if not rows else []
        except Exception as e:
            raise StorageError(f"ClickHouse at {_where(url)} does not answer: {type(e).__name__}: {e}") from e
    finally:
        client.disconnect()
    if not rows:
        raise StorageError(
            f"cluster {cluster!r} is not configured on {_where(url)} (its remote_servers name: "
            f"{', '.join(known) or 'no cluster'})"
        )
    return [
        Node(int(shard), int(replica), str(address or host), int(port)) for shard, replica, host, address, port in rows
    ]


def _setup_node(client: Client, node: Node, database: str, cluster: str, replicated: bool) -> None:
    engines = dict(client.execute(TABLE_ENGINES_SQL, {"db": database}))
    for table in TABLES:
        engine = engines.get(table)
        if engine is not None and engine != "Distributed":
            raise StorageError(
                f"node {node}: table {database}.{table} exists with engine {engine} (a single-node store); "
                f"a cluster store needs {table} Distributed over {local_name(table)}: use a new database"
            )
    for statement in cluster_ddl(database, cluster, replicated=replicated, on_cluster=False):
        client.execute(statement)
    present: dict[str, set[str]] = {}
    for table, column in client.execute(TABLE_COLUMNS_SQL, {"db": database}):
        present.setdefault(table, set()).add(column)
    for table in TABLES:
        spec = table_spec(table)
        for name in (local_name(table), table):
            for statement in add_column_sql(spec, name, database, present.get(name, set())):
                client.execute(statement)


def setup_cluster(url: str, database: str, cluster: str) -> list[Node]:
    """Create ``database``'s local and Distributed tables on every node of ``cluster`` (idempotent); the nodes.

    ``Replicated*MergeTree`` local tables when a shard has more than one replica (the nodes then need
    ``zookeeper`` and the ``{shard}`` / ``{replica}`` macros in their config).
    """
    nodes = cluster_nodes(url, cluster)
    replicated = any(n.replica > 1 for n in nodes)
    for node in nodes:
        client = Client.from_url(node_url(url, node, "system"))
        try:
            try:
                client.execute("SELECT 1")
            except Exception as e:
                raise StorageError(f"cluster {cluster}: node {node} does not answer: {type(e).__name__}: {e}") from e
            try:
                _setup_node(client, node, database, cluster, replicated)
            except StorageError:
                raise
            except Exception as e:
                raise StorageError(f"cluster {cluster}: setting up node {node} failed: {type(e).__name__}: {e}") from e
        finally:
            client.disconnect()
    return nodes
