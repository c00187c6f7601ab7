"""Topic administration: create valuenet's topics with explicit partition counts, list and describe them.

Records on every valuenet topic are keyed by the network (tenant) id, so one network's
events stay ordered within one partition while networks spread over partitions.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from valuenet.config import DLQ_RETENTION_DAYS, MAX_MESSAGE_BYTES, TOPIC_PARTITIONS

if TYPE_CHECKING:  # kafka-python is imported by the functions that talk to a broker, not by importing this module
    from kafka import KafkaAdminClient

log = logging.getLogger(__name__)

__all__ = [
    "TopicReport",
    "admin_client",
    "prefixed",
    "ensure_topics",
    "topic_configs",
    "topic_config",
    "topic_partitions",
    "delete_topics",
    "topic_retention_ms",
    "set_retention",
    "replication_for",
    "under_replicated",
    "partition_leaders",
    "describe_partitions",
]


@dataclass
class TopicReport:
    """What ``ensure_topics`` did: topics created, topics already there, and partition counts found."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    mismatched: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (wanted, found)
    configured: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> topic configs set explicitly
    config_errors: dict[str, str] = field(default_factory=dict)  # name -> why its configs could not be set


@contextlib.contextmanager
def admin_client(bootstrap: str, *, timeout_s: float = 30.0) -> Iterator[KafkaAdminClient]:
    """A kafka-python ``KafkaAdminClient`` on ``bootstrap``, closed on exit."""
    from kafka import KafkaAdminClient

    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="valuenet-admin", request_timeout_ms=ms, bootstrap_timeout_ms=ms
    )
    try:
        yield admin
    finally:
        admin.close()


def prefixed(partitions: Mapping[str, int], prefix: str | None) -> dict[str, int]:
    """Rename ``valuenet.<name>`` keys to ``<prefix>.<name>`` (``VALUENET_TOPIC_PREFIX``); other keys unchanged."""
    if not prefix or prefix == "valuenet":
        return dict(partitions)
    return {
        (f"{prefix}.{k.removeprefix('valuenet.')}" if k.startswith("valuenet.") else k): n
        for k, n in partitions.items()
    }


def topic_partitions(bootstrap: str, names: list[str] | None = None) -> dict[str, int]:
    """Partition count of each named topic that exists (all non-internal topics when ``names`` is None)."""
    with admin_client(bootstrap) as admin:
        described = admin.describe_topics(names)
    return {
        t["name"]: len(t.get("partitions") or [])
        for t in described
        if t.get("error_code", 0) == 0 and not t.get("is_internal", False) and not t["name"].startswith("__")
    }


def ensure_topics(
    bootstrap: str,
    partitions: Mapping[str, int] = TOPIC_PARTITIONS,
    *,
    prefix: str | None = None,
    replication_factor: int | None = None,
    timeout_s: float = 30.0,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    dlq_retention_ms: int | None = DLQ_RETENTION_DAYS * 86_400_000,
) -> TopicReport:
    """Create each missing topic with its partition count and ``max.message.bytes``; idempotent.

    ``prefix`` (``settings.topic_prefix``) renames ``valuenet.<name>`` to ``<prefix>.<name>``.
    ``replication_factor`` None: min(3, brokers in the cluster) (``replication_for``); -1 takes the
    cluster's ``default.replication.factor``. A topic created with 3 or more replicas also gets
    ``min.insync.replicas=2`` (so does an existing one that has them): an ``acks=all`` write then
    survives the loss of any one broker and is refused, not half-kept, when two are down. A topic that exists
    with a different partition count is reported in ``mismatched``, never altered (adding partitions
    would move keys, and so networks, to other partitions). Waits until every topic has a leader.
    ``max_message_bytes`` (``settings.max_message_bytes``, the producers' ``max_request_size``) is set
    explicitly on every topic, new or existing (an incremental config change: other configs stay), so
    the broker takes every record a valuenet producer accepts.
    ``dlq_retention_ms`` (``settings.dlq_retention_ms``; None: leave as is) is set as ``retention.ms`` of
    every ``*.dlq`` topic named, new or existing (only that key is changed).
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    partitions = prefixed(partitions, prefix)
    configs = topic_configs(max_message_bytes)
    report = TopicReport()
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        if replication_factor is None:
            replication_factor = replication_for(len(admin.describe_cluster().get("brokers") or []))
        existing = set(admin.list_topics())
        missing = {name: n for name, n in partitions.items() if name not in existing}
        report.existing = sorted(set(partitions) - set(missing))
        if missing:
            result = admin.create_topics(
                {
                    name: {
                        "num_partitions": n,
                        "replication_factor": replication_factor,
                        "configs": {
                            **configs,
                            **_isr_configs(replication_factor),
                            **_retention_configs(name, dlq_retention_ms),
                        },
                    }
                    for name, n in missing.items()
                },
                timeout_ms=int(timeout_s * 1000),
                raise_errors=False,
            )
            for topic in result["topics"]:
                code = topic["error_code"]
                if code == 0:
                    report.created.append(topic["name"])
                elif code == TopicAlreadyExistsError.errno:  # created concurrently by someone else
                    report.existing.append(topic["name"])
                else:
                    raise KafkaError(
                        f"creating topic {topic['name']!r} failed: error {code} "
                        f"{topic.get('error_message') or ''}".strip()
                    )
            admin.wait_for_topics(list(missing), timeout_ms=int(timeout_s * 1000))
        described = _described(admin, list(partitions), timeout_s)
        replicas = {
            t["name"]: min((len(p.get("replica_nodes") or []) for p in t.get("partitions") or []), default=0)
            for t in described
        }
        if report.existing:  # topics made earlier (or by someone else): set the limit on them too
            for rf in sorted({replicas.get(name, 0) for name in report.existing}):
                names = [name for name in report.existing if replicas.get(name, 0) == rf]
                report.config_errors.update(_set_configs(admin, names, {**configs, **_isr_configs(rf)}))
        report.configured = {
            name: {**configs, **_isr_configs(replicas.get(name, 0))}
            for name in partitions
            if name not in report.config_errors
        }
        for t in described:
            report.partitions[t["name"]] = len(t.get("partitions") or [])
        if dlq_retention_ms is not None:  # a dlq topic takes the configured retention, also when it existed
            for name in (n for n in partitions if n.endswith(".dlq")):
                _set_retention(admin, name, dlq_retention_ms)
    report.created.sort()
    report.existing.sort()
    for name, wanted in partitions.items():
        found = report.partitions.get(name)
        if found is not None and found != wanted:
            report.mismatched[name] = (wanted, found)
    return report


def topic_configs(max_message_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, str]:
    """The configs set on every valuenet topic: ``max.message.bytes`` (the largest record batch it takes)."""
    return {"max.message.bytes": str(max_message_bytes)}


def replication_for(brokers: int) -> int:
    """Replicas of a new valuenet topic on a cluster of ``brokers`` brokers: min(3, brokers), at least 1."""
    return max(1, min(3, brokers))


def _isr_configs(replicas: int) -> dict[str, str]:
    """``min.insync.replicas=2`` for a topic with 3 or more replicas, else nothing (the broker's default)."""
    return {"min.insync.replicas": "2"} if replicas >= 3 else {}


def under_replicated(bootstrap: str, *, timeout_s: float = 10.0) -> list[str]:
    """Partitions whose in-sync replicas are fewer than their replicas: ``topic/p: isr [..] of replicas [..]``."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        described = admin.describe_topics()
    out = []
    for t in sorted(described, key=lambda t: t["name"]):
        for p in sorted(t.get("partitions") or [], key=lambda p: p["partition_index"]):
            isr, replicas = list(p.get("isr_nodes") or []), list(p.get("replica_nodes") or [])
            if len(isr) < len(replicas):
                out.append(f"{t['name']}/{p['partition_index']}: isr {sorted(isr)} of replicas {sorted(replicas)}")
    return out


def _described(admin: KafkaAdminClient, names: list[str], timeout_s: float) -> list[dict]:
    """``describe_topics(names)``, asked again while a topic is not described yet (a broker learns of a new one late)."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = admin.describe_topics(names)
        if time.monotonic() > deadline or all(t.get("error_code", 0) == 0 and t.get("partitions") for t in described):
            return list(described)
        time.sleep(0.2)


def describe_partitions(bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> list[dict]:
    """The partitions of one topic as the cluster describes them (``partition_index``, ``leader_id``,
    ``replica_nodes``, ``isr_nodes``), sorted by index."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        described = _described(admin, [topic], timeout_s)
    return sorted((p for t in described for p in t.get("partitions") or []), key=lambda p: p["partition_index"])


def partition_leaders(bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> dict[int, int]:
    """Partition → node id of its leader (-1: none) for one topic."""
    return {
        p["partition_index"]: int(p["leader_id"]) for p in describe_partitions(bootstrap, topic, timeout_s=timeout_s)
    }


def _retention_configs(name: str, dlq_retention_ms: int | None) -> dict[str, str]:
    """``retention.ms`` for a dlq topic when one is configured, else nothing."""
    return {"retention.ms": str(dlq_retention_ms)} if dlq_retention_ms is not None and name.endswith(".dlq") else {}


def _set_configs(admin: KafkaAdminClient, names: list[str], configs: Mapping[str, str]) -> dict[str, str]:
    """Set ``configs`` on the existing topics ``names`` (IncrementalAlterConfigs: their other configs stay).

    Returns topic → error for those the cluster refused (e.g. no ALTER_CONFIGS permission on a managed
    cluster), each logged as a warning: the topic keeps its limit, which must then be at least the producers'.
    """
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    try:
        result = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=dict(configs)) for name in names], incremental=True
        )
        outcomes = {name: str(outcome) for name, outcome in (result.get("topic") or {}).items()}
    except KafkaError as e:
        outcomes = dict.fromkeys(names, f"{type(e).__name__}: {e}")
    errors = {name: outcome for name, outcome in outcomes.items() if outcome != "OK"}
    for name, error in errors.items():
        log.warning(
            "could not set %s on existing topic %s (%s): its own limit must be at least max_message_bytes",
            dict(configs),
            name,
            error,
        )
    return errors


def topic_config(bootstrap: str, name: str, key: str = "max.message.bytes") -> str | None:
    """The value of one config of topic ``name`` as the broker reports it (None when absent)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    with admin_client(bootstrap) as admin:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=[key])], config_filter="all"
        )
    config = ((described.get("topic") or {}).get(name) or {}).get(key)
    if not config:
        return None
    value = config.get("value", config.get("config_value"))
    return None if value is None else str(value)


def delete_topics(bootstrap: str, names: list[str], *, timeout_s: float = 30.0) -> None:
    """Delete the named topics (missing ones are ignored)."""
    if not names:
        return
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        admin.delete_topics(names, timeout_ms=int(timeout_s * 1000), raise_errors=False)


def _retention(admin: KafkaAdminClient, topic: str) -> int:
    from kafka.admin import ConfigResource, ConfigResourceType

    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})
    for attempt in range(50):  # on a cluster, the broker asked may learn of a topic just created a moment later
        res = admin.describe_configs([resource], config_filter="all")  # the broker's default counts too
        value = ((res.get("topic") or {}).get(topic) or {}).get("retention.ms")
        if value:
            return int(value["value"])
        time.sleep(0.1 * min(attempt + 1, 5))
    raise KeyError(f"retention.ms of topic {topic!r}: the cluster does not describe it")


def _set_retention(admin: KafkaAdminClient, topic: str, retention_ms: int) -> None:
    """Set ``retention.ms`` of ``topic`` when it differs (an incremental change: other topic configs stay)."""
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    status: object = None
    for attempt in range(5):  # a change made just after the topic was created can be lost: check, then again
        if _retention(admin, topic) == retention_ms:
            return
        if attempt:
            time.sleep(0.2 * attempt)
        res = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": str(retention_ms)})],
            incremental=True,
        )
        status = res.get("topic", {}).get(topic)
        if status != "OK":
            break
    raise KafkaError(f"setting retention.ms={retention_ms} on topic {topic!r} failed: {status}")


def topic_retention_ms(bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> int:
    """``retention.ms`` in effect for ``topic`` (-1: kept forever)."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        return _retention(admin, topic)


def set_retention(bootstrap: str, topic: str, retention_ms: int, *, timeout_s: float = 30.0) -> None:
    """Set ``retention.ms`` of one existing topic (only when it differs)."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        _set_retention(admin, topic, retention_ms)
