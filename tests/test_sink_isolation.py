"""Transient vs permanent write errors on chdb and clickhouse-server: bad rows isolated, outages retried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests._metrics_flows import random_flows
from valuenet.analytics.storage import sink as sink_module
from valuenet.analytics.storage.base import Store
from valuenet.analytics.storage.exceptions import RowError, WriteError
from valuenet.analytics.storage.sink import IsolatingWrite, StoreSink, is_transient

if TYPE_CHECKING:
    from valuenet.analytics.storage.server_store import ServerStore


def stored_ids(store: Store, network: str) -> set[str]:
    """Event ids stored in ``flows`` for ``network``."""
    rows = store.query("SELECT DISTINCT event_id FROM flows WHERE network = %(n)s", {"n": network})
    return {r["event_id"] for r in rows}


def test_refused_rows_are_dead_lettered_with_their_column_and_the_rest_written(store: Store) -> None:
    flows = random_flows(20, 60, seed=11)
    network = flows[0].network
    bad_text = flows[7].model_copy(update={"giver": "bad \udcff giver"})  # the encoder refuses a lone surrogate
    bad_time = flows[40].model_copy(update={"timestamp": datetime(2300, 1, 1, tzinfo=UTC)})  # outside DateTime
    batch = [*flows[:7], bad_text, *flows[8:40], bad_time, *flows[41:]]

    dead = asyncio.run(StoreSink(store).write("flows", batch))

    assert sorted(d.field for d in dead) == ["flows.giver", "flows.timestamp"]
    assert all(d.stage == "sink" and d.source == "flows" and d.network == network for d in dead)
    assert any("DateTime" in d.reason for d in dead)
    assert "\ufffd" in next(d.record for d in dead if d.field == "flows.giver")  # repaired in the dead letter
    want = {f.event_id for f in batch} - {bad_text.event_id, bad_time.event_id}
    assert stored_ids(store, network) == want


def test_a_batch_of_only_bad_rows_writes_nothing_and_names_each(store: Store) -> None:
    flows = random_flows(5, 6, seed=12)
    bad = [f.model_copy(update={"receiver": f"r\udc80{i}"}) for i, f in enumerate(flows)]
    dead = asyncio.run(StoreSink(store).write("flows", bad))
    assert [d.field for d in dead] == ["flows.receiver"] * len(bad)
    assert stored_ids(store, flows[0].network) == set()


class FlakyStore:
    """A real store whose first ``failures`` writes raise a network error (the server restarting)."""

    def __init__(self, store: Store, failures: int) -> None:
        self.store = store
        self.failures = failures
        self.calls = 0
        self.batch_size = store.batch_size

    def write_models(self, table: str, models: list[Any]) -> int:
        """Fail like a dropped connection, then write."""
        self.calls += 1
        from clickhouse_driver.errors import NetworkError

        if self.failures:
            self.failures -= 1
            raise WriteError(table, len(models), "NetworkError") from NetworkError("Connection refused")
        return self.store.write_models(table, models)


def test_an_unavailable_store_is_retried_not_dead_lettered(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_module, "RETRY_FIRST_S", 0.01)
    flows = random_flows(10, 30, seed=13)
    flaky = FlakyStore(store, failures=3)
    dead = asyncio.run(StoreSink(flaky).write("flows", flows))
    assert dead == []
    assert flaky.calls == 4
    assert stored_ids(store, flows[0].network) == {f.event_id for f in flows}


def test_a_stopped_server_is_transient_a_bad_row_is_not(server_store: ServerStore) -> None:
    from valuenet.analytics.storage.server_store import ServerStore

    down = ServerStore("clickhouse://127.0.0.1:1/default")  # nothing listens on port 1
    with pytest.raises(Exception) as refused:
        down.write_models("flows", random_flows(3, 3, seed=14))
    assert is_transient(refused.value)
    flows = random_flows(3, 3, seed=15)
    with pytest.raises(RowError) as bad:
        server_store.write_models(
            "flows", [flows[0].model_copy(update={"timestamp": datetime(1900, 1, 1, tzinfo=UTC)})]
        )
    assert not is_transient(bad.value)


def test_a_transient_error_mid_bisection_resumes_without_rewriting() -> None:
    written: list[list[int]] = []
    fail_next = {"n": 1}

    def write(table: str, rows: list[int]) -> None:
        if 13 in rows and len(rows) > 1:
            raise RowError(table, "x", None, len(rows), "thirteen")
        if rows == [13]:
            raise RowError(table, "x", 0, 1, "thirteen")
        if fail_next["n"] and len(rows) < 10:
            fail_next["n"] -= 1
            raise ConnectionError("reset by peer")
        written.append(rows)

    job = IsolatingWrite(write, "t", list(range(40)), chunk=16)
    with pytest.raises(ConnectionError):
        job.run()
    refused = job.run()
    assert [r for r, _ in refused] == [13]
    assert sorted(x for part in written for x in part) == [x for x in range(40) if x != 13]  # each row once


def test_a_schema_mismatch_waits_instead_of_dead_lettering_every_row(store: Store) -> None:
    store.query("ALTER TABLE flows DROP COLUMN reason")  # a deploy whose migration has not run yet
    with pytest.raises(Exception) as refused:
        store.write_models("flows", random_flows(3, 3, seed=16))
    assert is_transient(refused.value), refused.value
