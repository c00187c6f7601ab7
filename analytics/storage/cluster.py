"""ClickHouse cluster DDL, generated from the single-node DDL files in ``schemas/clickhouse/``.

On a cluster every valuenet table ``<t>`` becomes two tables on every node:

* ``<t>_local``: the single-node table (same columns, ``ORDER BY`` and partitioning), its engine a
  MergeTree-family engine, or the ``Replicated*MergeTree`` one with ``replicated=True``
  (ZooKeeper path ``/clickhouse/tables/{shard}/<db>/<t>``, replica ``{replica}``: macros each node defines);
* ``<t>``: ``Distributed(<cluster>, <db>, <t>_local, <sharding key>)``, sharded by
  ``cityHash64(network)`` so all rows of one network live on one shard (``offsets``: by its key).

Because the Distributed table keeps the single-node name, every query of the Reader and the Store
runs unchanged; the Store's session sets ``distributed_product_mode = 'local'`` (an ``IN`` subquery
reads the shard's local table: right because a network never spans shards) and
``insert_distributed_sync = 1`` (an INSERT returns only once every shard has its rows).

ClickHouse 18.16 runs ``ON CLUSTER`` DDL through the distributed DDL queue in ZooKeeper; without a
coordination service the Store applies the per-node DDL (no ``ON CLUSTER``) to every node itself.
"""

from __future__ import annotations

import re

from valuenet.analytics.storage.exceptions import StorageError
from valuenet.analytics.storage.tables import TABLES, TableSpec, check_identifier, create_database_sql, table_spec

__all__ = [
    "CLUSTER_NODES_SQL",
    "TABLE_ENGINES_SQL",
    "TABLE_COLUMNS_SQL",
    "CLUSTER_SESSION_SETTINGS",
    "local_name",
    "sharding_key",
    "local_table_sql",
    "distributed_table_sql",
    "cluster_ddl",
    "add_column_sql",
]

CLUSTER_NODES_SQL = (
    "SELECT shard_num, replica_num, host_name, host_address, port FROM system.clusters "
    "WHERE cluster = %(cluster)s ORDER BY shard_num, replica_num"
)
"""The nodes of one cluster as the connected server's ``remote_servers`` config names them."""

CLUSTERS_SQL = "SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster"
"""Every cluster the connected server knows (for the error naming an unknown one)."""

TABLE_ENGINES_SQL = "SELECT name, engine FROM system.tables WHERE database = %(db)s"
"""Existing tables of a database and their engines."""

TABLE_COLUMNS_SQL = "SELECT table, name FROM system.columns WHERE database = %(db)s"
"""Existing columns of a database, per table."""

CLUSTER_SESSION_SETTINGS: dict[str, int | str] = {
    "insert_distributed_sync": 1,
    "distributed_product_mode": "local",
}
"""Session settings of a Store on a cluster (see the module docstring)."""

_ENGINE = re.compile(r"^ENGINE = (\w*MergeTree)(?:\((.*)\))?\s*$", re.MULTILINE)
_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)", re.MULTILINE)

_SHARDING_KEYS = {"offsets": "cityHash64(consumer_group, topic, partition)"}


def local_name(table: str) -> str:
    """``<table>_local``: the shard-local table behind the Distributed ``<table>``."""
    return f"{table}_local"


def sharding_key(table: str) -> str:
    """The Distributed table's sharding expression: ``cityHash64(network)`` (offsets: its ReplacingMergeTree key)."""
    spec = table_spec(table)
    if table in _SHARDING_KEYS:
        return _SHARDING_KEYS[table]
    if "network" not in spec.column_names:
        raise StorageError(f"table {table} has neither a network column nor a sharding key")
    return "cityHash64(network)"


def _on_cluster(cluster: str | None) -> str:
    return f" ON CLUSTER {check_identifier(cluster)}" if cluster else ""


def local_table_sql(table: str, database: str, *, cluster: str | None = None, replicated: bool = False) -> str:
    """``CREATE TABLE IF NOT EXISTS <db>.<table>_local [ON CLUSTER c]``: the DDL file's table, renamed,
    with the ``Replicated`` engine variant when ``replicated``."""
    spec = table_spec(table)
    db = check_identifier(database)
    sql, n = _CREATE.subn(
        lambda m: f"CREATE TABLE IF NOT EXISTS {db}.{local_name(table)}{_on_cluster(cluster)}", spec.statement, count=1
    )
    if n != 1:
        raise StorageError(f"{table}.sql: no 'CREATE TABLE IF NOT EXISTS' line")
    if replicated:
        engine = _ENGINE.search(sql)
        if engine is None:
            raise StorageError(f"{table}.sql: no 'ENGINE = …MergeTree' line")
        args = [f"'/clickhouse/tables/{{shard}}/{db}/{table}'", "'{replica}'"]
        if engine.group(2):
            args.append(engine.group(2))
        sql = sql[: engine.start()] + f"ENGINE = Replicated{engine.group(1)}({', '.join(args)})" + sql[engine.end() :]
    return sql


def distributed_table_sql(table: str, database: str, cluster: str, *, on_cluster: bool = False) -> str:
    """``CREATE TABLE IF NOT EXISTS <db>.<table> … ENGINE = Distributed(<cluster>, <db>, <table>_local, <key>)``."""
    spec = table_spec(table)
    db = check_identifier(database)
    name = check_identifier(cluster)
    columns = ",\n".join(f"    {c.name} {c.type}" for c in spec.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {db}.{table}{_on_cluster(name) if on_cluster else ''}\n(\n{columns}\n)\n"
        f"ENGINE = Distributed({name}, {db}, {local_name(table)}, {sharding_key(table)})"
    )


def cluster_ddl(database: str, cluster: str, *, replicated: bool = False, on_cluster: bool = True) -> list[str]:
    """Every statement that sets up ``database`` on ``cluster``: the database, the local tables, the
    Distributed tables. ``on_cluster=False``: the per-node statements (run on each node)."""
    target = cluster if on_cluster else None
    statements = [create_database_sql(database) + _on_cluster(target)]
    statements += [local_table_sql(t, database, cluster=target, replicated=replicated) for t in TABLES]
    statements += [distributed_table_sql(t, database, cluster, on_cluster=on_cluster) for t in TABLES]
    return statements


def add_column_sql(spec: TableSpec, table_name: str, database: str, present: set[str]) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for each DDL column ``table_name`` lacks (a table made by an older DDL)."""
    out = []
    previous = None
    for column in spec.columns:
        if column.name not in present:
            after = f" AFTER {previous}" if previous else ""
            out.append(
                f"ALTER TABLE {check_identifier(database)}.{table_name} ADD COLUMN {column.name} {column.type}{after}"
            )
        previous = column.name
    return out
