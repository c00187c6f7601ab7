"""The Store interface: a batching ClickHouse sink (``setup()`` + ``write(table, rows)``) that can also query.

Two backends implement it: :class:`~valuenet.analytics.storage.chdb_store.ChdbStore`
(embedded chdb) and :class:`~valuenet.analytics.storage.server_store.ServerStore`
(any ClickHouse server through clickhouse-driver). The same SQL runs on both:
ClickHouse 18.16 and chdb's 26.x.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from enum import Enum
from types import TracebackType
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel

from valuenet.analytics.storage.exceptions import QueryError, RowError, StorageError, WriteError
from valuenet.analytics.storage.rows import TABLE_MODELS, prepare_batch, prepare_model_batch, rows_to_models
from valuenet.analytics.storage.tables import TABLES, TableSpec, check_identifier, table_spec

__all__ = ["Store", "DEFAULT_BATCH_SIZE", "DEFAULT_DATABASE", "check_params"]

DEFAULT_BATCH_SIZE = 100_000
"""Rows per INSERT; larger writes are split."""

DEFAULT_DATABASE = "valuenet"

_SCALARS = (str, int, float, bool, datetime, date, time, Enum, UUID, type(None))


def _check_param(name: str, value: Any) -> None:
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_param(name, v)
    elif not isinstance(value, _SCALARS):
        raise QueryError(f"query parameter {name!r}: unsupported type {type(value).__name__}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise QueryError(f"query parameter {name!r}: {value} is not a finite number")


def check_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate pyformat parameters: only scalars clickhouse-driver escapes (and lists/tuples of them)."""
    if not params:
        return None
    if not isinstance(params, Mapping):
        raise QueryError("query parameters must be a dict for %(name)s placeholders")
    checked = {}
    for name, value in params.items():
        _check_param(name, value)
        checked[name] = int(value) if isinstance(value, bool) else value  # 18.16 has no true/false literals
    return checked


def utc(value: datetime, assume: tzinfo = UTC) -> datetime:
    """An aware UTC datetime; naive values are read in ``assume``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=assume)
    return value.astimezone(UTC)


class Store(ABC):
    """One ClickHouse database holding the valuenet tables.

    Parameters (keyword-only in subclasses)
    ----------
    database : str, default "valuenet"
        Database that holds the tables (created by ``setup()``).
    batch_size : int, default 100_000
        Rows per INSERT; ``write`` splits larger inputs.

    Notes
    -----
    Query results are ``list[dict]`` with the same Python types on both
    backends: ``str``, ``int``, ``float``, ``None``, ``list``, ``date`` and
    aware UTC ``datetime`` (Enum8 values come back as their names).
    """

    backend: ClassVar[str]

    def __init__(self, *, database: str = DEFAULT_DATABASE, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.database = check_identifier(database)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = batch_size

    # -- the interface ---------------------------------------------------------------

    def setup(self) -> None:
        """Create the database and every table if missing, and add columns a newer DDL has (idempotent)."""
        self._create_database()
        for table in TABLES:
            spec = table_spec(table)
            try:
                self._execute(spec.statement)
                self._add_missing_columns(spec)
            except Exception as e:
                raise StorageError(f"creating table {table} in {self.database} ({self.backend}) failed: {e}") from e

    def _add_missing_columns(self, spec: TableSpec) -> None:
        """``ALTER TABLE … ADD COLUMN`` for each DDL column an existing table lacks (a store made by an older
        version: e.g. ``flows.lane``); existing rows read the column's default (NULL for Nullable)."""
        rows = self._query(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s",
            {"db": self.database, "t": spec.name},
        )
        present = {r["name"] for r in rows}
        previous = None
        for column in spec.columns:
            if column.name not in present:
                after = f" AFTER {previous}" if previous else ""
                self._execute(f"ALTER TABLE {self.database}.{spec.name} ADD COLUMN {column.name} {column.type}{after}")
            previous = column.name

    def write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (dicts keyed by column) in batches of ``batch_size``; return the rows written.

        Raises RowError (table, column, row index) for a row that does not fit, WriteError
        (table, batch size, the driver's error chained) when the backend refuses a batch.
        """
        return self._write_batches(table, rows, self._prepare, self._diagnose)

    def write_models(self, table: str, models: Iterable[BaseModel]) -> int:
        """Insert pydantic models (the table's model: Flow for flows, ...); return the rows written.

        Column-oriented end to end: the models' attributes go straight into columns (no row
        dicts); the same validation and errors as :meth:`write`.
        """
        batch = models if isinstance(models, Sequence) else list(models)
        return self._write_batches(table, batch, self._prepare_models, self._diagnose_models)

    def _write_batches(
        self,
        table: str,
        items: Sequence[Any],
        prepare: Callable[[str, Sequence[Any]], Any],
        diagnose: Callable[[str, Sequence[Any]], None],
    ) -> int:
        """``prepare`` and insert ``items`` in chunks of ``batch_size``; ``diagnose`` names the bad row
        of a chunk the backend refused (raises RowError)."""
        spec = table_spec(table)
        written = 0
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            try:
                batch = prepare(table, chunk)
                try:
                    self._insert(spec, batch)
                except Exception as e:
                    diagnose(table, chunk)
                    raise WriteError(table, len(chunk), f"{type(e).__name__}: {e}") from e
            except RowError as e:
                if start and e.row is not None:
                    raise RowError(table, e.column, start + e.row, len(items), e.reason) from e
                raise
            written += len(chunk)
        return written

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` with pyformat ``%(name)s`` parameters (escaped, never spliced raw); rows as dicts."""
        checked = check_params(params)
        try:
            return self._query(sql, checked)
        except StorageError:
            raise
        except Exception as e:
            raise QueryError(f"{self.backend} query failed: {type(e).__name__}: {e}\n  sql: {sql.strip()[:500]}") from e

    def count(self, table: str, network: str | None = None) -> int:
        """Rows in ``table`` (after folding replays for ReplacingMergeTree tables), optionally of one network."""
        spec = table_spec(table)
        final = " FINAL" if spec.replacing else ""
        if network is None:
            return int(self.query(f"SELECT count() AS n FROM {table}{final}")[0]["n"])
        if "network" not in spec.column_names:
            raise StorageError(f"table {table} has no network column")
        rows = self.query(f"SELECT count() AS n FROM {table}{final} WHERE network = %(network)s", {"network": network})
        return int(rows[0]["n"])

    def read_models(self, table: str, network: str | None = None) -> list[BaseModel]:
        """Every stored model of ``table`` (FINAL for replay-folded tables), in sort-key order."""
        if table not in TABLE_MODELS:
            raise StorageError(f"table {table!r} stores plain rows, not models; use query()")
        spec = table_spec(table)
        final = " FINAL" if spec.replacing else ""
        order = _ORDER_KEYS[table]
        where = " WHERE network = %(network)s" if network is not None else ""
        params = {"network": network} if network is not None else None
        cols = ", ".join(spec.column_names)
        return rows_to_models(table, self.query(f"SELECT {cols} FROM {table}{final}{where} ORDER BY {order}", params))

    @abstractmethod
    def close(self) -> None:
        """Release the connection or session (idempotent)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} database={self.database}>"

    # -- backend hooks ---------------------------------------------------------------

    @abstractmethod
    def _create_database(self) -> None:
        """Create ``self.database`` if missing and make it the current database."""

    @abstractmethod
    def _execute(self, sql: str) -> None:
        """Run one statement that returns nothing (DDL)."""

    def _prepare(self, table: str, rows: Sequence[Mapping[str, Any]]) -> Any:
        """Turn rows into what ``_insert`` takes (default: a validated Arrow batch)."""
        return prepare_batch(table, rows)

    def _prepare_models(self, table: str, models: Sequence[BaseModel]) -> Any:
        """Turn models into what ``_insert`` takes (default: the validated Arrow batch, column by column)."""
        return prepare_model_batch(table, models)

    def _diagnose(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """After the backend refused a batch: raise RowError if a row is at fault (default: already validated)."""

    def _diagnose_models(self, table: str, models: Sequence[BaseModel]) -> None:
        """:meth:`_diagnose` for :meth:`write_models` (default: already validated)."""

    @abstractmethod
    def _insert(self, spec: TableSpec, batch: Any) -> None:
        """Insert one prepared batch (columns in DDL order)."""

    @abstractmethod
    def _query(self, sql: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Run one query; params already checked."""


_ORDER_KEYS = {
    "interactions": "network, event_id",
    "flows": "network, event_id",
    "actor_metrics": "network, window, computed_at_ms, actor",
    "network_metrics": "network, window, computed_at_ms",
    "segment_flows": "network, window, computed_at_ms, src_segment, dst_segment",
    "alerts": "network, window, raised_at_ms, kind, subject",
}
