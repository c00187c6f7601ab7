"""Storage errors: one small hierarchy; driver errors are chained (``raise ... from e``)."""

from __future__ import annotations

__all__ = ["StorageError", "StoreLockedError", "UnknownTableError", "RowError", "WriteError", "QueryError"]


class StorageError(Exception):
    """Base class of every storage error."""


class StoreLockedError(StorageError):
    """The chdb data directory is held by another process (or this process opened another path)."""


class UnknownTableError(StorageError):
    """A table name that is not one of the valuenet tables."""


class RowError(StorageError, ValueError):
    """A row in a batch does not fit its table: names the table, column and row index."""

    def __init__(self, table: str, column: str, row: int | None, batch_size: int, reason: str) -> None:
        where = f"row {row}" if row is not None else "a row"
        super().__init__(f"{table}.{column}: {where} of a batch of {batch_size}: {reason}")
        self.table = table
        self.column = column
        self.row = row
        self.batch_size = batch_size
        self.reason = reason


class WriteError(StorageError):
    """The backend refused a batch; the driver's error is chained."""

    def __init__(self, table: str, batch_size: int, reason: str) -> None:
        super().__init__(f"writing {batch_size} rows to {table} failed: {reason}")
        self.table = table
        self.batch_size = batch_size


class QueryError(StorageError):
    """A query failed; the driver's error is chained."""
