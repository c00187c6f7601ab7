"""Storage suite: the same tests against embedded chdb and Debian's clickhouse-server (18.16)."""

from __future__ import annotations

import subprocess
import sys
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel

from valuenet.analytics.storage import (
    QueryError,
    RowError,
    Store,
    StoreLockedError,
    UnknownTableError,
    WriteError,
    open_store,
)
from valuenet.analytics.storage.rows import TABLE_MODELS, prepare_batch, prepare_columns
from valuenet.analytics.storage.tables import table_spec
from valuenet.config import Settings
from valuenet.localstack.clickhouse_server import ClickHouseServer
from valuenet.schemas import (
    ActorMetrics,
    Alert,
    Flow,
    FlowType,
    Interaction,
    Kind,
    NetworkMetrics,
    Segment,
    SegmentFlow,
    Source,
)

if typing.TYPE_CHECKING:  # the store classes import chdb / clickhouse_driver: inside the tests that need them
    from valuenet.analytics.storage.chdb_store import ChdbStore

T0 = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
CEST = timezone(timedelta(hours=2))
TRICKY = [
    "O'Brien",
    "back\\slash",
    "quote\" and 'single'",
    "ünïcødé ✓ 价值 🚀",
    "line\nbreak\ttab",
    "x' OR 1=1 --",
    "%(name)s %s %%",
]


def make_flows(n: int, network: str = "acme", start: int = 0) -> list[Flow]:
    """``n`` flows with millisecond timestamps and every flow type."""
    types = [FlowType.knowledge, FlowType.idea, FlowType.reputation, FlowType.none]
    return [
        Flow(
            event_id=f"ev-{i}",
            network=network,
            source=Source.git,
            kind=Kind.review,
            timestamp=T0 + timedelta(milliseconds=37 * i),
            giver=f"actor-{i % 13}",
            receiver=None if i % 11 == 0 else f"actor-{(i * 7) % 13}",
            giver_segment=Segment.workforce,
            receiver_segment=Segment.customer if i % 2 else Segment.partner,
            giver_team="core" if i % 3 else None,
            flow_type=types[i % 4],
            confidence=0.5 + (i % 5) / 10,
            reason="rule: review",
            channel="repo/valuenet",
            giver_followers=i if i % 4 == 0 else None,
        )
        for i in range(start, start + n)
    ]


def make_models() -> dict[str, list[BaseModel]]:
    """One or more models of every model-backed table, with Nones, unicode and non-UTC datetimes."""
    computed = (T0 + timedelta(minutes=5)).astimezone(CEST)
    common = dict(network="acme", window="1h", computed_at=computed, window_end=T0)
    return {
        "interactions": [
            Interaction(
                event_id="i-1",
                network="acme",
                source=Source.slack,
                kind=Kind.reply,
                timestamp=T0.astimezone(CEST),
                actor="U1",
                target="U2",
                channel="#help",
                thread="t-1",
                parent_id="m-0",
                text=TRICKY[3] + " " + TRICKY[1],
                url="https://example.org/x?a=1&b='2'",
                language="en",
                actor_name="Zoë O'Brien",
                actor_domain="example.org",
                actor_followers=42,
                metadata={"reactions": 3, "edited": True, "score": 0.5, "note": "a'b", "none": None},
            ),
            Interaction(
                event_id="i-2", network="acme", source=Source.github, kind=Kind.star, timestamp=T0, actor="octo"
            ),
        ],
        "flows": list(make_flows(9)),
        "actor_metrics": [
            ActorMetrics(
                **common, actor="U1", segment="workforce", pagerank=0.125, reach=17, community=3, out_knowledge=2.0
            ),
            ActorMetrics(**common, actor="U2", segment="customer", pagerank_reputation=0.5, betweenness=1e-9),
        ],
        "network_metrics": [
            NetworkMetrics(
                **common,
                actors=10,
                edges=25,
                density=0.277,
                responsiveness_median_s=12.5,
                responsiveness_p90_s=None,
                idea_pickup_share=None,
                late_events=2,
                tick_seconds=0.031,
            ),
        ],
        "segment_flows": [
            SegmentFlow(
                **common,
                src_segment="customer",
                dst_segment="workforce",
                knowledge=4,
                idea=2,
                reputation=1,
                actor_pairs=3,
                reciprocity=0.25,
                give_get_balance=-0.5,
            ),
        ],
        "alerts": [
            Alert(
                network="acme",
                window="24h",
                raised_at=T0,
                kind="silo_forming",
                subject="team 'core'",
                value=0.91,
                threshold=0.8,
                message="E-I index fell to -0.91 ✓",
            ),
        ],
    }


# -- DDL ---------------------------------------------------------------------------


def test_ddl_applies_and_is_idempotent(store: Store) -> None:
    store.setup()  # second time: IF NOT EXISTS everywhere
    rows = store.query(
        "SELECT name, engine FROM system.tables WHERE database = %(db)s ORDER BY name", {"db": store.database}
    )
    assert {r["name"]: r["engine"] for r in rows} == {
        "actor_metrics": "MergeTree",
        "alerts": "MergeTree",
        "directory": "ReplacingMergeTree",
        "flows": "ReplacingMergeTree",
        "interactions": "ReplacingMergeTree",
        "labels": "ReplacingMergeTree",
        "network_metrics": "MergeTree",
        "offsets": "ReplacingMergeTree",
        "segment_flows": "MergeTree",
    }


@pytest.mark.parametrize("table", sorted(TABLE_MODELS))
def test_ddl_columns_mirror_the_models(table: str) -> None:
    spec = table_spec(table)
    model = TABLE_MODELS[table]
    expected = []
    for name, info in model.model_fields.items():
        expected.append(name)
        if datetime in (info.annotation, *typing.get_args(info.annotation)):
            expected.append(f"{name}_ms")
    assert list(spec.column_names) == expected


def test_ddl_enums_match_python_enums() -> None:
    columns = {c.name: c.type for c in table_spec("flows").columns}
    for enum, column in ((Segment, "giver_segment"), (FlowType, "flow_type")):
        declared = [part.split("'")[1] for part in columns[column].split(",")]
        assert declared == [e.value for e in enum]


@pytest.mark.parametrize("table", ["flows", "interactions", "alerts"])
def test_driver_fast_path_and_validated_arrow_path_agree(table: str) -> None:
    rows = [m.__dict__ for m in make_models()[table]]
    assert prepare_columns(table, rows) == [col.to_pylist() for col in prepare_batch(table, rows).columns]


# -- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(TABLE_MODELS))
def test_round_trip_of_every_model(store: Store, table: str) -> None:
    models = make_models()[table]
    assert store.write_models(table, models) == len(models)
    back = store.read_models(table)
    assert sorted(back, key=repr) == sorted(models, key=repr)


def test_datetimes_keep_milliseconds_and_come_back_utc(store: Store) -> None:
    store.write_models("flows", make_flows(3))
    rows = store.query("SELECT event_id, timestamp, timestamp_ms FROM flows ORDER BY timestamp_ms")
    assert [r["timestamp_ms"] for r in rows] == [1709294400250, 1709294400287, 1709294400324]
    assert rows[0]["timestamp"] == datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert rows[0]["timestamp"].utcoffset() == timedelta(0)


def test_query_types_are_the_same_on_both_backends(store: Store) -> None:
    rows = store.query(
        "SELECT toDateTime('2024-01-02 03:04:05', 'UTC') AS t, toDate('2024-01-02') AS d, "
        "toUInt64(18446744073709551615) AS big, toInt64(-5) AS neg, 0.25 AS f, "
        "CAST(NULL AS Nullable(String)) AS n, ['a', 'b'] AS arr, %(s)s AS s",
        {"s": "é"},
    )
    assert rows == [
        {
            "t": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "d": date(2024, 1, 2),
            "big": 18446744073709551615,
            "neg": -5,
            "f": 0.25,
            "n": None,
            "arr": ["a", "b"],
            "s": "é",
        }
    ]


# -- idempotence -------------------------------------------------------------------


def test_replays_change_no_count(store: Store) -> None:
    flows = make_flows(400)
    store.write_models("flows", flows)
    store.write_models("flows", flows[100:300])  # partial replay
    store.write_models("flows", flows)  # full replay
    assert store.count("flows") == 400
    assert store.count("flows", network="acme") == 400
    assert store.count("flows", network="other") == 0
    by_type = store.query("SELECT flow_type, count() AS n FROM flows FINAL GROUP BY flow_type ORDER BY flow_type")
    assert by_type == [{"flow_type": t, "n": 100} for t in ("knowledge", "idea", "reputation", "none")]
    assert store.query("SELECT uniqExact(event_id) AS n FROM flows") == [{"n": 400}]


def test_same_event_id_in_two_networks_is_two_rows(store: Store) -> None:
    store.write_models("flows", make_flows(5, network="a") + make_flows(5, network="b"))
    assert store.count("flows") == 10
    assert store.count("flows", network="b") == 5


def test_latest_label_directory_entry_and_offset_win(store: Store) -> None:
    later = T0 + timedelta(seconds=1)
    label = dict(event_id="ev-1", network="acme", text="how do I…?", kind="reply", source="slack", labelled_by="ana")
    store.write("labels", [dict(label, label="idea", labelled_at=T0)])
    store.write("labels", [dict(label, label="knowledge", labelled_at=later)])
    store.write("labels", [dict(label, label="idea", labelled_at=T0)])  # a late replay of the older label
    assert store.query("SELECT label, labelled_by FROM labels FINAL") == [{"label": "knowledge", "labelled_by": "ana"}]

    entry = dict(network="acme", actor="U1", segment="workforce", team=None, organisation="Acme")
    store.write(
        "directory",
        [dict(entry, display_name="Ana", updated_at=T0), dict(entry, display_name="Ana B.", updated_at=later)],
    )
    assert store.query("SELECT display_name FROM directory FINAL") == [{"display_name": "Ana B."}]

    off = dict(consumer_group="valuenet-graph", topic="valuenet.flows", partition=2)
    store.write("offsets", [dict(off, offset=100, updated_at=T0), dict(off, offset=250, updated_at=later)])
    store.write("offsets", [dict(off, partition=3, offset=7, updated_at=T0)])
    rows = store.query(
        "SELECT partition, offset FROM offsets FINAL WHERE consumer_group = %(g)s AND topic = %(t)s ORDER BY partition",
        {"g": "valuenet-graph", "t": "valuenet.flows"},
    )
    assert rows == [{"partition": 2, "offset": 250}, {"partition": 3, "offset": 7}]


# -- parameters --------------------------------------------------------------------


def test_tricky_strings_survive_as_data_and_as_params(store: Store) -> None:
    interactions = [
        Interaction(
            event_id=f"t-{i}",
            network="acme",
            source=Source.generic,
            kind=Kind.post,
            timestamp=T0,
            actor=text,
            text=text,
        )
        for i, text in enumerate(TRICKY)
    ]
    store.write_models("interactions", interactions)
    for i, text in enumerate(TRICKY):
        rows = store.query("SELECT event_id, actor FROM interactions WHERE text = %(text)s", {"text": text})
        assert rows == [{"event_id": f"t-{i}", "actor": text}]
    assert store.query("SELECT count() AS n FROM interactions WHERE actor = %(a)s", {"a": "nobody' OR '1'='1"}) == [
        {"n": 0}
    ]
    rows = store.query(
        "SELECT event_id FROM interactions WHERE actor IN %(actors)s ORDER BY event_id", {"actors": tuple(TRICKY[:2])}
    )
    assert rows == [{"event_id": "t-0"}, {"event_id": "t-1"}]


def test_datetime_and_number_params(store: Store) -> None:
    store.write_models("flows", make_flows(10))
    rows = store.query(
        "SELECT count() AS n FROM flows WHERE timestamp_ms >= %(ms)s AND confidence > %(c)s AND timestamp >= %(t)s",
        {"ms": 1709294400250 + 37 * 5, "c": 0.55, "t": T0 - timedelta(days=1)},
    )
    assert rows == [{"n": sum(1 for f in make_flows(10)[5:] if f.confidence > 0.55)}]


def test_unsafe_param_types_are_refused(store: Store) -> None:
    class Sneaky:
        def __str__(self) -> str:
            return "1; DROP TABLE flows"

    with pytest.raises(QueryError, match="'x': unsupported type Sneaky"):
        store.query("SELECT %(x)s AS v", {"x": Sneaky()})
    assert store.query("SELECT %(b)s AS v", {"b": True}) == [{"v": 1}]


# -- batches -----------------------------------------------------------------------


@pytest.mark.parametrize("batch_size,n", [(1, 5), (7, 50), (100_000, 0), (100_000, 20_000)])
def test_batch_sizes(store: Store, batch_size: int, n: int) -> None:
    store.batch_size = batch_size
    assert store.write_models("flows", make_flows(n)) == n
    assert store.count("flows") == n
    if n:
        rows = store.query("SELECT min(event_id) AS lo, max(timestamp_ms) - min(timestamp_ms) AS span FROM flows")
        assert rows == [{"lo": "ev-0", "span": 37 * (n - 1)}]


def test_plain_rows_with_epoch_seconds_and_omitted_nullables(store: Store) -> None:
    row = dict(
        network="acme",
        window="1h",
        raised_at=1709294400,
        kind="reach_spike",
        subject="U1",
        value=3.0,
        threshold=2.0,
        message="reach tripled",
    )
    store.write("alerts", [row])
    assert store.query("SELECT raised_at, raised_at_ms FROM alerts") == [
        {"raised_at": datetime(2024, 3, 1, 12, 0, tzinfo=UTC), "raised_at_ms": 1709294400000}
    ]
    store.write("alerts", [dict(row, subject="U2", raised_at_ms=1709294400123)])  # explicit ms wins
    assert store.query("SELECT raised_at_ms FROM alerts WHERE subject = 'U2'") == [{"raised_at_ms": 1709294400123}]
    store.write("directory", [dict(network="acme", actor="U9", display_name="Nine", segment="partner", updated_at=T0)])
    assert store.query("SELECT team, organisation FROM directory") == [{"team": None, "organisation": None}]


# -- bad input ---------------------------------------------------------------------


def _flow_row(**changes: object) -> dict[str, object]:
    row = dict(make_flows(1)[0].__dict__)
    row.update(changes)
    return row


@pytest.mark.parametrize(
    "row,column,reason",
    [
        ({k: v for k, v in _flow_row().items() if k != "giver"}, "giver", "missing column"),
        (_flow_row(colour="red"), "colour", "unknown column"),
        (_flow_row(confidence="high"), "confidence", "'high'"),
        (_flow_row(flow_type="gossip"), "flow_type", "'gossip' is not one of"),
        (_flow_row(giver=None), "giver", "None in a non-Nullable column"),
        (_flow_row(timestamp="yesterday"), "timestamp", "'yesterday'"),
        (_flow_row(timestamp=datetime(1960, 1, 1, tzinfo=UTC)), "timestamp", "outside DateTime range"),
    ],
)
def test_bad_rows_raise_naming_table_column_and_row(store: Store, row: dict, column: str, reason: str) -> None:
    good = [_flow_row(event_id=f"ok-{i}") for i in range(3)]
    with pytest.raises(RowError, match=reason) as info:
        store.write("flows", good + [row])
    err = info.value
    assert (err.table, err.column, err.row, err.batch_size) == ("flows", column, 3, 4)
    assert str(err).startswith(f"flows.{column}: row 3 of a batch of 4")
    assert store.count("flows") == 0  # nothing of the bad batch was written


def test_row_index_counts_across_batches(store: Store) -> None:
    store.batch_size = 10
    rows = [_flow_row(event_id=f"e-{i}") for i in range(25)]
    rows[23]["confidence"] = "?"
    with pytest.raises(RowError) as info:
        store.write("flows", rows)
    assert (info.value.row, info.value.batch_size) == (23, 25)
    assert store.count("flows") == 20  # the two good batches before it were written


def test_wrong_model_type_and_unknown_table(store: Store) -> None:
    with pytest.raises(RowError, match="expected Flow, got Interaction"):
        store.write_models("flows", make_models()["interactions"])
    with pytest.raises(UnknownTableError, match="'flow'"):
        store.write("flow", [])


def test_backend_error_is_chained_with_table_and_batch_size(store: Store) -> None:
    store.query("DROP TABLE flows")
    with pytest.raises(WriteError, match="writing 4 rows to flows failed") as info:
        store.write_models("flows", make_flows(4))
    assert info.value.__cause__ is not None
    store.setup()
    with pytest.raises(QueryError, match="no_such_table"):
        store.query("SELECT * FROM no_such_table")


# -- backends ----------------------------------------------------------------------


def test_open_store_picks_the_backend(chdb_dir: Path, clickhouse_url: str) -> None:
    from valuenet.analytics.storage.chdb_store import ChdbStore
    from valuenet.analytics.storage.server_store import ServerStore

    with open_store(Settings(chdb_path=chdb_dir), database="open_store_chdb") as s:
        assert isinstance(s, ChdbStore) and s.count("flows") == 0
        s.query("DROP DATABASE open_store_chdb")
    with open_store(Settings(CLICKHOUSE_URL=clickhouse_url), database="open_store_server") as s:
        assert isinstance(s, ServerStore) and s.count("flows") == 0
        assert "default:" not in repr(s)
        s.query("DROP DATABASE open_store_server")


def test_chdb_directory_is_locked_against_a_second_process(chdb_store: ChdbStore) -> None:
    code = (
        "import sys\n"
        "from valuenet.analytics.storage import StoreLockedError\n"
        "from valuenet.analytics.storage.chdb_store import ChdbStore\n"
        "try:\n"
        f"    ChdbStore({str(chdb_store.path)!r})\n"
        "except StoreLockedError as e:\n"
        "    print('LOCKED', e)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1]
    )
    assert done.returncode == 3, done.stderr
    assert "LOCKED" in done.stdout and "one process per directory" in done.stdout


def test_chdb_allows_one_directory_per_process(chdb_store: ChdbStore, tmp_path: Path) -> None:
    from valuenet.analytics.storage.chdb_store import ChdbStore

    with pytest.raises(StoreLockedError, match="one directory per process"):
        ChdbStore(tmp_path / "another")
    assert chdb_store.count("flows") == 0  # the open store is unaffected


def test_clickhouse_server_starts_and_stops(tmp_path: Path) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    server = ClickHouseServer(tmp_path / "ch")
    with server as url:
        assert server.running and server.ping()
        assert ServerStore(url, database="system").query("SELECT version() AS v")[0]["v"].startswith("18.16")
    assert not server.running and not server.ping()
    assert (tmp_path / "ch" / "config.xml").is_file()  # a caller's data dir is kept


def test_datetime_columns_convert_to_the_same_milliseconds_as_arrow() -> None:
    """Aware (any offset, sub-millisecond), naive (read as UTC) datetimes: exact epoch ms and seconds."""
    import pyarrow as pa

    base = datetime(2024, 5, 1, 12, 0, 0, 999_999, tzinfo=UTC)
    stamps = [
        base,
        base.replace(tzinfo=None) + timedelta(microseconds=1),
        datetime(2024, 5, 1, 14, 0, 0, 1_500, tzinfo=timezone(timedelta(hours=2))),
    ]
    rows = [{**m.__dict__, "timestamp": ts} for m, ts in zip(make_models()["flows"], stamps)]
    names = list(table_spec("flows").column_names)
    columns = dict(zip(names, prepare_columns("flows", rows)))
    arrow_ms = pa.array(stamps, type=pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
    assert columns["timestamp_ms"] == arrow_ms == [1714564800999, 1714564801000, 1714564800001]
    assert columns["timestamp"] == [ms // 1000 for ms in arrow_ms]
