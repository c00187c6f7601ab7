"""ClickHouse storage: one Store interface, two backends (embedded chdb, ClickHouse server).

>>> store = open_store()                     # chdb under Settings.chdb_dir, tables created
>>> store.write_models("flows", flows)       # batched, validated, idempotent per (network, event_id)
>>> store.query("SELECT flow_type, count() AS n FROM flows FINAL WHERE network = %(net)s GROUP BY flow_type",
...             {"net": "acme"})
"""

from __future__ import annotations

from valuenet.analytics.storage.base import DEFAULT_BATCH_SIZE, DEFAULT_DATABASE, Store
from valuenet.analytics.storage.exceptions import (
    QueryError,
    RowError,
    StorageError,
    StoreLockedError,
    UnknownTableError,
    WriteError,
)
from valuenet.analytics.storage.tables import REPLACING_TABLES, TABLES
from valuenet.config import Settings, get_settings

__all__ = [
    "open_store",
    "Store",
    "TABLES",
    "REPLACING_TABLES",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DATABASE",
    "StorageError",
    "StoreLockedError",
    "UnknownTableError",
    "RowError",
    "WriteError",
    "QueryError",
]


def open_store(
    settings: Settings | None = None,
    *,
    database: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    setup: bool = True,
) -> Store:
    """The configured Store: a ClickHouse server when ``CLICKHOUSE_URL`` is set, else chdb under ``chdb_dir``.

    ``database`` defaults to the URL's database (server) or "valuenet"; ``setup`` creates
    the database and tables (idempotent). ``CLICKHOUSE_CLUSTER``: Distributed tables on that cluster.
    """
    settings = settings or get_settings()
    store: Store
    if settings.clickhouse_url:
        from valuenet.analytics.storage.server_store import ServerStore

        store = ServerStore(
            settings.clickhouse_url, database=database, batch_size=batch_size, cluster=settings.clickhouse_cluster
        )
    elif settings.clickhouse_cluster:
        raise StorageError("CLICKHOUSE_CLUSTER needs CLICKHOUSE_URL (a server of the cluster); chdb is one process")
    else:
        from valuenet.analytics.storage.chdb_store import ChdbStore

        store = ChdbStore(settings.chdb_dir, database=database or DEFAULT_DATABASE, batch_size=batch_size)
    if setup:
        try:
            store.setup()
        except BaseException:
            store.close()
            raise
    return store
