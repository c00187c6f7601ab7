"""Topic administration: create valuenet's topics with explicit partition counts, list and describe them.

Records on every valuenet topic are keyed by the network (tenant) id, so one network's
events stay ordered within one partition while networks spread over partitions.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from valuenet.config import DLQ_RETENTION_DAYS, TOPIC_PARTITIONS

if TYPE_CHECKING:  # kafka-python is imported by the functions that talk to a broker, not by importing this module
    from kafka import KafkaAdminClient

__all__ = [
    "TopicReport",
    "admin_client",
    "prefixed",
    "ensure_topics",
    "topic_partitions",
    "delete_topics",
    "topic_retention_ms",
    "set_retention",
]


@dataclass
class TopicReport:
    """What ``ensure_topics`` did: topics created, topics already there, and partition counts found."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    mismatched: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (wanted, found)


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
    replication_factor: int = -1,
    timeout_s: float = 30.0,
    dlq_retention_ms: int | None = DLQ_RETENTION_DAYS * 86_400_000,
) -> TopicReport:
    """Create each missing topic with its partition count; idempotent (existing topics are left alone).

    ``prefix`` (``settings.topic_prefix``) renames ``valuenet.<name>`` to ``<prefix>.<name>``.
    ``replication_factor=-1`` takes the cluster's ``default.replication.factor``. A topic that exists
    with a different partition count is reported in ``mismatched``, never altered (adding partitions
    would move keys, and so networks, to other partitions). Waits until every topic has a leader.
    ``dlq_retention_ms`` (``settings.dlq_retention_ms``; None: leave as is) is set as ``retention.ms`` of
    every ``*.dlq`` topic named, new or existing (only that key is changed).
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    partitions = prefixed(partitions, prefix)
    report = TopicReport()
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        existing = set(admin.list_topics())
        missing = {name: n for name, n in partitions.items() if name not in existing}
        report.existing = sorted(set(partitions) - set(missing))
        if missing:
            options: dict[str, dict[str, object]] = {
                name: {"num_partitions": n, "replication_factor": replication_factor} for name, n in missing.items()
            }
            for name in (n for n in options if n.endswith(".dlq") and dlq_retention_ms is not None):
                options[name]["configs"] = {"retention.ms": str(dlq_retention_ms)}
            result = admin.create_topics(
                options,
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
        for t in admin.describe_topics(list(partitions)):
            report.partitions[t["name"]] = len(t.get("partitions") or [])
        if dlq_retention_ms is not None:  # an existing dlq topic takes the configured retention too
            for name in (n for n in report.existing if n.endswith(".dlq")):
                _set_retention(admin, name, dlq_retention_ms)
    report.created.sort()
    report.existing.sort()
    for name, wanted in partitions.items():
        found = report.partitions.get(name)
        if found is not None and found != wanted:
            report.mismatched[name] = (wanted, found)
    return report


def delete_topics(bootstrap: str, names: list[str], *, timeout_s: float = 30.0) -> None:
    """Delete the named topics (missing ones are ignored)."""
    if not names:
        return
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        admin.delete_topics(names, timeout_ms=int(timeout_s * 1000), raise_errors=False)


def _retention(admin: KafkaAdminClient, topic: str) -> int:
    from kafka.admin import ConfigResource, ConfigResourceType

    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})
    res = admin.describe_configs([resource], config_filter="all")  # the broker's default counts too
    return int(res["topic"][topic]["retention.ms"]["value"])


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
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": str(retention_ms)})]
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
