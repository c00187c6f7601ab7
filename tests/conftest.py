"""Shared fixtures: each fixture family lives in a module of its own under tests/fixtures_*.py."""

pytest_plugins = [
    "tests.fixtures_kafka",  # real broker: kafka_bootstrap, topic helpers
    "tests.fixtures_clickhouse",  # chdb and clickhouse-server stores
]
