"""Pytest plugin (``-p tests.import_guard``): prints which service clients the run imported.

Used by ``tests/test_fast_lane.py``: the fast lane must not need the Kafka, ClickHouse or
browser clients, so its collection and its pure tests leave them out of ``sys.modules``.
"""

from __future__ import annotations

import sys

import pytest

SERVICE_CLIENTS = ("kafka", "aiokafka", "faust", "clickhouse_driver", "chdb", "playwright")
MARKER = "SERVICE-CLIENTS-IMPORTED:"


def imported_clients() -> list[str]:
    """The service client packages present in ``sys.modules``."""
    return [name for name in SERVICE_CLIENTS if name in sys.modules]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Print the imported service clients on one line after the run."""
    print(f"\n{MARKER} {','.join(imported_clients())}")
