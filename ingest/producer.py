"""The connectors' Kafka producer: raw envelopes to ``valuenet.raw``, rejects to ``valuenet.dlq``.

Records are keyed by network id (one network stays ordered in one partition);
values are the envelope's JSON. ``acks=all`` with the idempotent producer, and
``linger_ms``/``batch_size`` tuned for throughput; :meth:`RawProducer.send_and_wait`
blocks until the broker acknowledged (the webhook receiver answers only then).
"""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata, RecordMetadata

from ingest.dlq import DlqRecord, dlq_record
from ingest.errors import IngestError
from schemas.envelope import RawEnvelope
from valuenet.config import TOPIC_DLQ, TOPIC_RAW, Settings, get_settings

__all__ = ["DeliveryError", "RawProducer", "encode_envelope", "open_producer"]

log = logging.getLogger(__name__)


class DeliveryError(IngestError):
    """Kafka did not acknowledge a record in time."""


def encode_envelope(envelope: RawEnvelope) -> bytes:
    """The Kafka value of an envelope: its JSON, UTF-8."""
    return envelope.model_dump_json().encode("utf-8")


class RawProducer:
    """A thin wrapper over kafka-python's ``KafkaProducer`` for envelopes and DLQ records."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        linger_ms: int = 20,
        batch_size: int = 256 * 1024,
        compression_type: str | None = None,
        request_timeout_ms: int = 15_000,
        raw_topic: str = TOPIC_RAW,
        dlq_topic: str = TOPIC_DLQ,
        **kafka_config: Any,
    ) -> None:
        self.raw_topic = raw_topic
        self.dlq_topic = dlq_topic
        self.sent = 0
        self.dead_lettered = 0
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            linger_ms=linger_ms,
            batch_size=batch_size,
            compression_type=compression_type,
            request_timeout_ms=request_timeout_ms,
            client_id="valuenet-ingest",
            **kafka_config,
        )

    def send(self, envelope: RawEnvelope) -> FutureRecordMetadata:
        """Queue one envelope for ``valuenet.raw`` (key = its network); returns the kafka-python future."""
        return self.send_bytes(envelope.network, encode_envelope(envelope))

    def send_bytes(self, network: str, value: bytes) -> FutureRecordMetadata:
        """Queue an already-encoded envelope for ``valuenet.raw``."""
        self.sent += 1
        return self._producer.send(self.raw_topic, key=network.encode("utf-8"), value=value)

    def send_and_wait(self, envelope: RawEnvelope, timeout: float = 10.0) -> RecordMetadata:
        """Send one envelope and block until the broker acknowledged it (raises :class:`DeliveryError`)."""
        future = self.send(envelope)
        try:
            return future.get(timeout=timeout)
        except KafkaError as e:
            raise DeliveryError(f"Kafka did not acknowledge the {envelope.source.value} record: {e}") from e

    def send_dlq(
        self,
        source: str,
        reason: str,
        field: str,
        record: Any,
        *,
        network: str = "default",
        stage: str = "ingest",
    ) -> FutureRecordMetadata:
        """Send a rejected record to ``valuenet.dlq`` naming source, field and reason."""
        return self.send_dlq_record(
            dlq_record(stage=stage, source=source, network=network, reason=reason, field=field, record=record)
        )

    def send_dlq_record(self, rec: DlqRecord) -> FutureRecordMetadata:
        """Send a prepared :class:`DlqRecord` to ``valuenet.dlq`` (key = its network)."""
        self.dead_lettered += 1
        log.warning("dead-lettered %s record (%s): field %r: %s", rec.source, rec.stage, rec.field, rec.reason)
        return self._producer.send(
            self.dlq_topic, key=rec.network.encode("utf-8"), value=rec.model_dump_json().encode("utf-8")
        )

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued record was acknowledged or failed."""
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush and close the underlying producer."""
        self._producer.close(timeout=timeout)

    def __enter__(self) -> "RawProducer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_producer(settings: Settings | None = None, **overrides: Any) -> RawProducer:
    """A :class:`RawProducer` on the configured cluster and topics (``<VALUENET_TOPIC_PREFIX>.raw`` / ``.dlq``)."""
    settings = settings or get_settings()
    overrides.setdefault("raw_topic", settings.topic("raw"))
    overrides.setdefault("dlq_topic", settings.topic("dlq"))
    return RawProducer(settings.bootstrap_servers, **overrides)
