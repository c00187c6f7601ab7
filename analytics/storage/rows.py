"""Row conversion: pydantic models ↔ row dicts ↔ validated columnar batches (pyarrow).

A row is a dict keyed by column name. Values are plain Python: ``str``, ``int``,
``float``, ``None``, ``list``, str-``Enum`` members, timezone-aware ``datetime``
(or epoch seconds; naive values are read as UTC) for ``DateTime`` columns, and ``dict`` for JSON columns
(``interactions.metadata``). Every datetime column ``x`` has a companion
``x_ms`` (epoch milliseconds); a row may omit it and it is derived from ``x``.
Nullable columns may be omitted (``None``). Anything else missing, an unknown
column, a wrong type, a ``None`` in a non-Nullable column or an unknown enum
value raises :class:`RowError` naming the table, the column and the row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from operator import itemgetter
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from valuenet.analytics.storage.exceptions import RowError, StorageError
from valuenet.analytics.storage.tables import Column, TableSpec, table_spec
from valuenet.schemas import ActorMetrics, Alert, Flow, Interaction, NetworkMetrics, SegmentFlow
from valuenet.schemas.gcpause import paused_gc

__all__ = [
    "TABLE_MODELS",
    "prepare_batch",
    "prepare_columns",
    "prepare_model_batch",
    "prepare_model_columns",
    "model_columns",
    "models_to_rows",
    "row_to_model",
    "rows_to_models",
    "flows_from_rows",
]

TABLE_MODELS: dict[str, type[BaseModel]] = {
    "interactions": Interaction,
    "flows": Flow,
    "actor_metrics": ActorMetrics,
    "network_metrics": NetworkMetrics,
    "segment_flows": SegmentFlow,
    "alerts": Alert,
}
"""The pydantic model each model-backed table stores (labels, directory, offsets take plain dicts)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENUM_NAME = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "String": pa.string(),
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Int8": pa.int8(),
    "Int16": pa.int16(),
    "Int32": pa.int32(),
    "Int64": pa.int64(),
    "Float32": pa.float32(),
    "Float64": pa.float64(),
    "Date": pa.date32(),
    "Array(String)": pa.list_(pa.string()),
}


@cache
def _arrow_type(column: Column) -> pa.DataType:
    base = column.base_type
    if base.startswith("Enum8("):
        return pa.string()
    try:
        return _ARROW_TYPES[base]
    except KeyError:
        raise StorageError(f"column {column.name}: type {column.type} has no Arrow mapping") from None


@cache
def _enum_names(column: Column) -> pa.Array | None:
    if not column.base_type.startswith("Enum8("):
        return None
    return pa.array(_ENUM_NAME.findall(column.base_type), type=pa.string())


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain).encode
_FAST_JSON = msgspec.json.Encoder(order="sorted").encode  # the same compact, sorted, UTF-8 text, ~6× faster


def _json_text(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, dict) and not v:
        return "{}"  # most metadata: skip the encoder
    try:
        return _FAST_JSON(v).decode()
    except (
        TypeError,
        ValueError,
        msgspec.EncodeError,
    ):  # a value msgspec does not encode: the standard library says which
        return _JSON(v)


def _json_column(values: Sequence[Any]) -> list[Any]:
    """The JSON text of each value of a JSON column (text and None pass through unchanged)."""
    if set(map(type, values)) == {dict}:  # the usual case: every value encoded in C-level passes
        try:
            return list(map(bytes.decode, map(_FAST_JSON, values)))
        except (TypeError, ValueError, msgspec.EncodeError):
            pass  # a value msgspec refuses: value by value below, which says which
    return [_json_text(v) for v in values]


def _first_bad(table: str, column: str, values: Sequence[Any], type_: pa.DataType, n: int, err: Exception) -> RowError:
    """Locate the first value Arrow cannot convert (only on the error path)."""
    for i, v in enumerate(values):
        try:
            pa.array([v], type=type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, UnicodeEncodeError) as e:
            return RowError(table, column, i, n, f"{v!r}: {e}")
    return RowError(table, column, None, n, str(err))


def _to_array(
    table: str, column: str, values: Sequence[Any], type_: pa.DataType, n: int
) -> tuple[pa.Array, Sequence[Any]]:
    """Convert in C; str-Enum members pass as their values, other Enum members are mapped on retry.

    Returns the array and the Python values it was built from.
    """
    try:
        return pa.array(values, type=type_), values
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, UnicodeEncodeError) as e:
        if any(isinstance(v, Enum) for v in values):
            return _to_array(table, column, [_plain(v) for v in values], type_, n)
        raise _first_bad(table, column, values, type_, n, e) from e


def _first_true(mask: pa.Array) -> int:
    return int(pc.index(mask, True).as_py())


def _extract(rows: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    try:
        return [r[name] for r in rows]
    except KeyError:
        return [r.get(name) for r in rows]


def _datetime_arrays(
    spec: TableSpec, column: Column, values: Sequence[Any], given_ms: Sequence[Any] | None, n: int
) -> tuple[pa.Array, pa.Array]:
    """Seconds (uint32, for the DateTime column) and milliseconds (uint64) of one datetime column."""
    first = next((v for v in values if v is not None), None)
    if isinstance(first, datetime):
        # Arrow converts aware (any tzinfo: pydantic's TzInfo, zoneinfo, fixed offsets) and naive (read as
        # UTC) datetimes in C to exact microseconds: 2× faster than Python arithmetic on pydantic's datetimes
        micros, _ = _to_array(spec.name, column.name, values, pa.timestamp("us", tz="UTC"), n)
        micros = micros.cast(pa.int64())
        ms = pc.if_else(pc.less(micros, 0), pa.scalar(-1, pa.int64()), pc.divide(micros, 1000))  # < 1970: refused
    else:
        secs, _ = _to_array(spec.name, column.name, values, pa.int64(), n)
        ms = pc.multiply(secs, 1000)
    if given_ms is not None:
        explicit, _ = _to_array(spec.name, f"{column.name}_ms", given_ms, pa.int64(), n)
        ms = pc.coalesce(explicit, ms)
    secs = pc.divide(ms, 1000)
    try:
        return secs.cast(pa.uint32()), ms.cast(pa.uint64())
    except pa.ArrowInvalid as e:
        bad = _first_true(pc.or_(pc.less(ms, 0), pc.greater(secs, 2**32 - 1)))
        raise RowError(spec.name, column.name, bad, n, f"outside DateTime range 1970..2106: {e}") from e


def _present_columns(spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """The column names used by any row; raises RowError on the first unknown one."""
    present: set[str] = set().union(*rows) if rows else set()
    if not present <= set(spec.column_names):
        unknown = sorted(present - set(spec.column_names))[0]
        i = next(i for i, r in enumerate(rows) if unknown in r)
        raise RowError(spec.name, unknown, i, len(rows), "unknown column")
    return present


def _row_columns(spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
    """The values of each column any row uses, column by column (raises RowError on an unknown column)."""
    present = _present_columns(spec, rows)
    return {name: _extract(rows, name) for name in spec.column_names if name in present}


@cache
def _model_layout(table: str) -> tuple[type[BaseModel], tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The model class of ``table``, its stored fields in DDL order (no ``_ms`` companions) and their getter
    (over a model's ``__dict__``, where pydantic keeps field values: faster than attribute access)."""
    expected = TABLE_MODELS.get(table)
    if expected is None:
        raise StorageError(f"table {table!r} stores plain rows, not models; use write()")
    spec = table_spec(table)
    companions = set(spec.ms_companions.values())
    names = tuple(name for name in spec.column_names if name not in companions)
    return expected, names, itemgetter(*names)


def model_columns(table: str, models: Sequence[BaseModel]) -> dict[str, Sequence[Any]]:
    """The models' field values column by column, without building row dicts: one C ``itemgetter`` pass
    over the models' ``__dict__``, transposed by ``zip`` (the cyclic GC is paused meanwhile: it would
    rescan the batch for every few hundred tuples). Checks that every model is the table's model class."""
    expected, names, getter = _model_layout(table)
    n = len(models)
    wrong = {t for t in set(map(type, models)) if not issubclass(t, expected)}
    if wrong:
        i = next(i for i, m in enumerate(models) if type(m) in wrong)
        raise RowError(table, "*", i, n, f"expected {expected.__name__}, got {type(models[i]).__name__}")
    if not n:
        return {name: () for name in names}
    try:
        with paused_gc():
            columns = list(zip(*map(getter, map(vars, models))))
    except KeyError as e:  # a model built without a required field (model_construct)
        name = str(e.args[0])
        row = next((i for i, m in enumerate(models) if name not in vars(m)), None)
        raise RowError(table, name, row, n, "missing column") from e
    return dict(zip(names, columns))


def _column_values(
    spec: TableSpec, extracted: Mapping[str, Sequence[Any]], n: int
) -> Iterator[tuple[Column, Sequence[Any] | None, pa.Array | None]]:
    """Each DDL column in order as ``(column, values, array)``: a plain column's Python values
    (array None); a DateTime column's epoch seconds and then its ``_ms`` companion's epoch
    milliseconds as Arrow arrays (values None). A column missing from ``extracted`` is all None."""
    companions = spec.ms_companions
    companion_of = {ms: dt for dt, ms in companions.items()}
    derived: dict[str, pa.Array] = {}
    for column in spec.columns:
        name = column.name
        if name in companion_of:
            yield column, None, derived.pop(name)
            continue
        values = extracted.get(name)
        if values is None:
            values = [None] * n
        if column.is_datetime:
            ms_name = companions.get(name)
            given = extracted.get(ms_name) if ms_name else None
            secs, ms = _datetime_arrays(spec, column, values, given, n)
            if ms_name:
                derived[ms_name] = ms
            yield column, None, secs
        else:
            yield column, values, None


def prepare_columns(table: str, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Fast path for clickhouse-driver: Python column lists in DDL order, converted but not type-checked.

    Checks column names and converts DateTime (epoch seconds, ``_ms`` derived), Enum
    members and JSON columns; value types are left to the driver, which refuses a wrong
    type while serialising. Call :func:`prepare_batch` to locate the bad row then.
    """
    spec = table_spec(table)
    return _driver_columns(spec, _row_columns(spec, rows), len(rows))


def prepare_model_columns(table: str, models: Sequence[BaseModel]) -> list[list[Any]]:
    """:func:`prepare_columns` of pydantic models, without row dicts (:func:`model_columns`); call
    :func:`prepare_model_batch` to locate the bad row when the driver refuses them."""
    return _driver_columns(table_spec(table), model_columns(table, models), len(models))


def _pylist(array: pa.Array) -> list[Any]:
    """An Arrow array's values as a Python list (numpy's ``tolist`` when there is no null: faster)."""
    return array.to_pylist() if array.null_count else array.to_numpy(zero_copy_only=False).tolist()


def _driver_columns(spec: TableSpec, extracted: Mapping[str, Sequence[Any]], n: int) -> list[list[Any]]:
    """Fresh column lists (the driver rewrites them in place) of ``extracted`` columns, in DDL order."""
    columns: list[list[Any]] = []
    for column, values, array in _column_values(spec, extracted, n):
        if array is not None:
            columns.append(_pylist(array))
            continue
        assert values is not None  # a plain column: _column_values yields its values
        if column.name in spec.json_columns:
            values = _json_column(values)
        elif column.base_type.startswith("Enum8("):
            distinct = set(values)
            if any(isinstance(v, Enum) for v in distinct):
                values = list(map({v: _plain(v) for v in distinct}.__getitem__, values))
        columns.append(values if isinstance(values, list) else list(values))
    return columns


def prepare_batch(table: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Validate ``rows`` against ``table`` and return them as an Arrow table in DDL column order.

    DateTime columns become epoch seconds (uint32), their ``_ms`` companions epoch
    milliseconds (uint64), Enum members their values, JSON columns text.
    """
    spec = table_spec(table)
    return _arrow_batch(spec, _row_columns(spec, rows), len(rows), lambda i, name: name not in rows[i])


def prepare_model_batch(table: str, models: Sequence[BaseModel]) -> pa.Table:
    """:func:`prepare_batch` of pydantic models, column-oriented end to end (no row dicts): the same
    Arrow table, validated the same way (a bad value raises RowError naming column and row)."""
    return _arrow_batch(table_spec(table), model_columns(table, models), len(models), lambda i, name: False)


def _arrow_batch(
    spec: TableSpec, extracted: Mapping[str, Sequence[Any]], n: int, missing: Callable[[int, str], bool]
) -> pa.Table:
    """The validated Arrow table of ``extracted`` columns; ``missing(i, name)``: row i lacks the column."""
    table = spec.name
    companions = set(spec.ms_companions.values())
    arrays: list[pa.Array] = []
    for column, values, array in _column_values(spec, extracted, n):
        name = column.name
        if name in companions:
            arrays.append(array)
            continue
        if array is None:
            assert values is not None  # a plain column: _column_values yields its values
            if name in spec.json_columns:
                values = _json_column(values)
            array, plain = _to_array(table, name, values, _arrow_type(column), n)
            enum_names = _enum_names(column)
            if enum_names is not None:
                ok = pc.fill_null(pc.is_in(array, value_set=enum_names), True)
                if not pc.all(ok).as_py():
                    i = _first_true(pc.invert(ok))
                    raise RowError(table, name, i, n, f"{plain[i]!r} is not one of {enum_names.to_pylist()}")
        if not column.nullable and array.null_count:
            i = _first_true(array.is_null())
            reason = "missing column" if missing(i, name) else "None in a non-Nullable column"
            raise RowError(table, name, i, n, reason)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=list(spec.column_names))


def models_to_rows(table: str, models: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Row dicts of ``models`` (their field values, not copied); checks the model type fits ``table``."""
    expected = TABLE_MODELS.get(table)
    if expected is None:
        raise StorageError(f"table {table!r} stores plain rows, not models; use write()")
    rows = []
    for i, m in enumerate(models):
        if not isinstance(m, expected):
            raise RowError(table, "*", i, -1, f"expected {expected.__name__}, got {type(m).__name__}")
        rows.append(m.__dict__)
    return rows


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))


def row_to_model(table: str, row: dict[str, Any]) -> BaseModel:
    """Rebuild the pydantic model from a stored row (datetimes from their ``_ms`` companions)."""
    return TABLE_MODELS[table].model_validate(_model_data(table, row))


def flows_from_rows(rows: Iterable[dict[str, Any]]) -> list[Flow]:
    """Stored ``flows`` rows as Flow models (what a rebuild replays)."""
    return [Flow.model_validate(_model_data("flows", r)) for r in rows]


def _model_data(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A stored row's fields as its model takes them: datetimes from the ``_ms`` companions, JSON parsed."""
    spec = table_spec(table)
    data = dict(row)
    for dt, ms in spec.ms_companions.items():
        if ms in data:
            value = data.pop(ms)
            if dt in data and value is not None:
                data[dt] = _from_ms(value)
    for name in spec.json_columns:
        if isinstance(data.get(name), str):
            data[name] = json.loads(data[name])
    return data


def rows_to_models(table: str, rows: Iterable[dict[str, Any]]) -> list[BaseModel]:
    """:func:`row_to_model` over many rows."""
    return [row_to_model(table, r) for r in rows]
