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

Delivery (docs/reliability-producers-and-time.md): no deadline drops a record. ``delivery_timeout_ms``
is Kafka's "forever" (2^31 - 1 ms) with unbounded retries, so the idempotent producer keeps retrying
through a broker outage of any length, in order per partition and without duplicates. Every record
shipped is kept in a ledger until its future resolves: :meth:`RawProducer.flush` waits until Kafka
acknowledged all of them (reporting the wait through ``on_wait``), a record Kafka refuses for good
is kept as undelivered, and :meth:`RawProducer.save_undelivered` writes whatever was not acknowledged
(queued, in flight or refused) to a JSONL file of raw envelopes that ``valuenet ingest replay`` re-sends
(the pipeline dedupes by event id, so a re-send never counts twice). :meth:`RawProducer.interrupt`
(Ctrl-C) stops the waiting: sends raise :class:`DeliveryInterrupted`, flush gives in-flight records
``INTERRUPT_GRACE_S`` more seconds and returns.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from valuenet.config import MAX_MESSAGE_BYTES, TOPIC_DLQ, TOPIC_RAW, Settings, get_settings
from valuenet.ingest.errors import IngestError, RecordTooLarge
from valuenet.ingest.routing import envelope_key, partition_for
from valuenet.schemas import Interaction
from valuenet.schemas.dlq import DlqRecord, dlq_record, encode_dlq
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.limits import record_budget

if TYPE_CHECKING:  # kafka-python is imported when a producer opens: encode_batch users (the stage) need no client
    from kafka.producer.future import FutureRecordMetadata, RecordMetadata

__all__ = [
    "DELIVERY_TIMEOUT_MS",
    "DeliveryError",
    "DeliveryInterrupted",
    "RawProducer",
    "encode_batch",
    "encode_envelope",
    "open_producer",
]

log = logging.getLogger(__name__)

#: Kafka's "forever" (Java's Integer.MAX_VALUE ms, ~24.8 days): an outage delays a record, never drops it.
DELIVERY_TIMEOUT_MS = 2**31 - 1
#: How long one ``send`` may block on a full buffer or missing metadata before the retry loop looks again.
MAX_BLOCK_MS = 2_000
#: After Ctrl-C, seconds the in-flight records get to be acknowledged before the rest is saved.
INTERRUPT_GRACE_S = 3.0
#: Seconds without an acknowledgement, records waiting, before the producer reports an outage while sending.
STALL_NOTICE_S = 5.0
#: Seconds between two "still waiting for Kafka" log lines.
WAIT_LOG_EVERY_S = 30.0

T = TypeVar("T")


class DeliveryError(IngestError):
    """Kafka did not acknowledge a record in time."""


class DeliveryInterrupted(IngestError):
    """The producer was interrupted (Ctrl-C) while it waited for Kafka; nothing queued is lost (save_undelivered)."""


@dataclass
class _Record:
    """One Kafka record shipped (or to ship): its topic, key, partition and the encoded items it packs."""

    topic: str
    key: bytes | None
    partition: int | None
    items: list[bytes]  # encoded envelopes (raw topic) or one DLQ record

    @property
    def value(self) -> bytes:
        """The Kafka value: one item as is, several as a JSON array."""
        return self.items[0] if len(self.items) == 1 else encode_batch(self.items)


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
        delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
        max_block_ms: int = MAX_BLOCK_MS,
        on_wait: Callable[[int, float], None] | None = None,
        **kafka_config: Any,
    ) -> None:
        self.raw_topic = raw_topic
        self.max_message_bytes = max_message_bytes
        self.refused = 0  # envelopes over the record limit: dead-lettered, never sent
        self.dlq_topic = dlq_topic
        self.sent = 0  # envelopes queued
        self.delivered = 0  # envelopes Kafka acknowledged
        self.dead_lettered = 0
        self.on_wait = on_wait  # (records not yet acknowledged, seconds waited) while Kafka does not answer
        self._seq = itertools.count()
        self._unacked: dict[int, _Record] = {}  # shipped, future not resolved yet
        self._sent_at: dict[int, float] = {}  # when each unacknowledged record was shipped (monotonic)
        self._failed: list[tuple[_Record, str]] = []  # Kafka refused them for good (or never queued: interrupted)
        self._acks = threading.Condition()  # flush waits on it; callbacks notify only while someone flushes
        self._flushing = False
        self._interrupted = threading.Event()
        self._interrupted_at = 0.0
        self._last_ack = time.monotonic()  # the last acknowledgement (or the start): "waited" counts from there
        self._wait_logged = 0.0
        self.batch_envelopes = max(1, batch_envelopes)
        self.batch_linger = batch_linger_ms / 1000
        self._pending: dict[tuple[str, int], _Pending] = {}  # (network, partition) → envelopes
        self._partitions: int | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        from kafka import KafkaProducer
        from kafka.errors import KafkaError, KafkaTimeoutError

        self._kafka_error, self._timeout_error = KafkaError, KafkaTimeoutError

        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            linger_ms=linger_ms,
            batch_size=batch_size,
            compression_type=compression_type,
            request_timeout_ms=request_timeout_ms,
            client_id="valuenet-ingest",
            max_request_size=max_message_bytes,  # the topics' max.message.bytes (kafka_admin.ensure_topics)
            enable_idempotence=True,  # retries never duplicate nor reorder a partition
            retries=2**31 - 1,
            delivery_timeout_ms=delivery_timeout_ms,
            max_block_ms=max_block_ms,
            reconnect_backoff_max_ms=kafka_config.pop("reconnect_backoff_max_ms", 2_000),  # back soon after an outage
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
        """Partitions of the raw topic (asked once from the cluster's metadata; waits while Kafka is unreachable)."""
        if self._partitions is None:
            self._partitions = len(self._retrying(lambda: self._producer.partitions_for(self.raw_topic)))
        return self._partitions

    def send_bytes(self, network: str, value: bytes, key: str | None = None, *, source: str = "unknown") -> None:
        """Queue an already-encoded envelope for ``valuenet.raw`` (``key``: its routing key, default the network).

        An envelope over the record limit (``max_message_bytes``) is not sent: it is dead-lettered (cut to
        fit) with the reason, logged at ERROR and counted in ``refused``. Blocks (retrying, no deadline)
        while Kafka's buffer is full and the broker unreachable; raises :class:`DeliveryInterrupted` after
        :meth:`interrupt` (the envelope is kept as undelivered).
        """
        key = network if key is None else key
        if self._refuse(network, value, key.encode("utf-8"), source):
            return
        if self.batch_envelopes == 1:
            record = _Record(self.raw_topic, key.encode("utf-8"), None, [value])
            self.sent += 1
            try:
                self._retrying(lambda: self._send_record(record))
            except DeliveryInterrupted:
                self._failed.append((record, "interrupted before Kafka took it"))
                raise
            return
        slot = (network, partition_for(key, self.partitions()))
        while True:
            with self._lock:
                pending = self._pending.get(slot)
                if pending is None or not pending.values or pending.size + len(value) <= MAX_BATCH_BYTES:
                    if pending is None:
                        pending = self._pending[slot] = _Pending()
                    pending.values.append(value)
                    pending.size += len(value) + 1
                    self.sent += 1
                    full = len(pending.values) >= self.batch_envelopes
                    if self._flusher is None:
                        self._flusher = threading.Thread(
                            target=self._linger_loop, name="valuenet-raw-batches", daemon=True
                        )
                        self._flusher.start()
                    break
            self._ship_waiting(slot)  # the two would be too big together: what waits goes first
        if full:
            self._ship_waiting(slot)

    def _send_record(self, record: _Record) -> FutureRecordMetadata | None:
        """Hand ``record`` to the Kafka client and keep it in the ledger until its future resolves.

        A record the client refuses at once (e.g. over ``max_request_size``) is kept as undelivered (None);
        a timeout (full buffer, no metadata) raises for the caller's retry loop. The ledger's dicts are
        only added to and popped from (atomic): no lock on this path.
        """
        seq = next(self._seq)
        self._unacked[seq] = record
        self._sent_at[seq] = time.monotonic()
        try:
            future = self._producer.send(record.topic, key=record.key, value=record.value, partition=record.partition)
        except BaseException as e:
            self._unacked.pop(seq, None)
            self._sent_at.pop(seq, None)
            if isinstance(e, self._kafka_error) and not isinstance(e, self._timeout_error):
                self._failed.append((record, f"{type(e).__name__}: {e}"))
                log.error("Kafka refused a record of %d item(s) for %s: %s", len(record.items), record.topic, e)
                return None
            raise
        future.add_callback(self._acknowledged, seq)
        future.add_errback(self._refused, seq)
        return future

    def _acknowledged(self, seq: int, _metadata: Any) -> None:
        """Kafka has the record (sender thread)."""
        record = self._unacked.pop(seq, None)
        self._sent_at.pop(seq, None)
        if record is not None and record.topic == self.raw_topic:
            self.delivered += len(record.items)  # only the sender thread adds to it
        self._last_ack = time.monotonic()
        if self._flushing:
            with self._acks:
                self._acks.notify_all()

    def _refused(self, seq: int, error: BaseException) -> None:
        """Kafka refused the record for good (sender thread): it stays undelivered, never silently dropped."""
        record = self._unacked.pop(seq, None)
        self._sent_at.pop(seq, None)
        if record is not None:
            self._failed.append((record, f"{type(error).__name__}: {error}"))
            if not self._interrupted.is_set():
                log.error("Kafka refused a record of %d item(s) for %s: %s", len(record.items), record.topic, error)
        if self._flushing:
            with self._acks:
                self._acks.notify_all()

    def _retrying(self, call: Callable[[], T]) -> T:
        """``call()`` again while it times out on an unreachable Kafka (full buffer, no metadata): no deadline."""
        while True:
            if self._interrupted.is_set():
                raise DeliveryInterrupted("interrupted while Kafka was unreachable")
            try:
                result = call()
            except self._timeout_error:
                self._note_waiting()
                continue
            return result

    def _note_waiting(self) -> None:
        """Report (``on_wait``, a log line every ``WAIT_LOG_EVERY_S``) that Kafka has not answered yet."""
        if self._interrupted.is_set():
            return
        now = time.monotonic()
        waited = now - max(self._last_ack, min(list(self._sent_at.values()), default=now))
        unacked = sum(len(r.items) for r in list(self._unacked.values()))
        unacked += sum(len(p.values) for p in list(self._pending.values()))
        if now - self._wait_logged >= WAIT_LOG_EVERY_S:
            self._wait_logged = now
            log.warning(
                "Kafka has not acknowledged %d event(s) for %.0f s; retrying with no deadline (Ctrl-C saves them)",
                unacked,
                waited,
            )
        if self.on_wait is not None:
            self.on_wait(unacked, waited)

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
        network, partition = slot
        future = self._send_record(_Record(self.raw_topic, network.encode("utf-8"), partition, pending.values))
        del self._pending[slot]
        return future

    def _ship_waiting(self, slot: tuple[str, int]) -> None:
        """:meth:`_ship` ``slot``, retrying while Kafka is unreachable (the lock is released between tries)."""

        def ship() -> None:
            with self._lock:
                self._ship(slot)

        self._retrying(ship)

    def _linger_loop(self) -> None:
        """Ship every batch that waited ``batch_linger_ms`` (background thread)."""
        from kafka.errors import KafkaError

        next_look = time.monotonic() + 1.0
        while not self._closed.wait(max(self.batch_linger / 2, 0.001)):
            now = time.monotonic()
            if now >= next_look:  # records wait while nothing is acknowledged: say so (an outage), once a second
                next_look = now + 1.0
                if self._unacked and now - self._last_ack >= STALL_NOTICE_S:
                    self._note_waiting()
            with self._lock:
                for slot in [s for s, p in self._pending.items() if now - p.since >= self.batch_linger]:
                    try:
                        self._ship(slot)
                    except KafkaError as e:  # e.g. the producer's buffer stayed full: retried next round
                        log.debug("could not ship a batch of %s yet: %s", slot[0], e)
                        break

    def send_and_wait(self, envelope: RawEnvelope, timeout: float = 10.0) -> RecordMetadata:
        """Send one envelope alone and block until the broker acknowledged it (raises :class:`DeliveryError`).

        A record not acknowledged within ``timeout`` stays queued (delivered later, or saved by
        :meth:`save_undelivered`); the caller must treat it as not acknowledged (the webhook answers 503).
        """
        from kafka.errors import KafkaError

        key = envelope_key(envelope)
        value = encode_envelope(envelope)
        self._check(envelope.network, value, key.encode("utf-8"))  # RecordTooLarge: the webhook answers 413
        self.sent += 1
        try:
            if self._partitions is None:  # one try (max_block_ms), never the no-deadline retry: the caller answers 503
                self._partitions = len(self._producer.partitions_for(self.raw_topic))
            partition = partition_for(key, self._partitions)
            with self._lock:  # what this thread's partition already queued goes first: order is kept
                self._ship((envelope.network, partition))
                future = self._send_record(_Record(self.raw_topic, key.encode("utf-8"), partition, [value]))
            if future is None:
                raise DeliveryError(f"Kafka refused the {envelope.source.value} record (kept as undelivered)")
            return future.get(timeout=timeout)
        except (KafkaError, DeliveryInterrupted) as e:
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
    ) -> FutureRecordMetadata | None:
        """Send a rejected record to ``valuenet.dlq`` naming source, field and reason."""
        return self.send_dlq_record(
            dlq_record(stage=stage, source=source, network=network, reason=reason, field=field, record=record)
        )

    def send_dlq_record(self, rec: DlqRecord) -> FutureRecordMetadata | None:
        """Send a prepared :class:`DlqRecord` to ``valuenet.dlq`` (key = its network), cut to fit the topic;
        waits while Kafka is unreachable."""
        self.dead_lettered += 1
        log.warning("dead-lettered %s record (%s): field %r: %s", rec.source, rec.stage, rec.field, rec.reason)
        key = rec.network.encode("utf-8")
        record = _Record(self.dlq_topic, key, None, [encode_dlq(rec, record_budget(self.max_message_bytes, key))])
        try:
            return self._retrying(lambda: self._send_record(record))
        except DeliveryInterrupted:
            self._failed.append((record, "interrupted before Kafka took it"))
            raise

    def interrupt(self) -> None:
        """Stop waiting for Kafka (Ctrl-C): sends raise :class:`DeliveryInterrupted`, flush returns after a grace."""
        if not self._interrupted.is_set():
            self._interrupted_at = time.monotonic()
            self._interrupted.set()
        with self._acks:
            self._acks.notify_all()

    @property
    def interrupted(self) -> bool:
        """True after :meth:`interrupt`."""
        return self._interrupted.is_set()

    def flush(self, timeout: float | None = None) -> bool:
        """Ship every pending batch and wait until Kafka acknowledged every record or refused it for good.

        No deadline by default (``timeout`` seconds otherwise; after :meth:`interrupt` at most
        ``INTERRUPT_GRACE_S``). True when nothing is left unacknowledged.
        """
        from kafka.errors import KafkaTimeoutError

        start = time.monotonic()
        try:
            for slot in list(self._pending):
                if timeout is None:
                    self._ship_waiting(slot)
                    continue
                with self._lock:  # a deadline: one try each (a full buffer keeps the batch here, undelivered)
                    self._ship(slot)
        except (DeliveryInterrupted, KafkaTimeoutError):
            pass
        while True:
            with self._acks:
                self._flushing = True  # set under the lock before looking: a callback after the look notifies
                if not self._unacked:
                    self._flushing = False
                    return not self._pending
                now = time.monotonic()
                deadline = None if timeout is None else start + timeout
                if self._interrupted.is_set():
                    grace_end = self._interrupted_at + INTERRUPT_GRACE_S
                    deadline = grace_end if deadline is None else min(deadline, grace_end)
                if deadline is not None and now >= deadline:
                    self._flushing = False
                    return False
                self._acks.wait(1.0 if deadline is None else min(1.0, deadline - now))
                if not self._unacked:
                    continue
            if time.monotonic() - start >= 1.0:
                self._note_waiting()

    def undelivered(self) -> list[tuple[_Record, str]]:
        """Every record Kafka has not acknowledged: refused, in flight, or still packed here; with the reason."""
        out = list(self._failed)
        out.extend((r, "not acknowledged") for r in list(self._unacked.values()))
        with self._lock:
            for (network, partition), pending in self._pending.items():
                record = _Record(self.raw_topic, network.encode("utf-8"), partition, list(pending.values))
                out.append((record, "not sent"))
        return out

    def undelivered_counts(self) -> Counter[str]:
        """``{"events": raw envelopes, "dlq": dead letters}`` not acknowledged by Kafka."""
        counts: Counter[str] = Counter()
        for record, _ in self.undelivered():
            counts["events" if record.topic == self.raw_topic else "dlq"] += len(record.items)
        return counts

    def save_undelivered(self, path: Path) -> Counter[str]:
        """Write what Kafka has not acknowledged: raw envelopes as JSONL to ``path`` (``valuenet ingest replay``
        re-sends it), dead letters to ``<path stem>.dlq.jsonl``; return the counts (no file when none)."""
        raw_lines: list[bytes] = []
        dlq_lines: list[bytes] = []
        for record, reason in self.undelivered():
            if record.topic == self.raw_topic:
                raw_lines.extend(record.items)
            else:
                for item in record.items:
                    dlq_lines.append(
                        json.dumps({"topic": record.topic, "reason": reason, "record": item.decode()}).encode()
                    )
        counts: Counter[str] = Counter(events=len(raw_lines), dlq=len(dlq_lines))
        for lines, target in ((raw_lines, path), (dlq_lines, path.with_name(path.stem + ".dlq.jsonl"))):
            if lines:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as f:
                    for line in lines:
                        f.write(line + b"\n")
        return counts

    def close(self, timeout: float | None = None) -> None:
        """Flush (``timeout``: as :meth:`flush`) and close the client; what is left stays in :meth:`undelivered`."""
        from kafka.errors import KafkaTimeoutError

        done = self.flush(timeout=timeout)
        self._closed.set()
        try:
            self._producer.close(timeout=10.0 if done else 0.0)
        except KafkaTimeoutError:  # records still in flight: stop the client's sender without them
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()

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
