"""The valuenet tables: DDL files in ``schemas/clickhouse/`` and the column specs parsed from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import valuenet.schemas.clickhouse as _ddl_package
from valuenet.analytics.storage.exceptions import UnknownTableError

__all__ = [
    "TABLES",
    "REPLACING_TABLES",
    "DDL_DIR",
    "Column",
    "TableSpec",
    "table_spec",
    "create_database_sql",
    "check_identifier",
]

DDL_DIR = Path(_ddl_package.__file__).parent

TABLES: tuple[str, ...] = (
    "interactions",
    "flows",
    "actor_metrics",
    "network_metrics",
    "segment_flows",
    "alerts",
    "labels",
    "directory",
    "offsets",
)
"""Every valuenet table, in creation order."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_COLUMN_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(.+?),?\s*$")
_JSON_COLUMNS = {("interactions", "metadata")}


@dataclass(frozen=True)
class Column:
    """One column: its name, ClickHouse type and what the writer must do with it."""

    name: str
    type: str

    @cached_property
    def nullable(self) -> bool:
        """True for ``Nullable(...)`` columns."""
        return self.type.startswith("Nullable(")

    @cached_property
    def base_type(self) -> str:
        """The type without ``Nullable(...)``."""
        return self.type[len("Nullable(") : -1] if self.nullable else self.type

    @cached_property
    def is_datetime(self) -> bool:
        """True for ``DateTime`` / ``DateTime('UTC')`` columns."""
        return self.base_type.startswith("DateTime")


@dataclass(frozen=True)
class TableSpec:
    """A table's name, DDL text, engine and ordered columns."""

    name: str
    ddl: str
    columns: tuple[Column, ...]
    replacing: bool
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @property
    def statement(self) -> str:
        """The DDL without its ``--`` comment lines, ready to execute."""
        return "\n".join(l for l in self.ddl.splitlines() if not l.lstrip().startswith("--")).strip()

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        """Column names in DDL order."""
        return tuple(c.name for c in self.columns)

    @cached_property
    def ms_companions(self) -> dict[str, str]:
        """``{datetime column: its <name>_ms column}`` for datetime columns that have one."""
        names = set(self.column_names)
        return {c.name: f"{c.name}_ms" for c in self.columns if c.is_datetime and f"{c.name}_ms" in names}


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain ClickHouse identifier (used for database names), else raise."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


def create_database_sql(database: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS <database>`` for a checked identifier."""
    return f"CREATE DATABASE IF NOT EXISTS {check_identifier(database)}"


def _parse_columns(table: str, ddl: str) -> tuple[Column, ...]:
    start = ddl.index("(", ddl.index("CREATE TABLE"))
    end = ddl.index("\n)", start)
    columns = []
    for line in ddl[start + 1 : end].splitlines():
        line = line.split("--", 1)[0]
        if not line.strip():
            continue
        m = _COLUMN_LINE.match(line)
        if not m:
            raise ValueError(f"{table}.sql: cannot parse column line {line!r}")
        columns.append(Column(m.group(1), m.group(2).strip()))
    return tuple(columns)


@cache
def table_spec(table: str) -> TableSpec:
    """The parsed spec of one valuenet table; raises UnknownTableError for any other name."""
    if table not in TABLES:
        raise UnknownTableError(f"unknown table {table!r}; valuenet tables: {', '.join(TABLES)}")
    ddl = (DDL_DIR / f"{table}.sql").read_text(encoding="utf-8")
    return TableSpec(
        name=table,
        ddl=ddl,
        columns=_parse_columns(table, ddl),
        replacing="ReplacingMergeTree" in ddl,
        json_columns=frozenset(c for t, c in _JSON_COLUMNS if t == table),
    )


REPLACING_TABLES: frozenset[str] = frozenset(t for t in TABLES if table_spec(t).replacing)
"""Tables folded by key (read them with FINAL)."""
