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
