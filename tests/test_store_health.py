"""Blocked store writes: which errors block (vs. a row the store refuses), what the operator sees, how it resumes."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests._metrics_flows import random_flows
from valuenet.analytics.storage import health as health_module
from valuenet.analytics.storage import sink as sink_module
from valuenet.analytics.storage.exceptions import RowError, WriteError
from valuenet.analytics.storage.health import REASONS, StoreHealth, blocked_reason, store_health
from valuenet.analytics.storage.sink import StoreSink, is_transient

if TYPE_CHECKING:
    from valuenet.analytics.storage.base import Store
    from valuenet.analytics.storage.server_store import ServerStore


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


CHDB_FULL = "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError(CHDB_FULL), "no_space"),  # chdb's ChdbError text (a raised INSERT ... VALUES)
        (_chained(WriteError("flows", 200, "RuntimeError"), RuntimeError(CHDB_FULL)), "no_space"),
        (OSError(errno.ENOSPC, "No space left on device"), "no_space"),
        (RuntimeError("filesystem error: in create_directories: No space left on device [/data/tmp]"), "no_space"),
        (OSError(errno.EROFS, "Read-only file system"), "read_only"),
        (
            RuntimeError("Code: 252. DB::Exception: Too many parts (300). Merges are processing slower"),
            "too_many_parts",
        ),
        (RuntimeError("Code: 241. DB::Exception: Memory limit (total) exceeded"), "memory"),
        (ConnectionRefusedError(111, "Connection refused"), "unavailable"),
        (RuntimeError("Code: 60. DB::Exception: Table valuenet.flows doesn't exist"), "schema"),
        (RowError("flows", "timestamp", 3, 10, "outside DateTime"), None),  # the row's fault: dead-lettered
        (RuntimeError("Code: 53. DB::Exception: Type mismatch in VALUES section"), None),
        (ValueError("100000000000000000000: Python int too large to convert to C long"), None),
    ],
)
def test_errors_that_block_writes_are_told_from_rows_the_store_refuses(
    error: BaseException, reason: str | None
) -> None:
    assert blocked_reason(error) == reason
    assert is_transient(error) is (reason is not None)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (243, "no_space"),
        (242, "read_only"),
        (164, "read_only"),
        (252, "too_many_parts"),
        (241, "memory"),
        (210, "unavailable"),
        (53, None),
        (6, None),
    ],
)
def test_clickhouse_driver_server_errors_are_classified_by_code(code: int, reason: str | None) -> None:
    from clickhouse_driver.errors import ServerException

    error = ServerException("DB::Exception: something went wrong", code=code)  # how the driver raises them
    assert blocked_reason(_chained(WriteError("flows", 10, "ServerException"), error)) == reason


class FakeClock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_error_line_per_change_of_state_a_reminder_and_one_line_when_writes_resume(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    health = StoreHealth(clock=clock, remind_s=60)
    full = RuntimeError(CHDB_FULL)
    caplog.set_level(logging.INFO, logger="valuenet.storage.health")
    for _ in range(20):  # 20 retries within a minute: one ERROR
        health.failed("flows", full, "no_space", 2.0)
        health.failed("interactions", full, "no_space", 2.0)
        clock.now += 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert "store writes blocked (no_space)" in line and "NOT_ENOUGH_SPACE" in line and "not committed" in line
    assert "Free space" in line
    status = health.status()
    assert status is not None and status["reason"] == "no_space" and status["tables"] == ["flows", "interactions"]
    assert status["seconds"] == 40.0 and status["retries"] == 40

    clock.now += 30  # past a minute since the first line: the reminder, with how long
    health.failed("flows", full, "no_space", 30.0)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "still blocked (no_space, for 70 s)" in errors[1]

    health.succeeded("flows")  # interactions still wait: still blocked, nothing said
    assert health.status() is not None and not [r for r in caplog.records if r.levelno == logging.WARNING]
    health.succeeded("interactions")
    assert health.status() is None
    resumed = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(resumed) == 1 and "store writes resumed after 70 s blocked (no_space, 41 retries)" in resumed[0]
    assert health.retries_total == 41 and health.blocked_total == 1


@pytest.fixture
def blocked_health() -> Iterator[StoreHealth]:
    """The process-wide StoreHealth, emptied afterwards."""
    health = store_health()
    yield health
    for table in ("flows",):
        health.succeeded(table)


def test_healthz_says_503_with_the_reason_and_metrics_carry_the_gauge(
    chdb_store: Store, tmp_path, blocked_health: StoreHealth
) -> None:
    from fastapi.testclient import TestClient

    from valuenet.config import Settings
    from valuenet.web.app import create_app

    settings = Settings(home=tmp_path, chdb_path=tmp_path / "unused")
    with TestClient(create_app(settings, chdb_store, kafka=False, feed_poll_seconds=3600)) as c:
        ok = c.get("/healthz")
        assert ok.status_code == 200 and ok.json()["status"] == "ok" and ok.json()["store_blocked"] is None
        assert 'valuenet_store_blocked{reason="no_space"} 0.0' in c.get("/metrics").text

        blocked_health.failed("flows", RuntimeError(CHDB_FULL), "no_space", 1.0)
        bad = c.get("/healthz")
        assert bad.status_code == 503
        body = bad.json()
        assert body["status"] == "degraded" and body["store"] is True
        assert body["store_blocked"]["reason"] == "no_space" and body["store_blocked"]["tables"] == ["flows"]
        assert "NOT_ENOUGH_SPACE" in body["store_blocked"]["message"]
        text = c.get("/metrics").text
        assert 'valuenet_store_blocked{reason="no_space"} 1.0' in text
        for other in set(REASONS) - {"no_space"}:
            assert f'valuenet_store_blocked{{reason="{other}"}} 0.0' in text
        assert "valuenet_store_write_retries_total" in text

        blocked_health.succeeded("flows")
        assert c.get("/healthz").status_code == 200


@pytest.mark.server
def test_a_read_only_server_blocks_the_batch_until_it_is_writable_then_stores_it_once(
    server_store: ServerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """clickhouse-server refuses every INSERT of a ``readonly`` session (code 164): the batch waits, not dead-lettered."""
    monkeypatch.setattr(sink_module, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(sink_module, "RETRY_MAX_S", 0.2)
    health = StoreHealth()
    monkeypatch.setattr(health_module, "_health", health)
    flows = random_flows(15, 80, seed=21)
    server_store.client.settings["readonly"] = 1  # the server itself refuses: a read-only user or replica
    writable = threading.Event()

    async def run() -> list:
        sink = StoreSink(server_store)
        write = asyncio.ensure_future(sink.write("flows", flows))
        while not (health.status() and health.status()["retries"] >= 3):
            await asyncio.sleep(0.05)
        assert not write.done() and health.status()["reason"] == "read_only"
        assert server_store.count("flows", flows[0].network) == 0
        server_store.client.settings.pop("readonly")
        writable.set()
        return await write

    dead = asyncio.run(run())
    assert writable.is_set() and dead == []
    assert health.status() is None and health.blocked_total == 1
    rows = server_store.query(
        "SELECT count() AS n, uniqExact(event_id) AS ids FROM flows WHERE network = %(n)s", {"n": flows[0].network}
    )
    assert rows == [{"n": len(flows), "ids": len(flows)}]  # every row once: nothing lost, nothing written twice
