"""Server backend: any ClickHouse server (18.16 and later) through clickhouse-driver's native protocol.

Batches go in as native columnar blocks (``INSERT INTO t (cols) VALUES``) through clickhouse-driver's
public columnar insert (``Client.execute(statement, columns, columnar=True)``): row dicts and models
alike become Python column lists (models without row dicts), which the driver encodes, refusing a
value it cannot; when it refuses a batch, the full validation names the bad row. Query parameters are
escaped by clickhouse-driver (pyformat ``%(name)s``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from clickhouse_driver import Client
from pydantic import BaseModel

from valuenet.analytics.storage.base import DEFAULT_BATCH_SIZE, Store, utc
from valuenet.analytics.storage.exceptions import StorageError
from valuenet.analytics.storage.rows import prepare_batch, prepare_columns, prepare_model_batch, prepare_model_columns
from valuenet.analytics.storage.tables import TableSpec, create_database_sql

__all__ = ["ServerStore", "database_from_url"]


def database_from_url(url: str, default: str = "valuenet") -> str:
    """The database named in a ``clickhouse://user:pass@host:port/db`` URL, or ``default``."""
    path = urlsplit(url).path.strip("/")
    return path or default


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead of the one it names."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def redacted_url(url: str) -> str:
    """``host:port/database`` of a ClickHouse URL, without user or password (safe for logs)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 9000}{parts.path}"


class ServerStore(Store):
    """Store on a ClickHouse server.

    Parameters
    ----------
    url : str
        ``clickhouse://user:pass@host:port/db`` (env ``CLICKHOUSE_URL``); secrets stay out of logs
        and ``repr``.
    database : str, optional
        Overrides the URL's database (default: the URL's, else "valuenet").
    batch_size : int, default 100_000
    cluster : str, optional
        Name of a cluster in the server's ``remote_servers`` (env ``CLICKHOUSE_CLUSTER``): tables are
        Distributed over ``<table>_local`` on every node (:mod:`~valuenet.analytics.storage.cluster`).
    """

    backend = "server"

    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cluster: str | None = None,
    ) -> None:
        super().__init__(database=database or database_from_url(url), batch_size=batch_size)
        self._url = url
        self._bootstrap_url = with_database(url, "system")
        self._client: Client | None = Client.from_url(with_database(url, self.database))
        self.cluster = cluster or None
        if self.cluster:
            from valuenet.analytics.storage.cluster import CLUSTER_SESSION_SETTINGS

            self._client.settings.update(CLUSTER_SESSION_SETTINGS)
        self._server_tz: Any = None
        self._lock = threading.Lock()  # one clickhouse-driver connection: one statement at a time

    @property
    def client(self) -> Client:
        """The clickhouse-driver client (raises if closed)."""
        if self._client is None:
            raise RuntimeError("ServerStore is closed")
        return self._client

    def close(self) -> None:
        """Disconnect (idempotent)."""
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client = None

    def setup(self) -> None:
        """Single node: the base setup. On a cluster: the per-node DDL on every node of the cluster."""
        if not self.cluster:
            super().setup()
            return
        from valuenet.analytics.storage.cluster_setup import setup_cluster

        try:
            setup_cluster(self._bootstrap_url, self.database, self.cluster)
        except StorageError:
            raise
        except Exception as e:
            raise StorageError(f"setting up {self.database} on cluster {self.cluster} failed: {e}") from e

    def _create_database(self) -> None:
        bootstrap = Client.from_url(self._bootstrap_url)
        try:
            bootstrap.execute(create_database_sql(self.database))
        finally:
            bootstrap.disconnect()

    def _execute(self, sql: str) -> None:
        with self._lock:
            self.client.execute(sql)

    def _prepare(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        """Column lists for the driver; full validation only runs if the driver refuses the batch."""
        return prepare_columns(table, rows)

    def _diagnose(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Find the row the driver refused (raises RowError naming it)."""
        prepare_batch(table, rows)

    def _prepare_models(self, table: str, models: Sequence[BaseModel]) -> list[list[Any]]:
        """Column lists straight from the models' attributes; validated only if the driver refuses them."""
        return prepare_model_columns(table, models)

    def _diagnose_models(self, table: str, models: Sequence[BaseModel]) -> None:
        """Find the model the driver refused (raises RowError naming its row and column)."""
        prepare_model_batch(table, models)

    def _insert(self, spec: TableSpec, batch: list[list[Any]]) -> None:
        """One columnar INSERT of column lists in DDL order (the driver encodes them)."""
        statement = f"INSERT INTO {spec.name} ({', '.join(spec.column_names)}) VALUES"
        with self._lock:
            self.client.execute(statement, batch, columnar=True, types_check=False)

    def _timezone(self) -> Any:
        if self._server_tz is None:
            name = self.client.connection.server_info.get_timezone()  # known after the first query
            self._server_tz = ZoneInfo(name)
        return self._server_tz

    def _query(self, sql: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        with self._lock:
            rows, columns = self.client.execute(sql, params, with_column_types=True)
        names = [name for name, _ in columns]
        dt_idx = [i for i, (_, ch_type) in enumerate(columns) if "DateTime" in ch_type and "Array" not in ch_type]
        if not dt_idx:
            return [dict(zip(names, row)) for row in rows]
        tz = self._timezone()
        out = []
        for row in rows:
            values = list(row)
            for i in dt_idx:
                if isinstance(values[i], datetime):
                    values[i] = utc(values[i], tz)
            out.append(dict(zip(names, values)))
        return out

    def __repr__(self) -> str:
        cluster = f" cluster={self.cluster}" if self.cluster else ""
        return f"<ServerStore {redacted_url(self._url)} database={self.database}{cluster}>"
