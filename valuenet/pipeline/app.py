"""The faust application, declared once, and its topics.

Run a worker with ``valuenet worker`` (``valuenet.pipeline.app:app``). Keys on every
topic are the network id, so one network's records stay ordered in one
partition and networks spread over the consumer group's workers.
"""

from __future__ import annotations

import faust

from valuenet.config import TOPIC_PARTITIONS, get_settings

settings = get_settings()


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{hp.strip()}" for hp in bootstrap.split(",") if hp.strip())


_datadir = settings.home / "faust"
_datadir.mkdir(parents=True, exist_ok=True)

app = faust.App(
    settings.app_id,
    broker=_broker_url(settings.bootstrap_servers),
    store="memory://",
    key_serializer="raw",
    value_serializer="raw",
    topic_allow_declare=True,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    datadir=str(_datadir / settings.app_id),
    broker_commit_every=1000,
    stream_buffer_maxsize=8192,
    producer_linger_ms=5,
    # acks=all (-1): a flows/metrics record is acknowledged once every in-sync replica has it (min.insync.replicas
    # 2 on a 3-broker cluster, see kafka_admin.ensure_topics); faust enables idempotence only in transactions
    producer_acks=-1,
    # a flows record is ~160 KB (400 flows): several share one produce request; a raw partition's fetch
    # brings ~12 packed records (≤ 500 envelopes each) — fewer requests for the broker and both clients
    producer_max_batch_size=768 * 1024,  # under the broker's 1 MiB message.max.bytes per batch
    # the topics' max.message.bytes (kafka_admin.ensure_topics sets it): nothing sent is refused by the broker
    producer_max_request_size=settings.max_message_bytes,
    consumer_max_fetch_size=4 * 1024 * 1024,
    # Fast rejoin (issue 10): a restarted worker with the same VALUENET_WORKER_ID takes its partitions
    # back at once (static membership); without one, a dead member is dropped after the short session.
    consumer_group_instance_id=settings.worker_id,
    broker_session_timeout=settings.worker_session_timeout_seconds,
    broker_heartbeat_interval=max(0.5, settings.worker_session_timeout_seconds / 4),
)


def _topic(name: str) -> faust.TopicT:
    full = settings.topic(name)
    return app.topic(full, partitions=TOPIC_PARTITIONS[f"valuenet.{name}"], key_type=bytes, value_type=bytes)


raw_topic = _topic("raw")
flows_topic = _topic("flows")
metrics_topic = _topic("metrics")
dlq_topic = _topic("dlq")
