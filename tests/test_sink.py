"""The worker's sink against real ClickHouse: lanes with their own connection and thread, order kept per lane."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from tests._metrics_flows import random_flows
from valuenet.analytics.storage.sink import StoreSink

if TYPE_CHECKING:  # clickhouse_driver: imported by the test that needs it
    from valuenet.analytics.storage.server_store import ServerStore


def test_lanes_write_concurrently_on_their_own_connections(server_store: ServerStore, clickhouse_url: str) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    opened: list[ServerStore] = []

    def connect() -> ServerStore:
        s = ServerStore(clickhouse_url, database=server_store.database)
        opened.append(s)
        return s

    sink = StoreSink(server_store, connect)
    flows = random_flows(30, 900, seed=3)
    seen_threads: dict[str, set[str]] = {}
    for lane_table in ("flows", "interactions", "network_metrics"):
        io, _ = sink._lane(lane_table)
        seen_threads[lane_table] = {io.submit(lambda: threading.current_thread().name).result()}

    async def run() -> None:
        # three lanes at once: flows in three ordered inserts, and a read on the flows lane after them
        await asyncio.gather(
            *(sink.write("flows", flows[i : i + 300]) for i in range(0, 900, 300)),
            sink.write_rows(
                "directory",
                [
                    {
                        "network": "n1",
                        "actor": "w1",
                        "display_name": "W One",
                        "segment": "workforce",
                        "team": None,
                        "organisation": None,
                        "updated_at": flows[0].timestamp,
                    }
                ],
            ),
        )
        rows = await sink.query("SELECT uniqExact(event_id) AS n FROM flows WHERE network = 'n1'")
        assert rows[0]["n"] == 900

    asyncio.run(run())
    assert len(opened) == 3  # flows, ingest, snapshots: one connection each
    assert len({t for names in seen_threads.values() for t in names}) == 3
    assert server_store.query("SELECT display_name FROM directory")[0]["display_name"] == "W One"
    for s in opened:
        s.close()


def test_lanes_share_one_store_without_a_connection_factory(chdb_store) -> None:
    sink = StoreSink(chdb_store)
    assert sink._lane("flows")[1] is sink._lane("actor_metrics")[1] is sink.store
    asyncio.run(sink.write("flows", random_flows(10, 50, seed=4)))
    assert chdb_store.query("SELECT count() AS n FROM flows")[0]["n"] == 50
