"""Shared set-up for the pipeline benchmarks: the broker, a private ClickHouse server, workers, payloads."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from valuenet.analytics.storage.server_store import ServerStore, with_database
from valuenet.config import Settings
from valuenet.ingest.samples import GIT_SAMPLE
from valuenet.kafka_admin import ensure_topics
from valuenet.localstack.clickhouse_server import ClickHouseServer
from valuenet.localstack.kafka import start_broker, stop_broker

ROOT = Path(__file__).resolve().parents[1]


BENCH_KAFKA_PORT = 39092
"""Benchmarks never touch the shared test broker (19092): they run their own on this port or above."""


def bench_broker_settings() -> Settings:
    """Settings of the benchmarks' own managed broker: ``VALUENET_BENCH_KAFKA_PORT`` (≥ 39092) and its own home."""
    port = int(os.environ.get("VALUENET_BENCH_KAFKA_PORT", BENCH_KAFKA_PORT))
    if port < BENCH_KAFKA_PORT:
        raise SystemExit(f"VALUENET_BENCH_KAFKA_PORT={port}: benchmarks use their own broker on a port >= 39092")
    home = Path(os.environ.get("VALUENET_BENCH_HOME", Path(tempfile.gettempdir()) / f"valuenet-bench-{port}"))
    return Settings(home=home, kafka_port=port, kafka_bootstrap_servers=None)


def bootstrap() -> str:
    """``KAFKA_BOOTSTRAP_SERVERS`` when set, else the benchmarks' own managed broker (started if needed)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    settings = bench_broker_settings()
    start_broker(settings)
    return settings.bootstrap_servers


@contextmanager
def own_broker() -> Iterator[str]:
    """:func:`bootstrap`, stopping the benchmarks' broker afterwards if this call started it."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    settings = bench_broker_settings()
    started = start_broker(settings)
    try:
        yield settings.bootstrap_servers
    finally:
        if started:
            stop_broker(settings)


@contextmanager
def clickhouse() -> Iterator[str]:
    """CLICKHOUSE_URL if set, else a private clickhouse-server for the run."""
    if os.environ.get("CLICKHOUSE_URL"):
        yield os.environ["CLICKHOUSE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="vn-bench-ch-") as d, ClickHouseServer(Path(d)) as url:
        yield url


def git_payloads(n: int, *, start_ms: int | None = None) -> list[dict]:
    """``n`` commit records from the bundled sample, cycled with fresh hashes (unique event ids).

    With ``start_ms`` the i-th commit is stamped ``start_ms + i`` milliseconds: a live stream.
    """
    with gzip.open(GIT_SAMPLE, "rt", encoding="utf-8") as f:
        base = [json.loads(line) for line in f if line.strip()]
    out = []
    for i in range(n):
        r = dict(base[i % len(base)])
        r["commit"] = f"{i:08x}{r['commit'][8:]}"
        if start_ms is not None:
            r["committed_at"] = r["authored_at"] = datetime.fromtimestamp((start_ms + i) / 1000, UTC).isoformat()
        out.append(r)
    return out


def envelope(payload: dict, network: str) -> bytes:
    """A raw git envelope."""
    return json.dumps({"source": "git", "network": network, "payload": payload}).encode()


class Run:
    """One isolated pipeline run: unique topics, consumer group and ClickHouse database."""

    def __init__(self, bootstrap_servers: str, clickhouse_url: str, **env: str) -> None:
        self.prefix = f"bench{uuid.uuid4().hex[:8]}"
        self.database = f"bench_{uuid.uuid4().hex[:8]}"
        self.bootstrap = bootstrap_servers
        self.url = with_database(clickhouse_url, self.database)
        self.home = Path(tempfile.mkdtemp(prefix="vn-bench-home-"))
        ensure_topics(bootstrap_servers, prefix=self.prefix)
        self.store = ServerStore(self.url, database=self.database)
        self.store.setup()
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "CLICKHOUSE_URL": self.url,
            "VALUENET_TOPIC_PREFIX": self.prefix,
            "VALUENET_APP_ID": self.prefix,
            "VALUENET_HOME": str(self.home),
            **env,
        }
        self.procs: list[subprocess.Popen] = []

    def topic(self, name: str) -> str:
        """Full name of this run's topic."""
        return f"{self.prefix}.{name}"

    def worker(self, name: str = "worker", loglevel: str | None = None) -> subprocess.Popen:
        """Start ``valuenet worker`` (its log in ``<home>/<name>.log``)."""
        log = open(self.home / f"{name}.log", "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "valuenet.cli", "worker", *(["--loglevel", loglevel] if loglevel else [])],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        return p

    def web(self, timeout: float = 90.0) -> str:
        """Start ``valuenet serve`` on a free port; returns its URL once its Kafka feed is connected."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log = open(self.home / "web.log", "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "valuenet.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).json().get("kafka"):
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"valuenet serve did not connect to Kafka; see {self.home / 'web.log'}")

    def close(self) -> None:
        """Stop processes and drop the database."""
        for p in self.procs:
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.store.query(f"DROP DATABASE IF EXISTS {self.database}")
        self.store.close()
