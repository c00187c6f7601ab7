"""A 3-broker local KRaft cluster (``valuenet kafka start --brokers 3``): replicated topics, broker loss.

Real brokers on 127.0.0.1, in a home and port range of their own (never the shared test broker's),
with small heaps and the C1-only JIT. SIGKILL a partition leader mid-stream: the idempotent,
``acks=all`` producer still delivers every event exactly once. Two of three brokers down: the webhook
answers 503, and every event it acknowledged is on the topic once the brokers are back.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_kafka import TEST_JVM_OPTS, consume_records
from valuenet.config import Settings
from valuenet.localstack import kafka

pytestmark = pytest.mark.kafka

BROKERS = 3


def _free_range(n_ports: int) -> int:
    """A base port with ``n_ports`` consecutive free ports on 127.0.0.1, away from the shared broker's 19092."""
    for base in range(19300 + (os.getpid() % 50) * 8, 19900, 8):
        ok = True
        for port in range(base, base + n_ports):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range for the test cluster")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Settings]:
    """Settings of a running 3-broker cluster in a fresh home (stopped and removed afterwards)."""
    home = Path(f"/tmp/valuenet-cluster-test-{os.getpid()}")
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(home=home, kafka_port=_free_range(2 * BROKERS), kafka_brokers=BROKERS, kafka_heap="256m")
    try:
        assert kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS, timeout=180) is True
        yield settings
    finally:
        kafka.stop_broker(settings, timeout=15)
        shutil.rmtree(home, ignore_errors=True)


def _restart_all(settings: Settings) -> None:
    """Bring every node back (``start_broker`` restarts the dead ones only) and wait until none is under-replicated."""
    from valuenet.kafka_admin import under_replicated

    kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS, timeout=180)
    deadline = time.monotonic() + 60
    while under_replicated(settings.bootstrap_servers) and time.monotonic() < deadline:
        time.sleep(0.5)


def _in_sync(settings: Settings, topic: str, within_s: float = 60.0) -> bool:
    """Wait until no partition of ``topic`` is under-replicated; False if one still is after ``within_s``."""
    from valuenet.kafka_admin import under_replicated

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not [u for u in under_replicated(settings.bootstrap_servers) if u.startswith(f"{topic}/")]:
            return True
        time.sleep(0.5)
    return False


def _topics(settings: Settings) -> tuple[str, str]:
    from valuenet.kafka_admin import ensure_topics

    stem = f"ck{uuid.uuid4().hex[:8]}"
    raw, dlq = f"{stem}.raw", f"{stem}.dlq"
    report = ensure_topics(settings.bootstrap_servers, {raw: 4, dlq: 1})
    assert report.created == sorted([raw, dlq])
    return raw, dlq


def _kill(settings: Settings, node: int) -> None:
    pid = kafka.node_pids(settings)[node]
    assert pid is not None, f"node {node} is not running"
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if kafka.managed_pid(settings, node) is None:
            return
        time.sleep(0.05)
    raise AssertionError(f"node {node} (pid {pid}) survived SIGKILL")


def test_cluster_layout_replication_and_status(cluster: Settings) -> None:
    from valuenet.kafka_admin import describe_partitions, topic_config

    pids = kafka.node_pids(cluster)
    assert sorted(pids) == [1, 2, 3] and all(pids.values()) and len(set(pids.values())) == 3
    base = cluster.kafka_port
    assert cluster.bootstrap_servers == f"127.0.0.1:{base},127.0.0.1:{base + 2},127.0.0.1:{base + 4}"
    props = kafka.server_properties(cluster, 2)
    assert props["node.id"] == "2"
    assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{base + 2},CONTROLLER://127.0.0.1:{base + 3}"
    assert props["controller.quorum.voters"] == (
        f"1@127.0.0.1:{base + 1},2@127.0.0.1:{base + 3},3@127.0.0.1:{base + 5}"
    )
    # one data dir per node, all formatted with the same cluster id
    ids = set()
    for node in (1, 2, 3):
        meta = kafka.BrokerPaths.for_settings(cluster, node).data_dir / "meta.properties"
        ids |= {line.split("=", 1)[1] for line in meta.read_text().splitlines() if line.startswith("cluster.id=")}
    assert len(ids) == 1
    raw, _dlq = _topics(cluster)
    described = describe_partitions(cluster.bootstrap_servers, raw)
    assert [sorted(p["replica_nodes"]) for p in described] == [[1, 2, 3]] * 4
    assert topic_config(cluster.bootstrap_servers, raw, "min.insync.replicas") == "2"
    assert topic_config(cluster.bootstrap_servers, raw, "max.message.bytes") == str(cluster.max_message_bytes)
    st = kafka.broker_status(Settings(home=cluster.home, kafka_port=cluster.kafka_port))  # size from cluster.json
    assert st.responding and [(n.node_id, n.port, n.alive) for n in st.nodes] == [
        (1, base, True),
        (2, base + 2, True),
        (3, base + 4, True),
    ]
    assert _in_sync(cluster, raw)  # every replica catches up: none of the topic's partitions stays under-replicated
    # the CLI: a home formatted for 3 brokers restarts as 3 without --brokers; status lists every broker
    from typer.testing import CliRunner

    from valuenet.cli import app as cli_app
    from valuenet.config import get_settings

    get_settings.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
            mp.delenv("VALUENET_KAFKA_BROKERS", raising=False)
            mp.setenv("VALUENET_HOME", str(cluster.home))
            mp.setenv("VALUENET_KAFKA_PORT", str(base))
            out = CliRunner().invoke(cli_app, ["kafka", "start", "--no-topics"])
            assert out.exit_code == 0, out.output
            assert (
                "already running: 3 brokers" in out.output and f"bootstrap: {cluster.bootstrap_servers}" in out.output
            )
            out = CliRunner().invoke(cli_app, ["kafka", "status"])
            assert out.exit_code == 0, out.output
            for node, pid in pids.items():
                port = base + 2 * (node - 1)
                assert f"broker {node}:  127.0.0.1:{port} (controller {port + 1}) pid {pid} alive" in out.output
            assert "under-replicated partitions:" in out.output
            out = CliRunner().invoke(cli_app, ["kafka", "start", "--brokers", "2", "--no-topics"])
            assert out.exit_code == 1 and "holds a Kafka cluster of 3 broker(s), not 2" in out.output
            assert "Traceback" not in out.output
    finally:
        get_settings.cache_clear()
    # a home formatted for 3 brokers refuses to start as 1
    with pytest.raises(kafka.KafkaStackError, match="cluster of 3 broker"):
        kafka.start_broker(Settings(home=cluster.home, kafka_port=cluster.kafka_port, kafka_brokers=1))


def test_sigkill_of_a_raw_leader_mid_stream_loses_and_duplicates_nothing(cluster: Settings) -> None:
    from valuenet.ingest.producer import RawProducer
    from valuenet.ingest.routing import envelope_key, partition_for
    from valuenet.kafka_admin import partition_leaders, under_replicated
    from valuenet.schemas.envelope import RawEnvelope, decode_raw

    raw, dlq = _topics(cluster)
    bootstrap = cluster.bootstrap_servers
    total, networks = 3000, [f"net{i}" for i in range(8)]
    envelopes = [
        RawEnvelope(source="generic", network=networks[i % len(networks)], payload={"id": f"e{i}", "i": i})
        for i in range(total)
    ]
    target = partition_for(envelope_key(envelopes[0]), 4)  # the raw partition net0 writes to
    leader = partition_leaders(bootstrap, raw)[target]
    assert leader in (1, 2, 3)
    producer = RawProducer(bootstrap, raw_topic=raw, dlq_topic=dlq, batch_envelopes=25, batch_linger_ms=10)

    def stream() -> None:
        for i, env in enumerate(envelopes):
            producer.send(env)
            if i % 100 == 99:
                time.sleep(0.05)  # a stream, not one burst: the kill lands in its middle

    try:
        sender = threading.Thread(target=stream)
        sender.start()
        deadline = time.monotonic() + 120
        while producer.delivered < total // 3:
            assert time.monotonic() < deadline, f"only {producer.delivered} of {total} acknowledged before the kill"
            time.sleep(0.01)
        _kill(cluster, leader)
        sent_at_kill = producer.sent
        sender.join(timeout=120)
        assert not sender.is_alive()
        assert producer.flush(timeout=120), "the producer did not get every record acknowledged"
        assert producer.undelivered() == []
    finally:
        producer.close(timeout=10)
    assert sent_at_kill < total, "the kill came after the stream ended"
    assert partition_leaders(bootstrap, raw)[target] not in (leader, -1)  # another replica leads now
    assert any(u.startswith(f"{raw}/") for u in under_replicated(bootstrap))  # the dead replica left the ISR
    got = Counter(
        e.payload["id"]
        for r in consume_records(bootstrap, raw, total, size=lambda v: len(decode_raw(v)), timeout_s=60)
        for e in decode_raw(r.value)
    )
    assert len(got) == total and set(got) == {f"e{i}" for i in range(total)}  # nothing lost
    assert max(got.values()) == 1  # nothing duplicated: idempotence, no dedupe needed
    _restart_all(cluster)


def test_webhook_is_503_with_two_of_three_brokers_down_and_loses_nothing_it_acked(cluster: Settings) -> None:
    from starlette.testclient import TestClient

    from valuenet.ingest.producer import RawProducer
    from valuenet.ingest.webhook import WebhookSecrets, create_app
    from valuenet.schemas.envelope import decode_raw

    _restart_all(cluster)  # whatever an earlier test left down
    raw, dlq = _topics(cluster)
    bootstrap = cluster.bootstrap_servers
    producer = RawProducer(bootstrap, raw_topic=raw, dlq_topic=dlq, linger_ms=5)
    secrets = WebhookSecrets(generic_webhook_token="tok")
    app = create_app(
        lambda env: producer.send_and_wait(env, timeout=4.0),
        secrets=secrets,
        network="acme",
        send_dlq=producer.send_dlq_record,
        ack_timeout_s=5.0,
    )
    acked: list[str] = []
    refused: list[str] = []
    try:
        with TestClient(app) as client:

            def post(i: int) -> int:
                r = client.post(
                    "/generic/generic",
                    json={"id": f"w{i}", "i": i},
                    headers={"Authorization": "Bearer tok", "X-Event-Id": f"w{i}"},
                )
                (acked if r.status_code == 200 else refused).append(f"w{i}")
                return r.status_code

            assert [post(i) for i in range(20)] == [200] * 20
            _kill(cluster, 2)
            _kill(cluster, 3)
            after = [post(i) for i in range(20, 26)]
            assert after == [503] * 6  # no quorum of replicas: not acknowledged, never a false 200
            kafka.start_broker(cluster, jvm_opts=TEST_JVM_OPTS, timeout=180)  # nodes 2 and 3 come back
            assert producer.flush(timeout=120)  # the 503'd records were kept queued: they go through now
    finally:
        producer.close(timeout=10)
    assert len(acked) == 20 and len(refused) == 6
    got = Counter(
        e.payload["id"]
        for r in consume_records(bootstrap, raw, 26, size=lambda v: len(decode_raw(v)), timeout_s=60)
        for e in decode_raw(r.value)
    )
    assert all(got[i] == 1 for i in acked)  # every acknowledged event once
    assert max(got.values()) == 1 and set(got) <= set(acked) | set(refused)
    _restart_all(cluster)


def test_leader_kills_through_the_full_pipeline_give_the_clean_run_metrics(
    cluster: Settings, clickhouse_url: str, tmp_path: Path
) -> None:
    """Worker + store on the cluster: SIGKILL the raw leader, then the flows leader, mid-stream → a clean run's metrics."""
    from tests.chaos_kit import produce_paced
    from tests.pipeline_harness import Pipeline, envelope, git_records, settle
    from tests.test_pipeline_reliability import final_metrics, final_network
    from valuenet.ingest.parsers import parse
    from valuenet.ingest.routing import partition_for
    from valuenet.kafka_admin import partition_leaders
    from valuenet.schemas.envelope import RawEnvelope

    _restart_all(cluster)
    bootstrap = cluster.bootstrap_servers
    network = "cluster"
    raw = [envelope("git", network, r) for r in git_records(1500)]
    total = sum(len(parse(RawEnvelope.model_validate_json(r))) for r in raw)
    part = partition_for(network, 4)  # raw and flows records are keyed by the network

    (tmp_path / "ref").mkdir()
    reference = Pipeline(bootstrap, clickhouse_url, tmp_path / "ref")
    try:
        reference.start_worker("ref")
        reference.produce(raw, network)
        settle(reference, network, total)
        want_counts = reference.flow_counts(network)
        want, want_network = final_metrics(reference, network), final_network(reference, network)
    finally:
        reference.close()
    assert sum(want_counts.values()) == total and len(want) > 50

    (tmp_path / "run").mkdir()
    p = Pipeline(bootstrap, clickhouse_url, tmp_path / "run")
    try:
        p.start_worker("w")
        third = len(raw) // 3
        produce_paced(p, raw[:third], network)
        p.wait_for(lambda: sum(p.flow_counts(network).values()), lambda n: n > 0)
        raw_leader = partition_leaders(bootstrap, p.topic("raw"))[part]
        _kill(cluster, raw_leader)  # the raw partition's leader, while the worker reads it
        produce_paced(p, raw[third : 2 * third], network)
        kafka.start_broker(cluster, jvm_opts=TEST_JVM_OPTS, timeout=180)
        flows_leader = partition_leaders(bootstrap, p.topic("flows"))[part]
        stored_before = sum(p.flow_counts(network).values())
        _kill(cluster, flows_leader)  # the flows partition's leader, while the worker writes it
        produce_paced(p, raw[2 * third :], network)
        settle(p, network, total)
        assert stored_before < total, "the second kill must land mid-stream"
        assert p.flow_counts(network) == want_counts  # 0 lost, 0 counted twice
        assert final_metrics(p, network) == want
        assert final_network(p, network) == want_network
    finally:
        p.close()
    _restart_all(cluster)
