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

from valuenet.analytics.storage.exceptions import RowError

__all__ = ["SerializedStore", "StoreSink", "get_sink"]

log = logging.getLogger(__name__)


class SerializedStore:
    """A Store whose calls take one lock: the worker's agents and the in-process API share one chdb session."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
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

    async def write(self, table: str, models: Sequence[BaseModel]) -> None:
        """Insert ``models`` into ``table``; returns when the store acknowledged (retrying while it is down)."""
        if models:
            await self._retrying("write_models", table, list(models))

    async def write_rows(self, table: str, rows: list[dict]) -> None:
        """Insert plain row dicts into ``table`` on its lane's I/O thread."""
        if rows:
            await self._retrying("write", table, rows)

    async def _retrying(self, method: str, table: str, rows: list) -> None:
        """A store that is down (restart, network) is waited for with backoff; a bad row is not retried.

        The batch's offsets are not committed meanwhile, so nothing is lost and the partition
        simply pauses (back-pressure) instead of the agent crashing.
        """
        loop = asyncio.get_running_loop()
        io, store = self._lane(table)
        fn = getattr(store, method)
        delay = 0.5
        while True:
            try:
                await loop.run_in_executor(io, fn, table, rows)
                return
            except RowError:
                raise
            except Exception as exc:  # noqa: BLE001 - driver errors vary by backend
                log.warning("store write to %s failed (%s); retrying in %.1fs", table, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def query(self, sql: str, params: dict | None = None, *, lane: str = "flows") -> list[dict]:
        """Run a read query on the I/O thread of the lane that writes table ``lane``."""
        io, store = self._lane(lane)
        return await asyncio.get_running_loop().run_in_executor(io, store.query, sql, params)

    async def call_async(self, fn, *args, lane: str = "interactions"):
        """Run ``fn(*args, store)`` on the I/O thread of the lane that writes table ``lane`` and await it."""
        io, store = self._lane(lane)
        return await asyncio.get_running_loop().run_in_executor(io, fn, *args, store)


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
