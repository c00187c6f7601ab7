"""ClickHouse Native-format columns built from a validated Arrow batch with numpy (no per-value Python).

clickhouse-driver serialises a columnar insert value by value in Python (null maps, Enum
names, DateTime conversion); this module builds the same bytes from the Arrow arrays that
:func:`~valuenet.analytics.storage.rows.prepare_model_batch` validated, and :func:`insert_native`
sends them as the Data packet of an ordinary clickhouse-driver INSERT exchange (query, sample
block, data, end of data): the driver still owns the connection, the protocol handshake,
compression and error handling. A column type not handled here (``Array``, ``DateTime64``, …)
goes through the driver's own encoder instead, so any table can be sent. Works with the
protocol of ClickHouse 18.16 and later (columns encoded as the server's sample block declares).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # clickhouse-driver is imported where a block is sent: encoding needs only numpy and Arrow
    from clickhouse_driver import Client

__all__ = ["block_bytes", "column_bytes", "insert_native", "string_bytes", "strings_bytes"]

_FIXED: dict[str, tuple[pa.DataType, str]] = {
    "UInt8": (pa.uint8(), "<u1"),
    "UInt16": (pa.uint16(), "<u2"),
    "UInt32": (pa.uint32(), "<u4"),
    "UInt64": (pa.uint64(), "<u8"),
    "Int8": (pa.int8(), "<i1"),
    "Int16": (pa.int16(), "<i2"),
    "Int32": (pa.int32(), "<i4"),
    "Int64": (pa.int64(), "<i8"),
    "Float32": (pa.float32(), "<f4"),
    "Float64": (pa.float64(), "<f8"),
}
_DATETIME = re.compile(r"^DateTime(\('[^']*'\))?$")
_ENUM8 = re.compile(r"^Enum8\((.*)\)$")
_ENUM_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=\s*(-?\d+)")


def string_bytes(array: pa.Array) -> bytes:
    """Native ``String`` column: each value as its UTF-8 length (unsigned LEB128 varint) then its bytes
    (a null is written as the empty string)."""
    return strings_bytes([array])[0]


def strings_bytes(arrays: Sequence[pa.Array]) -> list[bytes]:
    """:func:`string_bytes` of several string arrays at once (one set of Arrow/numpy calls for a whole block).

    The varints are built with numpy and joined to the values element-wise by Arrow, whose data
    buffer is then exactly the columns' bytes, one after the other.
    """
    if not arrays:
        return []
    sizes = [len(a) for a in arrays]
    whole = pa.concat_arrays(list(arrays)) if len(arrays) > 1 else arrays[0]
    n = len(whole)
    if not n:
        return [b"" for _ in arrays]
    lengths = pc.binary_length(whole)
    if lengths.null_count:
        lengths = lengths.fill_null(0)
    lengths = lengths.to_numpy(zero_copy_only=False)
    if int(lengths.max()) < 0x80:  # the usual case: every length prefix is one byte
        varints = lengths.astype(np.uint8)
        offsets = np.arange(n + 1, dtype=np.int32)
    else:
        lengths = lengths.astype(np.int64)
        vlen = np.ones(n, dtype=np.int64)  # varint width: 7 bits per byte
        for shift in (7, 14, 21, 28):
            vlen += lengths >= (1 << shift)
        row = np.repeat(np.arange(n), vlen)
        k = np.arange(len(row)) - np.repeat(np.cumsum(vlen) - vlen, vlen)  # byte index inside each varint
        varints = (((lengths[row] >> (7 * k)) & 0x7F) | ((k < vlen[row] - 1) << 7)).astype(np.uint8)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(vlen, out=offsets[1:])
    prefix = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(varints)])
    joined = pc.binary_join_element_wise(
        prefix, whole.cast(pa.binary()), pa.scalar(b"", pa.binary()), null_handling="replace", null_replacement=""
    )
    _, joined_offsets, data = joined.buffers()
    bounds = np.frombuffer(joined_offsets, dtype=np.int32, count=joined.offset + n + 1)[joined.offset :]
    edges = bounds[np.cumsum([0, *sizes])].tolist()  # each column's first and last byte
    view = memoryview(data)
    return [bytes(view[start:end]) for start, end in zip(edges, edges[1:], strict=False)]


@cache
def _enum8_table(spec: str) -> tuple[pa.Array, np.ndarray]:
    """The names (Arrow) and Int8 codes (numpy) an ``Enum8(...)`` type declares."""
    items = _ENUM_ITEM.findall(spec)
    names = pa.array([name.replace("\\'", "'") for name, _ in items], type=pa.string())
    return names, np.array([int(code) for _, code in items], dtype="<i1")


def _enum8_bytes(spec: str, array: pa.Array) -> bytes:
    """Native ``Enum8``: each name's Int8 code (validated names; a null gets the first code)."""
    names, codes = _enum8_table(spec)
    index = pc.index_in(array, value_set=names).fill_null(0).to_numpy(zero_copy_only=False)
    return bytes(codes[index].tobytes())


def _one_array(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one array (a table's single-chunk column without a copy)."""
    if not isinstance(array, pa.ChunkedArray):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()


def _split(ch_type: str) -> tuple[bool, str]:
    """(Nullable?, the type inside)."""
    nullable = ch_type.startswith("Nullable(")
    return nullable, ch_type[len("Nullable(") : -1] if nullable else ch_type


def _is_string(base: str, array: pa.Array) -> bool:
    return base == "String" and array.type == pa.string()


def _values_bytes(base: str, array: pa.Array) -> bytes | None:
    """The nested (non-Nullable) values of one column, or None when ``base``/``array`` are not handled here."""
    if base in _FIXED or _DATETIME.match(base):
        arrow_type, dtype = _FIXED.get(base, (pa.uint32(), "<u4"))
        if array.type != arrow_type:
            return None
        if array.null_count:
            array = array.fill_null(0)
        return bytes(array.to_numpy(zero_copy_only=False).astype(dtype, copy=False).tobytes())
    if _is_string(base, array):
        return string_bytes(array)
    if _ENUM8.match(base) and array.type == pa.string():
        return _enum8_bytes(base, array)
    return None


def _null_map(array: pa.Array) -> bytes:
    """A Nullable column's null map: one byte per row, 1 for NULL."""
    if not array.null_count:
        return bytes(len(array))
    return bytes(array.is_null().to_numpy(zero_copy_only=False).astype(np.uint8).tobytes())


def column_bytes(ch_type: str, array: pa.Array | pa.ChunkedArray) -> bytes | None:
    """Native encoding of ``array`` as a column of type ``ch_type`` (``Nullable``: null map, then values);
    None for a type or Arrow type this module leaves to clickhouse-driver."""
    return block_bytes([ch_type], [array])[0]


def block_bytes(ch_types: Sequence[str], arrays: Sequence[pa.Array | pa.ChunkedArray]) -> list[bytes | None]:
    """:func:`column_bytes` of each column of a block; the String columns are encoded together."""
    plain = [_one_array(a) for a in arrays]
    kinds = [_split(t) for t in ch_types]
    strings = [i for i, ((_, base), a) in enumerate(zip(kinds, plain, strict=True)) if _is_string(base, a)]
    values: dict[int, bytes | None] = dict(zip(strings, strings_bytes([plain[i] for i in strings]), strict=True))
    out: list[bytes | None] = []
    for i, ((nullable, base), array) in enumerate(zip(kinds, plain, strict=True)):
        body = values[i] if i in values else _values_bytes(base, array)
        out.append(_null_map(array) + body if nullable and body is not None else body)
    return out


def _send_block(client: Client, columns: Sequence[tuple[str, str, bytes]], n_rows: int) -> None:
    """One Data packet holding pre-encoded columns, framed as the driver's BlockOutputStream frames a block."""
    from clickhouse_driver import defines
    from clickhouse_driver.block import BlockInfo
    from clickhouse_driver.protocol import ClientPacketTypes
    from clickhouse_driver.varint import write_varint
    from clickhouse_driver.writer import write_binary_str, write_binary_uint8

    connection = client.connection
    revision = connection.server_info.used_revision
    write_varint(ClientPacketTypes.DATA, connection.fout)
    if revision >= defines.DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES:
        write_binary_str("", connection.fout)
    out = connection.block_out
    if revision >= defines.DBMS_MIN_REVISION_WITH_BLOCK_INFO:
        BlockInfo().write(out.fout)
    write_varint(len(columns), out.fout)
    write_varint(n_rows, out.fout)
    for name, ch_type, payload in columns:
        write_binary_str(name, out.fout)
        write_binary_str(ch_type, out.fout)
        if revision >= defines.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
            write_binary_uint8(0, out.fout)
        out.fout.write(payload)
    out.finalize()


def insert_native(client: Client, statement: str, batch: pa.Table) -> int:
    """``INSERT … VALUES`` of an Arrow batch (columns in the statement's order) through ``client``;
    returns the rows sent. Columns are encoded as the server's sample block types them."""
    from clickhouse_driver.block import ColumnOrientedBlock

    with client.disconnect_on_error(statement, None):
        connection = client.connection
        connection.send_query(statement)
        connection.send_external_tables(None)
        sample = client.receive_sample_block()
        if sample is None:
            return 0
        types = sample.columns_with_types
        if [name for name, _ in types] != batch.column_names:
            raise ValueError(f"the server expects columns {[n for n, _ in types]}, the batch has {batch.column_names}")
        encoded = block_bytes([ch_type for _, ch_type in types], batch.columns)
        if all(e is not None for e in encoded):
            _send_block(
                client, [(n, t, e) for (n, t), e in zip(types, encoded, strict=True) if e is not None], len(batch)
            )
            client.receive_profile_events()
            connection.send_data(ColumnOrientedBlock())  # an empty block ends the data
            client.receive_profile_events()
        else:  # a type this module does not encode: the driver encodes the whole batch
            columns: list[Any] = [column.to_pylist() for column in batch.columns]
            client.send_data(sample, columns, columnar=True)
        client.receive_end_of_insert_query()
    return len(batch)
