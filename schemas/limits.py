"""Size limits of what valuenet puts on Kafka: identifiers bounded in flows, byte budgets of records.

A platform may send identifiers of any length (a Bluesky AT-URI with an 8 KB record key, a
channel name of 100 KB): the interactions table keeps them whole, while a flow carries them
bounded (:func:`bound_id`), so every flow has a known maximum size and a ``valuenet.flows``
record can be cut by bytes (``processors.stage.encode_flows``). The broker's limit is one
number, ``Settings.max_message_bytes``: the topics' ``max.message.bytes`` and every producer's
``max_request_size``; a record's key and value must fit :func:`record_budget` of it.
"""

from __future__ import annotations

import hashlib

from valuenet.schemas.flow import Flow

__all__ = [
    "HASH_CHARS",
    "MAX_ACTOR_CHARS",
    "MAX_ID_CHARS",
    "RECORD_OVERHEAD_BYTES",
    "bound_flow",
    "bound_id",
    "fits",
    "record_budget",
]

#: ``thread``, ``channel`` and ``parent_id`` of a flow: at most this many characters (an event id's limit,
#: so a parent id or thread that names a real event is never altered).
MAX_ID_CHARS = 512
#: ``giver`` / ``receiver`` of a flow: at most this many characters (an interaction actor's limit).
MAX_ACTOR_CHARS = 256
#: Hex digits of SHA-256 that stand for the cut tail of a bounded identifier (128 bits).
HASH_CHARS = 32
#: Bytes of a Kafka record batch besides the record's key and value: the batch header (61 B), the
#: record's header and length varints; generous, so a record within the budget always fits.
RECORD_OVERHEAD_BYTES = 1024


def bound_id(value: str, limit: int = MAX_ID_CHARS) -> str:
    """``value`` itself when at most ``limit`` characters, else its head + ``#~`` + 32 hex digits of its SHA-256.

    Deterministic and ``limit`` characters long: equal ids stay equal (threads, parents and dedupe still
    match), different ids stay different (a 128-bit hash), and a reader sees where the id came from.
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{value[: limit - HASH_CHARS - 2]}#~{digest}"


def bound_flow(flow: Flow) -> Flow:
    """``flow`` itself when its identifiers are within bounds, else a copy with them bounded (:func:`bound_id`)."""
    thread, parent, channel = flow.thread, flow.parent_id, flow.channel
    giver, receiver = flow.giver, flow.receiver
    if (
        (thread is None or len(thread) <= MAX_ID_CHARS)
        and (parent is None or len(parent) <= MAX_ID_CHARS)
        and (channel is None or len(channel) <= MAX_ID_CHARS)
        and len(giver) <= MAX_ACTOR_CHARS
        and (receiver is None or len(receiver) <= MAX_ACTOR_CHARS)
    ):
        return flow
    return flow.model_copy(
        update={
            "thread": None if thread is None else bound_id(thread),
            "parent_id": None if parent is None else bound_id(parent),
            "channel": None if channel is None else bound_id(channel),
            "giver": bound_id(giver, MAX_ACTOR_CHARS),
            "receiver": None if receiver is None else bound_id(receiver, MAX_ACTOR_CHARS),
        }
    )


def record_budget(max_message_bytes: int, key: bytes = b"") -> int:
    """Bytes a record's value may take so that, with ``key``, its batch stays within ``max_message_bytes``."""
    return max_message_bytes - RECORD_OVERHEAD_BYTES - len(key)


def fits(key: bytes, value: bytes, max_message_bytes: int) -> bool:
    """True when a record of ``key`` and ``value`` fits a topic whose ``max.message.bytes`` is ``max_message_bytes``."""
    return len(value) <= record_budget(max_message_bytes, key)
