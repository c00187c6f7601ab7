"""Run real valuenet workers against the real broker and ClickHouse server, for end-to-end tests."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from valuenet.ingest.samples import GIT_SAMPLE

ROOT = Path(__file__).resolve().parents[1]


def git_records(n: int) -> list[dict[str, Any]]:
    """The oldest ``n`` commits of the bundled sample, in commit order (oldest first)."""
    with gzip.open(GIT_SAMPLE, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    records.sort(key=lambda r: (utc(r["committed_at"]), r["commit"]))
    return records[:n]


def envelope(source: str, network: str, payload: Any, received_at: str = "2026-11-01T00:00:00+00:00") -> bytes:
    """A raw envelope as a connector would produce it."""
    return json.dumps({"source": source, "network": network, "received_at": received_at, "payload": payload}).encode()


class Pipeline:
    """A test's own topics (unique prefix), consumer group, ClickHouse database and worker processes."""

    def __init__(self, bootstrap: str, clickhouse_url: str, home: Path, *, windows: str = '["3650d"]') -> None:
        from kafka import KafkaProducer  # service clients imported here: the fast lane imports this module too

        from valuenet.analytics.storage.server_store import ServerStore, with_database
        from valuenet.kafka_admin import ensure_topics

        self.bootstrap = bootstrap
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self.database = f"e2e_{uuid.uuid4().hex[:10]}"
        self.clickhouse_url = with_database(clickhouse_url, self.database)
        self.home = home
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CLICKHOUSE_URL": self.clickhouse_url,
            "VALUENET_TOPIC_PREFIX": self.prefix,
            "VALUENET_APP_ID": f"{self.prefix}-app",
            "VALUENET_HOME": str(home),
            "VALUENET_TICK_SECONDS": "0.5",
            "VALUENET_ACTOR_SNAPSHOT_SECONDS": "0",
            "VALUENET_WINDOWS": windows,
        }
        self.workers: list[subprocess.Popen] = []
        self.expected_exits: tuple[int, ...] = ()  # exit statuses a test provokes on purpose
        ensure_topics(bootstrap, prefix=self.prefix)
        self.store = ServerStore(self.clickhouse_url, database=self.database)
        self.store.setup()
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)

    def topic(self, name: str) -> str:
        """This test's full topic name for raw/flows/metrics/dlq."""
        return f"{self.prefix}.{name}"

    def start_worker(self, name: str = "w0", fault: str | None = None) -> subprocess.Popen:
        """Start ``valuenet worker`` as a child process (its log in the test's home); ``fault``: see tests/faults.py."""
        log = open(self.home / f"{name}.log", "ab")
        entry = ["-m", "valuenet.cli"]
        if fault:
            entry = [str(ROOT / "tests" / "faults.py"), fault, str(self.home / f"{name}.fault")]
        proc = subprocess.Popen(
            [sys.executable, *entry, "worker", "--loglevel", "info"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def start_web(self) -> str:
        """Start ``valuenet serve`` (its own process, reading this test's store and metrics topic); returns its URL."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(self.home / "web.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "valuenet.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        base = f"http://127.0.0.1:{port}"
        self.wait_for(lambda: _healthy(base), bool, timeout=60)
        return base

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a worker's process group and reap it."""
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def produce(self, records: Iterable[bytes], network: str) -> int:
        """Send raw records to this test's raw topic keyed by ``network``; returns how many."""
        n = 0
        for value in records:
            self._producer.send(self.topic("raw"), key=network.encode(), value=value)
            n += 1
        self._producer.flush()
        return n

    def consume(self, name: str, *, expect: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Read ``expect`` JSON records from this test's ``name`` topic (from the beginning)."""
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            self.topic(name),
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=1000,
            group_id=None,
        )
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < expect and time.monotonic() < deadline:
                for msg in consumer:
                    out.append(json.loads(msg.value))
        finally:
            consumer.close()
        return out

    def wait_for(self, probe: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 120.0) -> Any:
        """Poll ``probe()`` until ``ok(value)``; fail with the last value and the worker logs."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = probe()
            if ok(value):
                return value
            for w in self.workers:
                if w.poll() is not None and w.returncode not in (0, -9, -15, *self.expected_exits):
                    raise AssertionError(f"worker exited {w.returncode}:\n{self.logs()}")
            time.sleep(0.5)
        raise AssertionError(f"timed out; last value {value!r}\n{self.logs()}")

    def flow_counts(self, network: str) -> dict[str, int]:
        """Stored flows by type (deduplicated by event id)."""
        rows = self.store.query(
            "SELECT toString(flow_type) AS t, uniqExact(event_id) AS n FROM flows WHERE network = %(n)s GROUP BY t",
            {"n": network},
        )
        return {r["t"]: int(r["n"]) for r in rows}

    def logs(self) -> str:
        """The tail of every worker log."""
        parts = []
        for f in sorted(self.home.glob("*.log")):
            parts.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def close(self) -> None:
        """Stop workers and their whole process trees (even of a worker that died), drop the database."""
        from tests.processes import kill_tree

        for w in self.workers:
            kill_tree(w)
        self._producer.close()
        try:
            self.store.query(f"DROP DATABASE IF EXISTS {self.database}")
        finally:
            self.store.close()


def _healthy(base: str) -> bool:
    """True once the web service answers /healthz with its Kafka feed connected."""
    try:
        return bool(httpx.get(f"{base}/healthz", timeout=2).json().get("kafka"))
    except httpx.HTTPError:
        return False


def settle(p: Pipeline, network: str, total: int, quiet_s: float = 8.0) -> None:
    """Wait until every flow is stored and the metric snapshots stopped changing for ``quiet_s``.

    A tick runs only after new flows, and the last one may land before the last flows insert does
    (the graph agent applies a batch, then stores it): so wait for quiet, not for a tick after the
    insert.
    """
    p.wait_for(lambda: sum(p.flow_counts(network).values()), lambda n: n >= total)
    sql = "SELECT max(computed_at_ms) AS c FROM network_metrics WHERE network = %(n)s"
    last, since, deadline = None, time.monotonic(), time.monotonic() + 180
    while time.monotonic() < deadline:
        c = p.store.query(sql, {"n": network})[0]["c"]
        if c != last:
            last, since = c, time.monotonic()
        elif c and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)
    raise AssertionError(f"metric snapshots of {network} never settled\n{p.logs()}")


def utc(ts: str) -> datetime:
    """ISO 8601 text → aware UTC datetime."""
    return datetime.fromisoformat(ts).astimezone(UTC)
