"""A store made by an older version gains the columns a newer DDL added (``flows.lane``), on chdb and on the server."""

from __future__ import annotations

from tests._metrics_flows import flow
from valuenet.analytics.storage.tables import table_spec


def test_setup_adds_the_columns_an_older_flows_table_lacks(store) -> None:
    store.query("DROP TABLE flows")
    old_ddl = table_spec("flows").statement.replace(",\n    lane Nullable(Int32)", "")
    assert "lane" not in old_ddl
    store.query(old_ddl)
    store.query(
        "INSERT INTO flows (schema_version, event_id, network, source, kind, timestamp, timestamp_ms, giver, "
        "giver_segment, receiver_segment, flow_type, confidence, reason) SELECT "
        "1, 'before', 'n1', 'synth', 'reply', toDateTime(1741003210), 1741003210000, 'w1', 'workforce', 'customer', "
        "'knowledge', 1.0, ''"
    )
    store.setup()  # what a worker does on start
    columns = [
        r["name"]
        for r in store.query(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = 'flows'", {"db": store.database}
        )
    ]
    assert columns == list(table_spec("flows").column_names)  # added in DDL order
    new = flow("w2", "c1", t=20, event_id="after")
    new.lane = 3
    store.write_models("flows", [new])
    rows = store.query("SELECT event_id, lane FROM flows ORDER BY event_id")
    assert rows == [{"event_id": "after", "lane": 3}, {"event_id": "before", "lane": None}]
    store.setup()  # idempotent


def _drop_kind_columns(ddl: str) -> str:
    """An older DDL: the actor-kind columns (issue 20) removed."""
    kept = [line for line in ddl.splitlines() if "kind Enum8(" not in line]
    text = "\n".join(kept)
    return text.replace("lane Nullable(Int32),\n)", "lane Nullable(Int32)\n)").replace(
        "engagement_rate Float64,\n)", "engagement_rate Float64\n)"
    )


def test_setup_adds_the_actor_kind_columns_older_flows_and_actor_metrics_lack(store) -> None:
    """Flows and actor rows written before actor kinds read as persons; new rows keep their kinds."""
    from datetime import UTC, datetime

    from valuenet.schemas import ActorMetrics

    for table in ("flows", "actor_metrics"):
        store.query(f"DROP TABLE {table}")
        old = _drop_kind_columns(table_spec(table).statement)
        assert "kind Enum8" not in old, old
        store.query(old)
    store.query(
        "INSERT INTO flows (schema_version, event_id, network, source, kind, timestamp, timestamp_ms, giver, "
        "receiver, giver_segment, receiver_segment, flow_type, confidence, reason) SELECT "
        "1, 'before', 'n1', 'synth', 'reply', toDateTime(1741003210), 1741003210000, 'w1', 'c1', 'workforce', "
        "'customer', 'knowledge', 1.0, ''"
    )
    store.query(
        "INSERT INTO actor_metrics (network, `window`, computed_at, computed_at_ms, window_end, window_end_ms, actor, "
        "segment, in_knowledge, out_knowledge, in_idea, out_idea, in_reputation, out_reputation, pagerank, "
        "pagerank_reputation, betweenness, boundary_spanning, burt_constraint, effective_size, brokerage, "
        "broker_coordinator, broker_gatekeeper, broker_representative, broker_consultant, broker_liaison, community, "
        "give_get_balance, reach, potential_reach, amplification_rate, engagement_rate) SELECT 'n1', '1h', "
        "toDateTime(1741003210), 1741003210000, toDateTime(1741003210), 1741003210000, 'w1', 'workforce', "
        "0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0"
    )
    store.setup()
    for table in ("flows", "actor_metrics"):
        columns = [
            r["name"]
            for r in store.query(
                "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s",
                {"db": store.database, "t": table},
            )
        ]
        assert columns == list(table_spec(table).column_names)
    bot = flow("bot1", "w1", t=20, event_id="after")
    bot.giver_kind = "bot"
    store.write_models("flows", [bot])
    rows = store.query(
        "SELECT event_id, toString(giver_kind) AS g, toString(receiver_kind) AS r FROM flows ORDER BY event_id"
    )
    assert rows == [
        {"event_id": "after", "g": "bot", "r": "person"},
        {"event_id": "before", "g": "person", "r": "person"},
    ]
    now = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
    store.write_models(
        "actor_metrics",
        [
            ActorMetrics(
                network="n1", window="1h", computed_at=now, window_end=now, actor="github:acme", kind="organisation"
            )
        ],
    )
    rows = store.query("SELECT actor, toString(kind) AS k FROM actor_metrics ORDER BY actor")
    assert rows == [{"actor": "github:acme", "k": "organisation"}, {"actor": "w1", "k": "person"}]
