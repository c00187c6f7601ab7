"""The managed local Kafka broker, topic administration and ``valuenet kafka`` — against real brokers."""

from __future__ import annotations

import socket
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from valuenet.cli import app as cli_app
from valuenet.config import TOPIC_PARTITIONS, Settings, get_settings
from valuenet.kafka_admin import delete_topics, ensure_topics, prefixed, topic_partitions
from valuenet.localstack import kafka

from .fixtures_kafka import TEST_JVM_OPTS

pytestmark = pytest.mark.kafka
runner = CliRunner()


def _free_port_pair() -> int:
    """A port p with p and p+1 both free on 127.0.0.1 (broker and controller)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Clear the cached process settings before and after a test that changes the environment."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _consume_all(bootstrap: str, topic: str, expected: int) -> list:
    from kafka import KafkaConsumer, TopicPartition  # kafka-python inside the tests: the fast lane collects this module

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10_000
    )
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    records = []
    for record in consumer:
        records.append(record)
        if len(records) >= expected:
            break
    consumer.close()
    return records


def test_produce_and_consume_keyed_by_network(kafka_bootstrap: str, new_topic) -> None:
    from kafka import KafkaProducer

    topic = new_topic(3)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    sent = {(f"net-{i % 6}", f"event-{i}") for i in range(60)}
    for key, value in sorted(sent):
        producer.send(topic, key=key.encode(), value=value.encode())
    producer.flush()
    producer.close()

    records = _consume_all(kafka_bootstrap, topic, len(sent))
    got = {(r.key.decode(), r.value.decode()) for r in records}
    assert got == sent
    partitions_per_key: dict[str, set[int]] = defaultdict(set)
    for r in records:
        partitions_per_key[r.key.decode()].add(r.partition)
    assert len(partitions_per_key) == 6
    assert all(len(p) == 1 for p in partitions_per_key.values())  # one network stays in one partition
    # Within each key the order of production is kept.
    for key in partitions_per_key:
        values = [int(r.value.decode().split("-")[1]) for r in records if r.key.decode() == key]
        assert values == sorted(values, key=lambda v: f"event-{v}")


def test_valuenet_topics_exist_with_their_partition_counts(kafka_bootstrap: str) -> None:
    assert topic_partitions(kafka_bootstrap, list(TOPIC_PARTITIONS)) == TOPIC_PARTITIONS
    assert TOPIC_PARTITIONS["valuenet.raw"] == 4 and TOPIC_PARTITIONS["valuenet.dlq"] == 1


def test_ensure_topics_is_idempotent(kafka_bootstrap: str, new_topic) -> None:
    base = new_topic(1)  # unique stem; the topics below are cleaned up explicitly
    wanted = {f"{base}.a": 3, f"{base}.b": 2}
    try:
        first = ensure_topics(kafka_bootstrap, wanted)
        assert first.created == sorted(wanted) and first.existing == []
        second = ensure_topics(kafka_bootstrap, wanted)
        assert second.created == [] and second.existing == sorted(wanted)
        assert second.partitions == wanted and second.mismatched == {}
        assert topic_partitions(kafka_bootstrap, list(wanted)) == wanted
    finally:
        delete_topics(kafka_bootstrap, list(wanted))


def test_ensure_topics_reports_but_never_alters_a_partition_mismatch(kafka_bootstrap: str, new_topic) -> None:
    name = new_topic(2)
    report = ensure_topics(kafka_bootstrap, {name: 5})
    assert report.created == [] and report.mismatched == {name: (5, 2)}
    assert topic_partitions(kafka_bootstrap, [name]) == {name: 2}


def test_topic_prefix_renames_valuenet_topics(kafka_bootstrap: str, new_topic) -> None:
    assert prefixed(TOPIC_PARTITIONS, "acme") == {"acme.raw": 4, "acme.flows": 4, "acme.metrics": 1, "acme.dlq": 1}
    assert prefixed(TOPIC_PARTITIONS, "valuenet") == TOPIC_PARTITIONS
    prefix = new_topic(1)  # a unique stem for this run
    try:
        report = ensure_topics(kafka_bootstrap, {"valuenet.raw": 3, "valuenet.dlq": 1}, prefix=prefix)
        assert report.created == [f"{prefix}.dlq", f"{prefix}.raw"]
        assert topic_partitions(kafka_bootstrap, report.created) == {f"{prefix}.raw": 3, f"{prefix}.dlq": 1}
    finally:
        delete_topics(kafka_bootstrap, [f"{prefix}.raw", f"{prefix}.dlq"])


def test_status_start_stop_with_an_external_cluster(kafka_bootstrap: str, monkeypatch, fresh_settings) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    settings = Settings()
    st = kafka.broker_status(settings)
    assert (st.mode, st.bootstrap, st.responding) == ("external", kafka_bootstrap, True)
    assert len(st.brokers) == 1 and set(TOPIC_PARTITIONS) <= set(st.topics)
    assert kafka.stop_broker(settings) is False
    with pytest.raises(kafka.KafkaStackError, match="KAFKA_BOOTSTRAP_SERVERS"):
        kafka.start_broker(settings)
    assert kafka.ensure_broker(settings) == kafka_bootstrap

    out = runner.invoke(cli_app, ["kafka", "status"])
    assert out.exit_code == 0, out.output
    assert "external" in out.output and f"{kafka_bootstrap} — responding" in out.output
    for cmd in ("start", "stop"):
        out = runner.invoke(cli_app, ["kafka", cmd])
        assert out.exit_code == 0 and "KAFKA_BOOTSTRAP_SERVERS" in out.output and "is set" in out.output
    out = runner.invoke(cli_app, ["kafka", "topics"])
    assert out.exit_code == 0, out.output
    assert "valuenet.raw         4 partitions" in out.output
    assert "valuenet.metrics     1 partitions" in out.output


def test_status_when_nothing_runs(tmp_path: Path, monkeypatch, fresh_settings) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("VALUENET_HOME", str(tmp_path))
    monkeypatch.setenv("VALUENET_KAFKA_PORT", str(_free_port_pair()))
    st = kafka.broker_status(Settings())
    assert (st.mode, st.responding, st.pid, st.brokers) == ("managed", False, None, [])
    assert st.log_file == tmp_path / "logs" / "kafka.log"
    out = runner.invoke(cli_app, ["kafka", "status", "--json"])
    assert out.exit_code == 1
    assert '"responding": false' in out.output
    assert runner.invoke(cli_app, ["kafka", "stop"]).output.startswith("No managed Kafka broker running")


def test_managed_broker_lifecycle(kafka_bootstrap: str, tmp_path: Path) -> None:
    """Start, reuse, restart (storage formatted once, data kept) and stop a second broker in its own home."""
    settings = Settings(home=tmp_path / "home", kafka_port=_free_port_pair(), kafka_heap="256m")
    paths = kafka.BrokerPaths.for_settings(settings)
    try:
        assert kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS) is True
        pid = kafka.managed_pid(settings)
        assert pid is not None and paths.pid_file.read_text().strip() == str(pid)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"kafka.Kafka" in cmdline and b"-Xmx256m" in cmdline and b"-XX:TieredStopAtLevel=1" in cmdline
        assert kafka.start_broker(settings) is False  # already running: reused, not started twice
        first = kafka.broker_status(settings)
        assert first.responding and first.pid == pid and first.brokers == [settings.bootstrap_servers]
        assert "Kafka Server started" in paths.log_file.read_text()
        assert (
            f"listeners=PLAINTEXT://127.0.0.1:{settings.kafka_port},CONTROLLER://127.0.0.1:{settings.kafka_port + 1}"
            in paths.config_file.read_text()
        )

        ensure_topics(settings.bootstrap_servers, {"keep.me": 2})
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
        producer.send("keep.me", key=b"net", value=b"survives a restart")
        producer.flush()
        producer.close()

        assert kafka.stop_broker(settings) is True
        assert not paths.pid_file.exists() and kafka.managed_pid(settings) is None
        assert kafka.broker_status(settings).responding is False
        assert "[BrokerServer id=1] shut down completed" in paths.log_file.read_text()

        assert kafka.start_broker(settings, jvm_opts=TEST_JVM_OPTS) is True
        again = kafka.broker_status(settings)
        assert again.cluster_id == first.cluster_id  # storage was not formatted a second time
        records = _consume_all(settings.bootstrap_servers, "keep.me", 1)
        assert [(r.key, r.value) for r in records] == [(b"net", b"survives a restart")]
    finally:
        kafka.stop_broker(settings)
    assert kafka.stop_broker(settings) is False
    assert kafka.broker_status(settings).responding is False


def test_jars_are_cached_outside_the_repository(kafka_bootstrap: str, fresh_settings) -> None:
    libs = kafka.jar_cache_dir() / "libs"
    version = kafka.kafka_version()
    assert version.startswith("4.0.")
    assert kafka.jars_present()
    names = {p.name for p in libs.glob("*.jar")}
    assert f"kafka_2.13-{version}.jar" in names
    assert any(n.startswith("log4j-slf4j2-impl-") for n in names) and any(n.startswith("log4j-core-") for n in names)
    assert Path(__file__).resolve().parents[1] not in libs.resolve().parents
    out = runner.invoke(cli_app, ["kafka", "fetch"])
    assert out.exit_code == 0 and "already cached" in out.output


def test_missing_java_and_maven_give_clear_messages(tmp_path: Path, monkeypatch, fresh_settings) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(kafka.KafkaStackError, match=r"Java not found .* Java 17\+"):
        kafka.find_java()
    with pytest.raises(kafka.KafkaStackError, match=r"Maven \(`mvn`\) not found"):
        kafka.find_maven()
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("VALUENET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VALUENET_KAFKA_PORT", str(_free_port_pair()))
    out = runner.invoke(cli_app, ["kafka", "start"])
    assert out.exit_code == 1
    assert "Java not found" in out.output and "openjdk-17-jre-headless" in out.output


def test_server_properties_bind_loopback_with_the_configured_ports(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka_port=23456)
    props = kafka.server_properties(settings)
    assert kafka.controller_port(settings) == 23457
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:23456,CONTROLLER://127.0.0.1:23457"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:23456"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:23457"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert props["offsets.topic.replication.factor"] == "1"
