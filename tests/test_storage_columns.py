"""The column path (models → columns → Arrow for chdb / column lists for clickhouse-driver on a server) stores
exactly what the row path (models → row dicts → Arrow / clickhouse-driver) stores, on awkward values, on both
backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from valuenet.analytics.storage import RowError, Store
from valuenet.analytics.storage.rows import model_columns, models_to_rows, prepare_batch, prepare_model_batch
from valuenet.analytics.storage.tables import table_spec
from valuenet.schemas import Flow, FlowType, Interaction, Kind, Segment, Source

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_DATETIME = datetime(2106, 2, 7, 6, 28, 15, 999_000, tzinfo=UTC)  # UInt32 seconds: the last DateTime
AWKWARD = [
    "",
    "é",
    "ünïcødé ✓ 价值 🚀",
    'O\'Brien \\ "q" %(name)s %s',
    "line\nbreak\ttab\x00nul",
    "a" * 127,  # the last one-byte length varint
    "b" * 128,  # the first two-byte one
    "ü" * 8192,  # 16384 UTF-8 bytes: the first three-byte varint
    "\u05e9\u05dc\u05d5\u05dd e\u0301",  # right-to-left text, a combining accent
]
STAMPS = [
    EPOCH,
    EPOCH + timedelta(microseconds=999),  # sub-millisecond: floors to 0 ms
    LAST_DATETIME,
    datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=14))),
]


def awkward_flows() -> list[Flow]:
    """Flows cycling through every enum value, None and "" in every Nullable string column, extreme ints."""
    flows = []
    segments, types, sources, kinds = list(Segment), list(FlowType), list(Source), list(Kind)
    for i in range(60):
        text = AWKWARD[i % len(AWKWARD)]
        maybe = None if i % 3 == 0 else ("" if i % 3 == 1 else text)
        flows.append(
            Flow(
                event_id=f"f-{i:03d}-{text[:20]}",
                network=text or "n",
                source=sources[i % len(sources)],
                kind=kinds[i % len(kinds)],
                timestamp=STAMPS[i % len(STAMPS)],
                giver=text,
                receiver=maybe,
                giver_segment=segments[i % len(segments)],
                receiver_segment=segments[(i * 3 + 1) % len(segments)],
                giver_team=maybe,
                receiver_team=None if i % 2 else text,
                flow_type=types[i % len(types)],
                confidence=(0.0, 1.0, 0.1234567890123)[i % 3],
                reason=text,
                channel=maybe,
                thread=None if i % 4 else text,
                parent_id=None if i % 5 else f"p-{i}",
                giver_followers=(None, 0, 2**63 - 1)[i % 3],
                seq=(None, -(2**63), 7)[i % 3],
                lane=(None, -(2**31), 2**31 - 1)[i % 3],
            )
        )
    return flows


def awkward_interactions() -> list[Interaction]:
    """Interactions with Nones, "", unicode metadata and extreme timestamps."""
    out = []
    sources, kinds = list(Source), list(Kind)
    for i in range(40):
        text = AWKWARD[i % len(AWKWARD)]
        maybe = None if i % 3 == 0 else ("" if i % 3 == 1 else text)
        meta: dict[str, Any] = (
            {},
            {"é": text, "n": i, "f": 0.5, "b": True, "none": None},
            {"nested key": "x' OR 1=1 --"},
        )[i % 3]
        out.append(
            Interaction(
                event_id=f"i-{i:03d}",
                network="acme" if i % 2 else "价值",
                source=sources[i % len(sources)],
                kind=kinds[i % len(kinds)],
                timestamp=STAMPS[i % len(STAMPS)],
                actor=text[:256] or "a",
                target=maybe,
                channel=maybe,
                thread=None if i % 4 else text,
                parent_id=maybe,
                text=maybe,
                url=None if i % 2 else "https://example.org/ü?q=1&x=%20",
                language=maybe,
                actor_name=maybe,
                actor_domain=maybe,
                actor_followers=(None, 0, 2**63 - 1)[i % 3],
                metadata=meta,
            )
        )
    return out


AWKWARD_MODELS = {"flows": awkward_flows, "interactions": awkward_interactions}


def stored(store: Store, table: str) -> list[dict[str, Any]]:
    """Every stored row of ``table``, every column, in key order."""
    cols = ", ".join(table_spec(table).column_names)
    return store.query(f"SELECT {cols} FROM {table} ORDER BY network, event_id")


@pytest.mark.parametrize("table", ["flows", "interactions"])
def test_column_path_stores_what_the_row_path_stores(store: Store, table: str) -> None:
    models: list[BaseModel] = list(AWKWARD_MODELS[table]())
    assert store.write(table, models_to_rows(table, models)) == len(models)  # the row path
    by_rows = stored(store, table)
    store.query(f"DROP TABLE {table}")
    store.setup()
    assert store.write_models(table, models) == len(models)  # the column path
    by_columns = stored(store, table)
    assert len(by_columns) == len(models)
    assert by_columns == by_rows
    # and the values are the models' own (not merely equally wrong on both paths)
    back = {m.event_id: m for m in store.read_models(table)}  # type: ignore[attr-defined]
    for m in models:
        got = back[m.event_id]  # type: ignore[attr-defined]
        expected = m.model_copy(update={"timestamp": _floor_ms(m.timestamp)})  # type: ignore[attr-defined]
        assert got == expected
    ts = {r["event_id"]: r["timestamp_ms"] for r in by_columns}
    assert ts[models[0].event_id] == 0  # type: ignore[attr-defined]
    assert ts[models[2].event_id] == (2**32 - 1) * 1000 + 999  # type: ignore[attr-defined]


def _floor_ms(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=t.microsecond // 1000 * 1000)


def test_model_columns_are_the_models_fields_in_ddl_order() -> None:
    flows = awkward_flows()
    columns = model_columns("flows", flows)
    assert list(columns) == [c for c in table_spec("flows").column_names if c != "timestamp_ms"]
    assert list(columns["receiver"]) == [f.receiver for f in flows]
    assert list(columns["flow_type"]) == [f.flow_type for f in flows]
    assert prepare_model_batch("flows", flows).equals(prepare_batch("flows", models_to_rows("flows", flows)))


def test_column_path_names_the_bad_row_and_column(store: Store) -> None:
    flows = awkward_flows()[:6]
    flows[4] = flows[4].model_copy(update={"timestamp": datetime(1969, 12, 31, 23, 59, tzinfo=UTC)})
    with pytest.raises(RowError) as info:
        store.write_models("flows", flows)
    assert (info.value.table, info.value.column, info.value.row) == ("flows", "timestamp", 4)
    flows[4] = flows[4].model_copy(update={"timestamp": EPOCH - timedelta(microseconds=1)})  # not rounded to 0
    with pytest.raises(RowError, match="outside DateTime range") as info:
        store.write_models("flows", flows)
    assert (info.value.column, info.value.row) == ("timestamp", 4)
    flows[4] = flows[4].model_copy(update={"timestamp": EPOCH, "giver_followers": 2**63})
    with pytest.raises(RowError) as info:
        store.write_models("flows", flows)
    assert (info.value.column, info.value.row) == ("giver_followers", 4)
    flows[4] = flows[4].model_copy(update={"giver_followers": 1, "reason": "lone \udcff surrogate"})
    with pytest.raises(RowError) as info:
        store.write_models("flows", flows)
    assert (info.value.column, info.value.row) == ("reason", 4)
    built = Flow.model_construct(event_id="x", network="n")  # no validation: required fields missing
    with pytest.raises(RowError) as info:
        store.write_models("flows", [flows[0], built])
    assert (info.value.column, info.value.row) == ("source", 1)
    assert store.count("flows") == 0


def test_values_only_the_encoder_refuses_name_their_row(store: Store) -> None:
    """Values pydantic never checked (``model_copy``) that the server path's driver refuses while encoding:
    the batch is re-validated, the row and column are named, nothing of the batch is stored, and the
    store keeps working; rows of a later batch are counted from the first model."""
    flows = awkward_flows()[:6]
    for column, value in [("flow_type", "gossip"), ("schema_version", 256), ("confidence", "high"), ("giver", 7)]:
        bad = list(flows)
        bad[3] = bad[3].model_copy(update={column: value})
        with pytest.raises(RowError) as info:
            store.write_models("flows", bad)
        assert (info.value.table, info.value.column, info.value.row) == ("flows", column, 3)
    assert store.count("flows") == 0
    store.batch_size = 2
    bad = list(flows)
    bad[5] = bad[5].model_copy(update={"giver_segment": "alien"})
    with pytest.raises(RowError) as info:
        store.write_models("flows", bad)
    assert (info.value.column, info.value.row) == ("giver_segment", 5)
    assert store.count("flows") == 4  # the two batches before the bad one
    assert store.write_models("flows", flows) == 6
    assert {r["event_id"] for r in stored(store, "flows")} == {f.event_id for f in flows}


def test_metadata_that_json_cannot_encode_names_its_row(store: Store) -> None:
    """msgspec refuses the batch's metadata column; value by value, the bad row is named, the rest unharmed."""
    items = awkward_interactions()[:5]
    items[3] = items[3].model_copy(update={"metadata": {"k": "lone \udcff surrogate"}})
    with pytest.raises(RowError) as info:
        store.write_models("interactions", items)
    assert (info.value.column, info.value.row) == ("metadata", 3)
    del items[3]
    assert store.write_models("interactions", items) == 4
    assert {r["event_id"] for r in stored(store, "interactions")} == {i.event_id for i in items}
