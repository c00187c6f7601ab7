"""A broker down 150 s during `valuenet ingest replay` (issue #25 item 3): nothing lost, nothing doubled.

The test runs its own broker (own home and port: the shared test broker cannot be stopped) and two
replays of 1,500 git commits into it, started together. The broker is stopped shortly after they
began and started again 150 s later (the issue's outage: longer than kafka-python's default 120 s
delivery timeout, which used to expire the queued records). Replay A waits it out: every commit
lands in the raw topic exactly once and it exits 0. The webhook receiver, on the same broker, answers
200 before the outage, 503 during it (it acknowledges only what Kafka has) and 200 after it.
Replay B gets Ctrl-C while the broker is down:
one line, exit 130, no traceback, and what Kafka had not acknowledged is in the JSONL file the line
names; re-sent with `valuenet ingest replay FILE`, every commit of B is on the topic and the
pipeline's dedupe by event id counts each once.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures_kafka import TEST_JVM_OPTS
from tests.pipeline_harness import git_records
from tests.processes import spawn
from tests.test_kafka_stack import _free_port_pair
from valuenet.config import Settings
from valuenet.localstack import kafka

pytestmark = pytest.mark.kafka

EVENTS = 1500
OUTAGE_S = 150.0


@pytest.fixture
def own_broker(tmp_path: Path):
    """A broker of this test alone (stoppable without disturbing other sessions)."""
    from valuenet.kafka_admin import ensure_topics

    settings = Settings(
        home=tmp_path / "broker", kafka_port=_free_port_pair(), kafka_heap="256m", kafka_bootstrap_servers=None
    )
    try:
        kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS)
        ensure_topics(settings.bootstrap_servers, prefix="outage")
        yield settings
    finally:
        kafka.stop_broker(settings)


def raw_commits(bootstrap: str, topic: str) -> Counter[tuple[str, str]]:
    """(network, commit) of every envelope on ``topic``, with how often it is there."""
    from kafka import KafkaConsumer

    from valuenet.schemas.envelope import decode_raw

    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    seen: Counter[tuple[str, str]] = Counter()
    idle = 0
    try:
        while idle < 6:  # three quiet seconds after the last record: the topic is read to its end
            batches = consumer.poll(timeout_ms=500)
            idle = 0 if batches else idle + 1
            for records in batches.values():
                for r in records:
                    for env in decode_raw(r.value):
                        if env.network != "hook":  # the webhook's events
                            seen[(env.network, env.payload["commit"])] += 1
    finally:
        consumer.close()
    return seen


def test_replay_survives_a_150_s_broker_outage_and_ctrl_c_saves_the_rest(own_broker: Settings, tmp_path: Path) -> None:
    commits = git_records(EVENTS)
    source = tmp_path / "commits.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(c) + "\n" for c in commits)
    want = {c["commit"] for c in commits}
    assert len(want) == EVENTS
    bootstrap = own_broker.bootstrap_servers
    raw_topic = "outage.raw"

    def env(name: str) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "VALUENET_TOPIC_PREFIX": "outage",
            "VALUENET_HOME": str(tmp_path / name),
            "VALUENET_RAW_BATCH_ENVELOPES": "50",  # many records in flight: the outage hits several batches
        }

    def replay(name: str) -> list[str]:
        return [sys.executable, "-m", "valuenet.cli", "ingest", "replay", str(source), "--source", "git"] + [
            "--network",
            name,
            "--rate",
            "50",  # 30 s of sending: the broker goes down mid-replay
            "--json",
        ]

    from starlette.testclient import TestClient

    from valuenet.ingest.producer import RawProducer
    from valuenet.ingest.webhook import WebhookSecrets, create_app

    hook_producer = RawProducer(bootstrap, raw_topic=raw_topic, dlq_topic="outage.dlq")
    hook = TestClient(
        create_app(
            hook_producer.send_and_wait,
            secrets=WebhookSecrets(_env_file=None, generic_webhook_token="outage-token"),
            network="hook",
            ack_timeout_s=3.0,
        )
    )

    def post_hook(i: int) -> int:
        body = json.dumps({"id": f"hook-{i}", "actor": "a", "target": "b", "type": "reply", "text": "thanks"})
        headers = {"Authorization": "Bearer outage-token", "X-Event-Id": f"hook-{i}"}
        return hook.post("/generic/generic", content=body, headers=headers).status_code

    assert post_hook(0) == 200
    out = subprocess.PIPE
    with (
        spawn(replay("a"), env=env("a"), stdout=out, stderr=out, text=True) as a,
        spawn(replay("b"), env=env("b"), stdout=out, stderr=out, text=True) as b,
    ):
        from kafka import KafkaConsumer

        from valuenet.schemas.envelope import decode_raw

        watch = KafkaConsumer(
            raw_topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        arrived, deadline = 0, time.monotonic() + 90
        while arrived < 100:  # some delivered before the outage, most of it still to send
            assert time.monotonic() < deadline, "the replays delivered nothing"
            assert a.poll() is None and b.poll() is None
            batches = watch.poll(timeout_ms=100)
            arrived += sum(len(decode_raw(r.value)) for records in batches.values() for r in records)
        watch.close()
        assert kafka.stop_broker(own_broker)
        down_at = time.monotonic()
        time.sleep(40)
        assert a.poll() is None, f"replay A gave up during the outage: {a.communicate()}"
        b.send_signal(signal.SIGINT)  # Ctrl-C while the broker is down
        b_out, b_err = b.communicate(timeout=60)
        assert post_hook(1) == 503  # Kafka cannot take it: not acknowledged
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        assert a.poll() is None, "replay A gave up during the outage"
        kafka.start_broker(own_broker, jvm_opts=TEST_JVM_OPTS)
        a_out, a_err = a.communicate(timeout=300)
        assert post_hook(2) == 200  # acknowledged again once Kafka is back
        hook_producer.close()

    # A: waited the outage out, every event acknowledged
    assert a.returncode == 0, a_err[-3000:]
    summary = json.loads(a_out)
    assert summary["sent"] == EVENTS and summary["delivered"] == EVENTS, summary
    # B: one line, exit 130, no traceback; the line names the file of what Kafka did not acknowledge
    assert b.returncode == 130, b_err[-3000:]
    assert "Traceback" not in b_err
    lines = [line for line in b_err.splitlines() if line.strip()]
    *waiting, last = lines  # before the Ctrl-C: the periodic "still waiting" lines of the outage, nothing else
    assert last.startswith("interrupted: Kafka acknowledged"), b_err[-3000:]
    assert all(line.startswith("Kafka has not acknowledged") for line in waiting), b_err[-3000:]
    match = re.search(r"(\d[\d,]*) not acknowledged saved to (\S+\.jsonl)", last)
    assert match, last
    saved = Path(match.group(2))
    assert saved.is_relative_to(tmp_path / "b" / "undelivered")
    saved_commits = [json.loads(line)["payload"]["commit"] for line in saved.read_text().splitlines()]
    assert len(saved_commits) == int(match.group(1).replace(",", "")) > 0

    on_topic = raw_commits(bootstrap, raw_topic)
    a_commits = Counter({c: n for (net, c), n in on_topic.items() if net == "a"})
    assert set(a_commits) == want, f"lost {len(want - set(a_commits))} events"
    assert max(a_commits.values()) == 1, "an event of A is on the topic twice"
    b_commits = {c for (net, c), _ in on_topic.items() if net == "b"}
    assert max(n for (net, _), n in on_topic.items() if net == "b") == 1
    assert b_commits | set(saved_commits) == want, "B lost events that are neither on the topic nor saved"

    # re-send B's saved records; through the stage and the graph store each event counts once
    resend = subprocess.run(
        [sys.executable, "-m", "valuenet.cli", "ingest", "replay", str(saved), "--json"],
        env=env("b2"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resend.returncode == 0, resend.stderr[-3000:]
    assert json.loads(resend.stdout)["delivered"] == len(saved_commits)
    from kafka import KafkaConsumer

    from valuenet.analytics.graph_store import GraphStore
    from valuenet.pipeline.wiring import build_stage

    consumer = KafkaConsumer(
        raw_topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    values: list[bytes] = []
    idle = 0
    while idle < 6:
        batches = consumer.poll(timeout_ms=500)
        idle = 0 if batches else idle + 1
        values.extend(r.value for records in batches.values() for r in records if r.key == b"b")
    consumer.close()
    flows = build_stage().process(values).flows
    store = GraphStore("b", windows=["3650d"], bucket_seconds=86400, allowed_lateness_seconds=10 * 365 * 86400)
    tally = store.add_many(sorted(flows, key=lambda f: f.timestamp))
    clean = GraphStore("b", windows=["3650d"], bucket_seconds=86400, allowed_lateness_seconds=10 * 365 * 86400)
    reference = build_stage().process(
        [json.dumps({"source": "git", "network": "b", "payload": c}).encode() for c in commits]
    )
    clean_tally = clean.add_many(sorted(reference.flows, key=lambda f: f.timestamp))
    assert tally["applied"] == clean_tally["applied"] and tally["late"] == 0
    assert tally["duplicate"] == len(flows) - clean_tally["applied"]
