"""The worker's one ClickHouse handle, written from a single I/O thread off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from pydantic import BaseModel

from analytics.storage.exceptions import RowError

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


class StoreSink:
    """Batching sink: ``await write(table, models)`` runs the insert on the I/O thread."""

    def __init__(self, store: Any) -> None:
        self.store = SerializedStore(store)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="valuenet-store")

    async def write(self, table: str, models: Sequence[BaseModel]) -> None:
        """Insert ``models`` into ``table``; returns when the store acknowledged (retrying while it is down)."""
        if models:
            await self._retrying(self.store.write_models, table, list(models))

    async def write_rows(self, table: str, rows: list[dict]) -> None:
        """Insert plain row dicts into ``table`` on the I/O thread."""
        if rows:
            await self._retrying(self.store.write, table, rows)

    async def _retrying(self, fn, table: str, rows: list) -> None:  # noqa: ANN001
        """A store that is down (restart, network) is waited for with backoff; a bad row is not retried.

        The batch's offsets are not committed meanwhile, so nothing is lost and the partition
        simply pauses (back-pressure) instead of the agent crashing.
        """
        loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            try:
                await loop.run_in_executor(self._io, fn, table, rows)
                return
            except RowError:
                raise
            except Exception as exc:  # noqa: BLE001 - driver errors vary by backend
                log.warning("store write to %s failed (%s); retrying in %.1fs", table, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def query(self, sql: str, params: dict | None = None) -> list[dict]:
        """Run a read query on the I/O thread."""
        return await asyncio.get_running_loop().run_in_executor(self._io, self.store.query, sql, params)

    async def call_async(self, fn, *args):  # noqa: ANN001, ANN201
        """Run ``fn(*args, store)`` on the I/O thread and await it."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args, self.store)


_sink: StoreSink | None = None


def get_sink() -> StoreSink:
    """The process-wide sink over ``open_store()`` (created and set up on first use)."""
    global _sink
    if _sink is None:
        from analytics.storage import open_store

        store = open_store()
        store.setup()
        _sink = StoreSink(store)
    return _sink
