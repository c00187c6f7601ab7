"""ClickHouse fixtures: ``chdb_store``, ``server_store`` and ``store`` (parametrised over both backends).

The server is Debian's ``clickhouse-server`` started once per test session on free
ports with its own data directory (``VALUENET_TEST_CLICKHOUSE_URL`` points the tests at
an existing server instead). Every test gets a fresh database, dropped afterwards.

chdb allows one data directory per process, so every chdb test in a pytest run shares
the session-scoped ``chdb_dir``: code under test that opens chdb in the pytest process
must use that directory (``Settings(chdb_path=chdb_dir)``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from valuenet.analytics.storage.base import Store
from valuenet.localstack.clickhouse_server import ClickHouseServer, ClickHouseServerError

if TYPE_CHECKING:  # the store modules import chdb / clickhouse_driver: only inside the fixtures that need them
    from valuenet.analytics.storage.chdb_store import ChdbStore
    from valuenet.analytics.storage.server_store import ServerStore

BACKENDS = [pytest.param("chdb", id="chdb"), pytest.param("server", id="server", marks=pytest.mark.server)]


def fresh_database_name() -> str:
    """A database name no other test uses."""
    return f"test_{uuid.uuid4().hex[:12]}"


def _drop(store: Store) -> None:
    store.query(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


@pytest.fixture(scope="session")
def clickhouse_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ClickHouse server for this test session (started here unless VALUENET_TEST_CLICKHOUSE_URL is set)."""
    external = os.environ.get("VALUENET_TEST_CLICKHOUSE_URL")
    if external:
        yield external
        return
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse-server"))
    try:
        url = server.start()
    except ClickHouseServerError as e:
        pytest.fail(f"cannot start clickhouse-server for the storage tests: {e}", pytrace=False)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chdb data directory of this pytest process."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def chdb_store(chdb_dir: Path) -> Iterator[ChdbStore]:
    """A set-up ChdbStore on a fresh database, dropped after the test."""
    from valuenet.analytics.storage.chdb_store import ChdbStore

    store = ChdbStore(chdb_dir, database=fresh_database_name())
    store.setup()
    yield store
    _drop(store)


@pytest.fixture
def server_store(clickhouse_url: str) -> Iterator[ServerStore]:
    """A set-up ServerStore on a fresh database of the session's server, dropped after the test."""
    from valuenet.analytics.storage.server_store import ServerStore

    store = ServerStore(clickhouse_url, database=fresh_database_name())
    store.setup()
    yield store
    _drop(store)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    """The same test against chdb and against clickhouse-server."""
    return request.getfixturevalue(f"{request.param}_store")
