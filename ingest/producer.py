"""The connectors' Kafka producer: raw envelopes to ``valuenet.raw``, rejects to ``valuenet.dlq``.

Each envelope is routed by its thread (``valuenet.ingest.routing``: network + conversation,
falling back to the event id or the network), so one network spreads over every partition
while a thread stays ordered in one. :meth:`RawProducer.send` packs up to ``batch_envelopes``
envelopes of one network bound for one partition into one Kafka record (a JSON array, see
``valuenet.schemas.envelope.decode_raw``; record key = the network, partition = the envelopes'
routing partition), shipped when full or ``batch_linger_ms`` after its first envelope: the
processors then pay faust's per-record cost once per batch instead of once per event.
``batch_envelopes=1`` sends one envelope per record, keyed by its routing key. ``acks=all`` with the idempotent producer; :meth:`RawProducer.send_and_wait`
sends one envelope alone and blocks until the broker acknowledged it (the webhook receiver
answers only then).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from valuenet.config import MAX_MESSAGE_BYTES, TOPIC_DLQ, TOPIC_RAW, Settings, get_settings
from valuenet.ingest.errors import IngestError, RecordTooLarge
from valuenet.ingest.routing import envelope_key, partition_for
from valuenet.schemas import Interaction
from valuenet.schemas.dlq import DlqRecord, dlq_record, encode_dlq
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.limits import record_budget

if TYPE_CHECKING:  # kafka-python is imported when a producer opens: encode_batch users (the stage) need no client
    from kafka.producer.future import FutureRecordMetadata, RecordMetadata

__all__ = ["DeliveryError", "RawProducer", "encode_batch", "encode_envelope", "open_producer"]

log = logging.getLogger(__name__)


class DeliveryError(IngestError):
    """Kafka did not acknowledge a record in time."""


MAX_BATCH_BYTES = 512 * 1024  # a packed record stays well under Kafka's 1 MB default message size


def encode_envelope(envelope: RawEnvelope) -> bytes:
    """The Kafka value of an envelope: its JSON, UTF-8."""
    return envelope.model_dump_json().encode("utf-8")


def encode_batch(values: list[bytes]) -> bytes:
    """The Kafka value of several encoded envelopes of one network: a JSON array."""
    return b"[" + b",".join(values) + b"]"


class _Pending:
    """Encoded envelopes of one network and partition waiting to be packed into one record."""

    __slots__ = ("values", "size", "since")

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.size = 0
        self.since = time.monotonic()


class RawProducer:
    """A thin wrapper over kafka-python's ``KafkaProducer`` for envelopes and DLQ records."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        batch_envelopes: int = 500,
        batch_linger_ms: int = 20,
        linger_ms: int = 5,
        batch_size: int = 256 * 1024,
        compression_type: str | None = None,
        request_timeout_ms: int = 15_000,
        raw_topic: str = TOPIC_RAW,
        dlq_topic: str = TOPIC_DLQ,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        **kafka_config: Any,
    ) -> None:
        self.raw_topic = raw_topic
        self.max_message_bytes = max_message_bytes
        self.refused = 0  # envelopes over the record limit: dead-lettered, never sent
        self.dlq_topic = dlq_topic
        self.sent = 0
        self.dead_lettered = 0
        self.batch_envelopes = max(1, batch_envelopes)
        self.batch_linger = batch_linger_ms / 1000
        self._pending: dict[tuple[str, int], _Pending] = {}  # (network, partition) → envelopes
        self._partitions: int | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        from kafka import KafkaProducer

        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            linger_ms=linger_ms,
            batch_size=batch_size,
            compression_type=compression_type,
            request_timeout_ms=request_timeout_ms,
            client_id="valuenet-ingest",
            max_request_size=max_message_bytes,  # the topics' max.message.bytes (kafka_admin.ensure_topics)
            **kafka_config,
        )

    def send(
        self, envelope: RawEnvelope, interactions: list[Interaction] | None = None, *, key: str | None = None
    ) -> None:
        """Queue one envelope for ``valuenet.raw``, packed with others of its network and partition.

        ``key``: its routing key when the connector already has it (``routing.parse_and_key``), or
        ``interactions``: its parse without a parent index; either saves a parse.
        """
        if key is None:
            key = envelope_key(envelope, interactions)
        self.send_bytes(envelope.network, encode_envelope(envelope), key, source=envelope.source.value)

    def partitions(self) -> int:
        """Partitions of the raw topic (asked once from the cluster's metadata)."""
        if self._partitions is None:
            self._partitions = len(self._producer.partitions_for(self.raw_topic))
        return self._partitions

    def send_bytes(self, network: str, value: bytes, key: str | None = None, *, source: str = "unknown") -> None:
        """Queue an already-encoded envelope for ``valuenet.raw`` (``key``: its routing key, default the network).

        An envelope over the record limit (``max_message_bytes``) is not sent: it is dead-lettered (cut to
        fit) with the reason, logged at ERROR and counted in ``refused``.
        """
        key = network if key is None else key
        if self._refuse(network, value, key.encode("utf-8"), source):
            return
        self.sent += 1
        if self.batch_envelopes == 1:
            self._producer.send(self.raw_topic, key=key.encode("utf-8"), value=value)
            return
        slot = (network, partition_for(key, self.partitions()))
        with self._lock:
            pending = self._pending.get(slot)
            if pending is not None and pending.size + len(value) > MAX_BATCH_BYTES:
                self._ship(slot)
                pending = None
            if pending is None:
                pending = self._pending[slot] = _Pending()
            pending.values.append(value)
            pending.size += len(value) + 1
            if len(pending.values) >= self.batch_envelopes:
                self._ship(slot)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._linger_loop, name="valuenet-raw-batches", daemon=True)
                self._flusher.start()

    def _check(self, network: str, value: bytes, key: bytes) -> None:
        """Raise :class:`RecordTooLarge` naming the envelope when it cannot fit one record of the raw topic."""
        if len(value) > record_budget(self.max_message_bytes, key):
            raise RecordTooLarge(
                f"raw envelope of network {network!r} (routing key {key[:80].decode('utf-8', 'replace')!r})",
                len(value) + len(key),
                self.max_message_bytes,
            )

    def _refuse(self, network: str, value: bytes, key: bytes, source: str) -> bool:
        """Dead-letter (truncated) and log an envelope over the record limit; True when it was refused."""
        try:
            self._check(network, value, key)
        except RecordTooLarge as e:
            self.refused += 1
            log.error("refused: %s", e)
            self.send_dlq(source, str(e), "<envelope>", value, network=network)
            return True
        return False

    def _ship(self, slot: tuple[str, int]) -> FutureRecordMetadata | None:
        """Send the pending envelopes of ``slot`` as one record (lock held); kept queued if the send raises."""
        pending = self._pending.get(slot)
        if pending is None or not pending.values:
            return None
        value = pending.values[0] if len(pending.values) == 1 else encode_batch(pending.values)
        network, partition = slot
        future = self._producer.send(self.raw_topic, key=network.encode("utf-8"), value=value, partition=partition)
        del self._pending[slot]
        return future

    def _linger_loop(self) -> None:
        """Ship every batch that waited ``batch_linger_ms`` (background thread)."""
        from kafka.errors import KafkaError

        while not self._closed.wait(max(self.batch_linger / 2, 0.001)):
            now = time.monotonic()
            with self._lock:
                for slot in [s for s, p in self._pending.items() if now - p.since >= self.batch_linger]:
                    try:
                        self._ship(slot)
                    except KafkaError as e:  # e.g. the producer's buffer stayed full: retried next round
                        log.warning("could not ship a batch of %s yet: %s", slot[0], e)

    def send_and_wait(self, envelope: RawEnvelope, timeout: float = 10.0) -> RecordMetadata:
        """Send one envelope alone and block until the broker acknowledged it (raises :class:`DeliveryError`)."""
        from kafka.errors import KafkaError

        key = envelope_key(envelope)
        value = encode_envelope(envelope)
        self._check(envelope.network, value, key.encode("utf-8"))  # RecordTooLarge: the webhook answers 413
        self.sent += 1
        try:
            partition = partition_for(key, self.partitions())
            with self._lock:  # what this thread's partition already queued goes first: order is kept
                self._ship((envelope.network, partition))
                future = self._producer.send(self.raw_topic, key=key.encode("utf-8"), value=value, partition=partition)
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
        """Send a prepared :class:`DlqRecord` to ``valuenet.dlq`` (key = its network), cut to fit the topic."""
        self.dead_lettered += 1
        log.warning("dead-lettered %s record (%s): field %r: %s", rec.source, rec.stage, rec.field, rec.reason)
        key = rec.network.encode("utf-8")
        value = encode_dlq(rec, record_budget(self.max_message_bytes, key))
        return self._producer.send(self.dlq_topic, key=key, value=value)

    def flush(self, timeout: float | None = None) -> None:
        """Ship every pending batch and block until every queued record was acknowledged or failed."""
        with self._lock:
            for slot in list(self._pending):
                self._ship(slot)
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush and close the underlying producer."""
        self.flush(timeout=timeout)
        self._closed.set()
        self._producer.close(timeout=timeout)

    def __enter__(self) -> RawProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_producer(settings: Settings | None = None, **overrides: Any) -> RawProducer:
    """A :class:`RawProducer` on the configured cluster and topics (``<VALUENET_TOPIC_PREFIX>.raw`` / ``.dlq``)."""
    settings = settings or get_settings()
    overrides.setdefault("raw_topic", settings.topic("raw"))
    overrides.setdefault("dlq_topic", settings.topic("dlq"))
    overrides.setdefault("batch_envelopes", settings.raw_batch_envelopes)
    overrides.setdefault("batch_linger_ms", settings.raw_batch_linger_ms)
    overrides.setdefault("max_message_bytes", settings.max_message_bytes)
    return RawProducer(settings.bootstrap_servers, **overrides)
