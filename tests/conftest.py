"""Shared fixtures: each fixture family lives in a module of its own under tests/fixtures_*.py."""

import os

import pytest

# fastapi's in-process TestClient sends ``Host: testserver``: in tests it is one more name the loopback API
# answers (valuenet.web.auth.HostAllowList); tests of the allow-list itself set api_allowed_hosts explicitly.
os.environ.setdefault("VALUENET_API_ALLOWED_HOSTS", '["testserver"]')

pytest_plugins = [
    "tests.fixtures_kafka",  # real broker: kafka_bootstrap, topic helpers
    "tests.fixtures_clickhouse",  # chdb and clickhouse-server stores
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collecting the tests imports no service client, so the fast lane
    (``-m "not kafka and not server and not browser"``) runs without them: kafka-python, aiokafka,
    faust, clickhouse_driver, chdb and playwright are imported inside the fixtures and tests that use them."""
    from tests.import_guard import imported_clients

    loaded = imported_clients()
    if loaded:
        raise pytest.UsageError(
            f"collecting the tests imported {', '.join(loaded)}: import service clients inside the fixtures and "
            "tests that use them (see tests/fixtures_kafka.py, tests/fixtures_clickhouse.py)"
        )
