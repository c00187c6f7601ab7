"""Embedded backend: chdb (in-process ClickHouse 26.x) under a data directory.

Batches go in as one Arrow IPC stream per INSERT (``send_insert(..., "ArrowStream")``):
the data travels as bytes next to the statement, never inside SQL text.

One process at a time: chdb locks ``<path>/status`` while any session on the
path is open; a second process gets :class:`StoreLockedError`. Inside one
process every session must use the same path (sessions share one embedded
server); a different path can be opened only after all sessions are closed.
Several ``ChdbStore`` objects on the same path in one process are fine, and
each keeps its own current database.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from chdb import session as chdb_session
from clickhouse_driver.util.escape import escape_params

from valuenet.analytics.storage.base import DEFAULT_BATCH_SIZE, DEFAULT_DATABASE, Store
from valuenet.analytics.storage.exceptions import StoreLockedError, WriteError
from valuenet.analytics.storage.health import SWALLOWED_NAMES
from valuenet.analytics.storage.tables import TableSpec, create_database_sql

__all__ = ["ChdbStore"]

_SESSION_SETTINGS = (
    "SET output_format_json_quote_64bit_integers = 0",
    "SET output_format_json_quote_denormals = 0",
    "SET session_timezone = 'UTC'",
    # ReplacingMergeTree folds replays at merge time and on FINAL reads, as on ClickHouse 18.16 (which has
    # no insert-time folding): skipping the fold of each inserted block cuts chdb's insert CPU by about a third
    "SET optimize_on_insert = 0",
)


#: The counters of the errors chdb's streaming INSERT reports as success (see :meth:`ChdbStore._insert`).
_SWALLOWED_SQL = "SELECT name, value, last_error_message FROM system.errors WHERE name IN ({})".format(
    ", ".join(f"'{name}'" for name in SWALLOWED_NAMES)
)


class SwallowedInsertError(WriteError):
    """An INSERT chdb acknowledged although it wrote nothing (the error only shows in ``system.errors``)."""

    def __init__(self, table: str, batch_size: int, name: str, message: str) -> None:
        super().__init__(table, batch_size, f"{message} ({name}; chdb acknowledged the INSERT, wrote nothing)")
        self.name = name
        self.store_reason = SWALLOWED_NAMES.get(name, "")


class _UTCServerInfo:
    """What clickhouse-driver's escaping asks of a connection: the server time zone (chdb runs in UTC)."""

    @staticmethod
    def get_timezone() -> str:
        return "UTC"


class _EscapeContext:
    server_info = _UTCServerInfo()


def _parse_datetime(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _converter(ch_type: str) -> Callable[[Any], Any] | None:
    base = ch_type[len("Nullable(") : -1] if ch_type.startswith("Nullable(") else ch_type
    if base.startswith("DateTime64"):
        return None
    if base.startswith("DateTime"):
        return _parse_datetime
    if base == "Date":
        return date.fromisoformat
    return None


class ChdbStore(Store):
    """Store on an embedded chdb session.

    Parameters
    ----------
    path : Path
        chdb data directory (``Settings.chdb_dir``: env ``VALUENET_CHDB_PATH``,
        default ``$VALUENET_HOME/chdb``). Created if missing.
    database : str, default "valuenet"
    batch_size : int, default 100_000
    """

    backend = "chdb"

    def __init__(
        self, path: Path | str, *, database: str = DEFAULT_DATABASE, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        super().__init__(database=database, batch_size=batch_size)
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._session: chdb_session.Session | None = chdb_session.Session(str(self.path))
        except RuntimeError as e:
            raise StoreLockedError(
                f"cannot open chdb data directory {self.path}: {e}. chdb allows one process per "
                "directory (and one directory per process); run the readers in the writer's process, "
                "or use a ClickHouse server (CLICKHOUSE_URL) when several processes need the store"
            ) from e
        for statement in _SESSION_SETTINGS:
            self._session.query(statement)
        self._errors_seen = self._swallowed_errors()
        self._use_database()

    def _use_database(self) -> None:
        """Switch to the store's database if it exists already (setup() creates it)."""
        found = self._session_query(
            "SELECT count() AS n FROM system.databases WHERE name = %(db)s", {"db": self.database}
        )
        if found[0]["n"]:
            self._execute(f"USE {self.database}")

    @property
    def session(self) -> chdb_session.Session:
        """The open chdb session (raises if closed)."""
        if self._session is None:
            raise RuntimeError("ChdbStore is closed")
        return self._session

    def close(self) -> None:
        """Close the session; the directory lock goes when the process's last session closes."""
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _create_database(self) -> None:
        self._execute(create_database_sql(self.database))
        self._execute(f"USE {self.database}")

    def _execute(self, sql: str) -> None:
        with self._lock:
            try:
                self.session.query(sql)
            except Exception:
                self._resync_errors()
                raise

    def _insert(self, spec: TableSpec, batch: pa.Table) -> None:
        """One streaming INSERT, then a look at ``system.errors``: chdb 4.x's ``send_insert`` reports success
        when writing the part failed (disk full, too many parts, a constraint): the rows are gone. A counter
        of such an error that grew during the insert raises :class:`SwallowedInsertError` instead."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_table(batch)
        statement = f"INSERT INTO {self.database}.{spec.name} ({', '.join(spec.column_names)})"
        with self._lock:
            try:
                with self.session.send_insert(statement, "ArrowStream") as inserter:
                    inserter.append(memoryview(sink.getvalue()))
                    inserter.finish()
            except Exception:
                self._resync_errors()
                raise
            before, self._errors_seen = self._errors_seen, self._swallowed_errors()
            grown = [(n, m) for n, (count, m) in self._errors_seen.items() if count > before.get(n, (0, ""))[0]]
        if grown:
            name, message = min(grown, key=lambda nm: list(SWALLOWED_NAMES).index(nm[0]))
            raise SwallowedInsertError(spec.name, batch.num_rows, name, message)

    def _resync_errors(self) -> None:
        """After a statement that raised: its error may have grown a counter :meth:`_insert` watches; not an insert's."""
        try:
            self._errors_seen = self._swallowed_errors()
        except Exception:  # noqa: BLE001 - the statement's own error is the one to raise
            pass

    def _swallowed_errors(self) -> dict[str, tuple[int, str]]:
        """``system.errors`` counters of :data:`SWALLOWED_NAMES`: name → (count, last message)."""
        raw = self.session.query(_SWALLOWED_SQL, "JSONCompact").bytes()
        rows = json.loads(raw)["data"] if raw else []
        return {name: (int(value), message) for name, value, message in rows}

    def _query(self, sql: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        return self._session_query(sql, params)

    def _session_query(self, sql: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        if params:
            sql = sql % escape_params(params, _EscapeContext())
        with self._lock:
            try:
                result = self.session.query(sql, "JSONCompact")
            except Exception:
                self._resync_errors()
                raise
        raw = result.bytes()
        if not raw:
            return []
        doc = json.loads(raw)
        names = [m["name"] for m in doc["meta"]]
        converters = [(i, c) for i, c in enumerate(_converter(m["type"]) for m in doc["meta"]) if c]
        out = []
        for values in doc["data"]:
            for i, convert in converters:
                if values[i] is not None:
                    values[i] = convert(values[i])
            out.append(dict(zip(names, values)))
        return out
