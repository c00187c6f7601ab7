"""A full disk under embedded chdb (issue 25, fault 2): writes block, offsets wait, nothing is lost or doubled.

A real worker (``valuenet worker --serve``, embedded chdb) keeps its chdb directory on a small
tmpfs the test mounts itself (tests/smallfs.py), on a real broker. The test fills the disk, sends
events, checks that the worker says so (ERROR line, ``/healthz`` 503, ``valuenet_store_blocked``),
that no offset of the waiting events is committed and no live counter counts them, frees the
space, and checks every event is stored exactly once and counted once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chaos_kit import expected_ids
from tests.pipeline_harness import ROOT, envelope, git_records
from tests.processes import free_port, kill_tree
from tests.smallfs import DISK_FULL_MARKER, small_filesystem
from valuenet.pipeline.wiring import build_stage

pytestmark = pytest.mark.kafka

BEFORE, DURING = "disk-before", "disk-during"  # events stored before the disk fills / sent while it is full

#: Run in a child process once the worker stopped (chdb: one process per directory): per network, the distinct
#: stored event ids, the rows after ReplacingMergeTree folding, and the latest snapshot's out-strength vs. flows.
_READ_BACK = """
import json, sys
from valuenet.analytics.storage.chdb_store import ChdbStore
s = ChdbStore(sys.argv[1])
out = {}
for n in sys.argv[2:]:
    ids = [r["event_id"] for r in s.query("SELECT DISTINCT event_id FROM flows WHERE network = %(n)s", {"n": n})]
    final = s.query("SELECT count() AS c FROM flows FINAL WHERE network = %(n)s", {"n": n})[0]["c"]
    valued = s.query("SELECT uniqExact(event_id) AS c FROM flows WHERE network = %(n)s AND receiver IS NOT NULL "
                     "AND receiver != giver", {"n": n})[0]["c"]
    strength = s.query("SELECT sum(out_knowledge + out_idea + out_reputation) AS s FROM actor_metrics WHERE "
                       "network = %(n)s AND computed_at_ms = (SELECT max(computed_at_ms) FROM actor_metrics "
                       "WHERE network = %(n)s)", {"n": n})
    out[n] = {"ids": ids, "final": final, "valued": valued, "strength": strength[0]["s"] if strength else None}
s.close()
print(json.dumps(out))
"""


class ChdbWorker:
    """One ``valuenet worker --serve`` on embedded chdb with this test's topics, consumer group and API port."""

    def __init__(self, bootstrap: str, home: Path, chdb_path: Path, fault_marker: Path | None) -> None:
        from kafka import KafkaProducer

        from valuenet.kafka_admin import ensure_topics

        self.bootstrap = bootstrap
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self.group = f"{self.prefix}-app"
        self.home = home
        self.chdb_path = chdb_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "CLICKHOUSE_URL"}
        self.env = {
            **env,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "VALUENET_TOPIC_PREFIX": self.prefix,
            "VALUENET_APP_ID": self.group,
            "VALUENET_HOME": str(home),
            "VALUENET_CHDB_PATH": str(chdb_path),
            "VALUENET_API_PORT": str(self.port),
            "VALUENET_TICK_SECONDS": "0.5",
            "VALUENET_ACTOR_SNAPSHOT_SECONDS": "0",
            "VALUENET_WINDOWS": '["3650d"]',
        }
        ensure_topics(bootstrap, prefix=self.prefix)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self.log = home / "worker.log"
        entry = ["-m", "valuenet.cli"]
        if fault_marker is not None:  # no filesystem could be mounted: the stand-in (tests/faults.py disk-full)
            entry = [str(ROOT / "tests" / "faults.py"), "disk-full", str(fault_marker)]
        self.proc = subprocess.Popen(
            [sys.executable, *entry, "worker", "--serve", "--loglevel", "info"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def topic(self, name: str) -> str:
        """This test's full topic name."""
        return f"{self.prefix}.{name}"

    def produce(self, records: list[bytes], network: str) -> None:
        """Send raw envelopes keyed by ``network`` and wait for the broker's acknowledgement."""
        for value in records:
            self.producer.send(self.topic("raw"), key=network.encode(), value=value)
        self.producer.flush()

    def health(self) -> tuple[int, dict[str, Any]]:
        """``/healthz``: status code and body ((0, {}) while the API does not answer)."""
        try:
            r = httpx.get(f"{self.base}/healthz", timeout=5)
            return r.status_code, r.json()
        except httpx.HTTPError:
            return 0, {}

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample of ``/metrics`` (``labels`` as written inside the braces), None when absent."""
        try:
            text = httpx.get(f"{self.base}/metrics", timeout=10).text
        except httpx.HTTPError:
            return None
        series = f"{name}{{{labels}}}" if labels else name
        m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    def offsets(self) -> dict[str, tuple[int, int]]:
        """Per topic (raw, flows): (Σ committed offsets of the worker's group, Σ end offsets)."""
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            committed = admin.list_group_offsets([self.group]).get(self.group, {})
            out = {}
            for name in ("raw", "flows"):
                tps = [TopicPartition(self.topic(name), p) for p in consumer.partitions_for_topic(self.topic(name))]
                ends = consumer.end_offsets(tps)
                done = sum(max(committed[tp].offset, 0) for tp in tps if tp in committed)
                out[name] = (done, sum(ends.values()))
            return out
        finally:
            admin.close()
            consumer.close()

    def records(self, name: str, network: str) -> list[dict[str, Any]]:
        """Every record of topic ``name`` keyed ``network`` so far (read from the beginning)."""
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            self.topic(name),
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=3000,
            group_id=None,
        )
        try:
            return [json.loads(m.value) for m in consumer if m.key == network.encode()]
        finally:
            consumer.close()

    def wait_for(self, probe: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 180.0) -> Any:
        """Poll ``probe()`` until ``ok(value)``; fail with the last value and the worker's log."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = probe()
            if ok(value):
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"last value {value!r}; worker exit {self.proc.poll()}\n{self.tail()}")

    def tail(self) -> str:
        """The end of the worker's log."""
        return self.log.read_text(errors="replace")[-6000:]

    def read_back(self, *networks: str) -> dict[str, Any]:
        """What chdb holds per network, read in a child process once the worker stopped."""
        out = subprocess.run(
            [sys.executable, "-c", _READ_BACK, str(self.chdb_path), *networks],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        """Stop the worker's whole process tree and the producer."""
        kill_tree(self.proc)
        self.producer.close()


def ticks_after(records: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """The tick records (``valuenet.metrics``) computed after ``since``."""
    return [r for r in records if r.get("type") == "tick" and datetime.fromisoformat(r["computed_at"]) > since]


def test_a_full_disk_blocks_writes_holds_offsets_and_loses_nothing(kafka_bootstrap: str, tmp_path: Path) -> None:
    records = git_records(500)
    before = [envelope("git", BEFORE, r) for r in records[:300]]
    during = [envelope("git", DURING, r) for r in records[300:]]
    want_before, want_during = expected_ids(build_stage(), before), expected_ids(build_stage(), during)
    home = tmp_path / "home"
    home.mkdir()
    with small_filesystem(tmp_path / "chdbfs", mib=64) as fs:
        marker = fs.path.parent / DISK_FULL_MARKER
        w = ChdbWorker(kafka_bootstrap, home, fs.path / "chdb", None if fs.real else marker)
        try:
            w.wait_for(w.health, lambda h: h[0] == 200 and h[1].get("kafka"))
            w.produce(before, BEFORE)
            w.wait_for(lambda: w.metric("valuenet_store_rows", 'table="flows"'), lambda n: (n or 0) >= len(want_before))
            assert w.health()[1]["store_blocked"] is None

            fs.fill()
            flows_end_before = w.offsets()["flows"][1]
            w.produce(during, DURING)
            # the worker says so: /healthz 503 with the reason, the gauge, one ERROR line
            code, body = w.wait_for(w.health, lambda h: h[0] == 503)
            assert body["status"] == "degraded" and body["store_blocked"]["reason"] == "no_space", body
            assert "NOT_ENOUGH_SPACE" in body["store_blocked"]["message"], body
            assert w.metric("valuenet_store_blocked", 'reason="no_space"') == 1.0
            assert w.metric("valuenet_store_blocked", 'reason="unavailable"') == 0.0
            # stay blocked through several retries (0.5 + 1 + 2 + 4 s) and several offset commits (every 2.8 s)
            w.wait_for(w.health, lambda h: h[0] == 503 and h[1]["store_blocked"]["retries"] >= 4, timeout=120)
            offsets = w.offsets()
            assert offsets["flows"][1] > flows_end_before, "the events reached the flows topic"
            assert offsets["flows"][0] <= flows_end_before, f"flows offsets committed past the blocked batch: {offsets}"
            assert offsets["raw"][0] < offsets["raw"][1], f"raw offsets committed past the blocked batch: {offsets}"
            assert w.records("metrics", DURING) == [], "live counters counted events the store does not hold"
            assert w.metric("valuenet_store_rows", 'table="flows"') == len(want_before)
            log = w.tail()
            assert len(re.findall(r"\[ERROR\] store writes (?:still )?blocked", log)) == 1, log

            fs.free()
            w.wait_for(w.health, lambda h: h[0] == 200 and h[1]["store_blocked"] is None, timeout=120)
            assert "store writes resumed after" in w.tail()
            total = len(want_before) + len(want_during)
            w.wait_for(lambda: w.metric("valuenet_store_rows", 'table="flows"'), lambda n: (n or 0) >= total)
            stored_at = datetime.now(UTC)
            # counted once stored: a tick computed after that (its actor rows are stored before it is published)
            w.wait_for(lambda: ticks_after(w.records("metrics", DURING), stored_at), bool)
            os.killpg(w.proc.pid, signal.SIGTERM)
            assert w.proc.wait(120) == 0, w.tail()
            offsets = w.offsets()
            assert all(done == end for done, end in offsets.values()), offsets
            assert w.records("dlq", BEFORE) == [] and w.records("dlq", DURING) == []

            stored = w.read_back(BEFORE, DURING)
            for network, want in ((BEFORE, want_before), (DURING, want_during)):
                got = stored[network]
                assert set(got["ids"]) == want, f"{network}: lost {len(want - set(got['ids']))}"
                assert got["final"] == len(want), network  # stored exactly once
                assert got["strength"] == got["valued"], network  # counted exactly once in the latest snapshot
        finally:
            w.close()
