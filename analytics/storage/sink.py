"""The worker's ClickHouse handles, written from I/O threads off the event loop.

Writes go through three lanes, each one thread with its own connection when the backend is a
ClickHouse server (chdb is one in-process session: its lanes share one lock): ``flows`` (the
graph agent's flows and its rebuild reads), ``ingest`` (interactions, directory) and
``snapshots`` (metric rows, alerts). A lane keeps its own order; a slow snapshot insert never
holds up the flows behind it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from valuenet.analytics.storage.exceptions import RowError
from valuenet.analytics.storage.health import blocked_reason, store_health
from valuenet.schemas.dlq import DlqRecord, dlq_record

__all__ = ["SerializedStore", "StoreSink", "get_sink", "is_transient", "rejected_row", "IsolatingWrite"]

log = logging.getLogger(__name__)


class SerializedStore:
    """A Store whose calls take one lock: the worker's agents and the in-process API share one chdb session.

    Writes are the exception: a Store's ``write`` / ``write_models`` first builds the batch's columns
    in Python and takes the store's own statement lock only for the INSERT, so one lane's column
    building overlaps another lane's insert (chdb inserts outside the GIL).
    """

    SELF_SERIALISED = frozenset({"write", "write_models"})

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr) or name in self.SELF_SERIALISED:
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked


LANES = {"flows": "flows", "interactions": "ingest", "directory": "ingest"}  # any other table: "snapshots"


class StoreSink:
    """Batching sink: ``await write(table, models)`` runs the insert on its lane's I/O thread."""

    def __init__(self, store: Any, open_connection: Callable[[], Any] | None = None) -> None:
        """``open_connection`` opens one more handle on the same database (None: lanes share ``store``)."""
        self.store = SerializedStore(store)
        self._open_connection = open_connection
        self._lanes: dict[str, tuple[ThreadPoolExecutor, Any]] = {}

    def _lane(self, table: str) -> tuple[ThreadPoolExecutor, Any]:
        """The (thread, store) of the lane that writes ``table`` (created on first use)."""
        name = LANES.get(table, "snapshots")
        lane = self._lanes.get(name)
        if lane is None:
            store = SerializedStore(self._open_connection()) if self._open_connection else self.store
            lane = self._lanes[name] = (ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"valuenet-{name}"), store)
        return lane

    async def write(self, table: str, models: Sequence[BaseModel]) -> list[DlqRecord]:
        """Insert ``models`` into ``table``; returns when the store acknowledged, with the dead letters of rows it refused."""
        if not models:
            return []
        return [rejected_row(table, row, exc) for row, exc in await self._retrying("write_models", table, list(models))]

    async def write_refused(self, table: str, models: Sequence[BaseModel]) -> list[tuple[BaseModel, DlqRecord]]:
        """As :meth:`write`, but each refused model beside its dead letter (the caller drops them from its state)."""
        if not models:
            return []
        refused = await self._retrying("write_models", table, list(models))
        return [(row, rejected_row(table, row, exc)) for row, exc in refused]

    async def write_rows(self, table: str, rows: list[dict]) -> list[DlqRecord]:
        """Insert plain row dicts into ``table`` on its lane's I/O thread; the dead letters of refused rows."""
        if not rows:
            return []
        return [rejected_row(table, row, exc) for row, exc in await self._retrying("write", table, rows)]

    async def _retrying(self, method: str, table: str, rows: list) -> list[tuple[Any, Exception]]:
        """A store that cannot take writes now is waited for with backoff; a bad row is isolated, not retried.

        Disk full, read-only, too many parts, unreachable (:func:`is_transient`): the batch's
        offsets are not committed meanwhile, so nothing is lost and the partition simply pauses
        (back-pressure) instead of the agent crashing; :func:`store_health` says why, at ERROR once
        per change of state and in ``/healthz`` and ``/metrics``. Any other error is the data's:
        :class:`IsolatingWrite` bisects the batch, writes the good rows and returns the refused ones.
        """
        loop = asyncio.get_running_loop()
        io, store = self._lane(table)
        fn = getattr(store, method)
        job = IsolatingWrite(fn, table, rows, getattr(store, "batch_size", 0) or len(rows))
        health = store_health()

        def waiting(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            if exc is not None:
                health.failed(table, exc, blocked_reason(exc) or "unavailable", delay)

        # only transient errors get out of IsolatingWrite: retried forever, RETRY_FIRST_S doubling up to RETRY_MAX_S
        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=RETRY_FIRST_S, max=RETRY_MAX_S),
            retry=retry_if_exception_type(Exception),
            before_sleep=waiting,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                refused = await loop.run_in_executor(io, job.run)
        if attempt.retry_state.attempt_number > 1:
            log.info("store write to %s succeeded after %d retries", table, attempt.retry_state.attempt_number - 1)
            health.succeeded(table)
        return refused

    async def query(self, sql: str, params: dict | None = None, *, lane: str = "flows") -> list[dict]:
        """Run a read query on the I/O thread of the lane that writes table ``lane``."""
        io, store = self._lane(lane)
        return await asyncio.get_running_loop().run_in_executor(io, store.query, sql, params)

    async def call_async(self, fn, *args, lane: str = "interactions"):
        """Run ``fn(*args, store)`` on the I/O thread of the lane that writes table ``lane`` and await it."""
        io, store = self._lane(lane)
        return await asyncio.get_running_loop().run_in_executor(io, fn, *args, store)


RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or an error it chains) says the store cannot take writes now, not that a row is wrong.

    Disk full, read-only, too many parts, out of memory, unreachable, a schema mismatch: the batch
    waits (:func:`~valuenet.analytics.storage.health.blocked_reason` names why).
    """
    return blocked_reason(exc) is not None


class IsolatingWrite:
    """One batch's write to ``table``: the rows the encoder or store refused are isolated, every other row written.

    :meth:`run` writes in chunks of the store's ``batch_size`` (one insert each, so a refused
    insert wrote nothing). A refused chunk is bisected until the offending rows stand alone (a
    RowError naming its row index takes that row out directly). A transient error
    (:func:`is_transient`) is raised with the unwritten parts kept: calling :meth:`run` again
    resumes there, so no row is inserted twice.
    """

    def __init__(self, write: Callable[[str, list], Any], table: str, rows: list, chunk: int) -> None:
        self.write = write
        self.table = table
        chunk = max(1, chunk)
        self.todo = [rows[i : i + chunk] for i in range(0, len(rows), chunk)][::-1]  # a stack: first chunk on top
        self.refused: list[tuple[Any, Exception]] = []

    def run(self) -> list[tuple[Any, Exception]]:
        """Write what is left; return the refused rows, each with its error (raises transient errors)."""
        while self.todo:
            part = self.todo.pop()
            try:
                self.write(self.table, part)
                continue
            except Exception as exc:
                if is_transient(exc):
                    self.todo.append(part)
                    raise
                self._split(part, exc)
        return self.refused

    def _split(self, part: list, exc: Exception) -> None:
        if len(part) == 1:
            self.refused.append((part[0], exc))
            return
        row = exc.row if isinstance(exc, RowError) and exc.batch_size == len(part) else None
        if row is not None and 0 <= row < len(part):
            self.refused.append((part[row], exc))
            self.todo.append(part[:row] + part[row + 1 :])
            return
        mid = len(part) // 2
        self.todo.extend((part[mid:], part[:mid]))


def rejected_row(table: str, row: Any, exc: Exception) -> DlqRecord:
    """The dead letter of one row ``table`` refused: the column when known, the store's reason."""
    fields = row if isinstance(row, dict) else getattr(row, "__dict__", {})
    column = exc.column if isinstance(exc, RowError) else _unencodable_column(fields)
    network = fields.get("network", "")
    reason = exc.reason if isinstance(exc, RowError) else _short(exc)
    log.warning("store refused a row of %s (column %s): %s", table, column, reason)
    return dlq_record(
        stage="sink",
        source=table,
        network=str(network or ""),
        reason=f"{table} refused the row: {reason}",
        field=f"{table}.{column}",
        record=row,
    )


def _unencodable_column(fields: dict[str, Any]) -> str:
    """The first column holding text UTF-8 cannot encode (a lone surrogate), else ``<row>``."""
    for name, value in fields.items():
        for text in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return name
    return "<row>"


def _short(exc: BaseException) -> str:
    """``Type: message`` of an error, first line, at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


_sink: StoreSink | None = None


def get_sink() -> StoreSink:
    """The process-wide sink over ``open_store()`` (created and set up on first use)."""
    global _sink
    if _sink is None:
        from valuenet.analytics.storage import open_store
        from valuenet.config import get_settings

        store = open_store()
        store.setup()
        server = bool(get_settings().clickhouse_url)  # a server takes one connection per lane
        _sink = StoreSink(store, (lambda: open_store(setup=False)) if server else None)
    return _sink
