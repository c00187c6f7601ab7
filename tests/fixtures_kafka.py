"""Real Kafka broker fixtures: ``kafka_bootstrap`` (session), ``kafka_env``, ``new_topic``.

- ``KAFKA_BOOTSTRAP_SERVERS`` set: that cluster is used as is (valuenet topics are ensured).
- Otherwise the managed local broker on ``VALUENET_KAFKA_PORT`` (default 19092) is reused when
  something answers there, else started with ``VALUENET_HOME`` (or ``/tmp/valuenet-test-home``
  when unset). Every test session holding the test broker leaves a lease file; the last session
  out stops the broker it shares, so parallel sessions never pull it from under each other.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from valuenet.config import Settings
from valuenet.localstack import kafka  # no Kafka client at import: the fast lane loads this module too

TEST_HOME = Path("/tmp/valuenet-test-home")
# Test brokers start with the C1 JIT only: about 40% less CPU to come up on a small machine.
TEST_JVM_OPTS = ("-XX:TieredStopAtLevel=1",)


def kafka_test_settings() -> Settings:
    """Settings of the broker the tests use: the environment's, with a /tmp home when none is set."""
    if os.environ.get("VALUENET_HOME"):
        return Settings()
    return Settings(home=TEST_HOME)


def _lease_dir(settings: Settings) -> Path:
    return kafka.BrokerPaths.for_settings(settings).kafka_dir / "leases"


def _live_leases(settings: Settings) -> list[Path]:
    live = []
    for lease in _lease_dir(settings).glob("*"):
        try:
            os.kill(int(lease.name), 0)
            live.append(lease)
        except (ValueError, ProcessLookupError, PermissionError):
            lease.unlink(missing_ok=True)
    return live


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real, running Kafka broker with valuenet's topics created."""
    from valuenet.kafka_admin import ensure_topics

    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        ensure_topics(external, prefix=Settings().topic_prefix)
        yield external
        return
    settings = kafka_test_settings()
    lease = _lease_dir(settings) / str(os.getpid())
    lease.parent.mkdir(parents=True, exist_ok=True)
    lease.touch()
    try:
        kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS)  # reuses a broker already answering on the port
        ensure_topics(settings.bootstrap_servers, prefix=settings.topic_prefix)
        yield settings.bootstrap_servers
    finally:
        lease.unlink(missing_ok=True)
        if not _live_leases(settings) and not os.environ.get("VALUENET_KEEP_KAFKA"):
            kafka.stop_broker(settings)  # only a broker started from this home, never a reused foreign one


@pytest.fixture
def kafka_env(kafka_bootstrap: str) -> dict[str, str]:
    """A copy of ``os.environ`` pointing subprocesses (workers, CLI) at the test broker."""
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}


@pytest.fixture
def new_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: ``new_topic(partitions=1)`` creates a uniquely named topic for this test, deleted afterwards."""
    from valuenet.kafka_admin import delete_topics, ensure_topics

    made: list[str] = []
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", request.node.name)[:80]

    def make(partitions: int = 1) -> str:
        name = f"test.{stem}.{uuid.uuid4().hex[:8]}"
        ensure_topics(kafka_bootstrap, {name: partitions})
        made.append(name)
        return name

    yield make
    delete_topics(kafka_bootstrap, made)


def consume_records(
    bootstrap: str, topic: str, n: int, *, size: Callable[[bytes], int] | None = None, timeout_s: float = 20.0
) -> list:
    """Records of ``topic`` from the beginning until they hold ``n`` items (``size(value)`` each, default 1)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    out: list = []
    held = 0
    deadline = time.monotonic() + timeout_s
    try:
        while held < n and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                out.extend(batch)
                held += sum(size(r.value) if size else 1 for r in batch)
    finally:
        consumer.close()
    return out
