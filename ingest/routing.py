"""Routing keys of raw records: one network spreads over the partitions, a thread stays together.

A raw record is routed by ``network + thread`` — the conversation a payload belongs to, as the
platform's own fields name it (Slack ``channel:thread_ts``, a GitHub issue or pull request, a
Discourse topic, a Reddit submission, an X conversation, a Bluesky root post, a Jira issue, a
Zendesk ticket, a git commit). The connector computes it with the platform's parser and no
parent index, so the key depends on the payload alone:

    key(envelope) = network ␟ (thread ∨ parent_id ∨ event_id) of its first interaction

and falls back to the network alone for a payload that names nothing (or does not parse: it is
dead-lettered anyway). Hence

- a reply travels with its parent and its thread (the processors' parent index finds the
  parent on the same partition);
- the same payload — so the same event id — always lands on the same partition (dedupe);
- one network's threads hash over every partition, so parse → dedupe → classify run on
  every worker of the consumer group.

The partition is Kafka's default one (murmur2 of the key, as the Java client and kafka-python
compute it), so a record sent alone with ``key`` lands where a packed one with the same key does.
:func:`murmur2` is that hash, word-wise (kafka-python's byte-wise pure-Python one costs ~7 µs per
key; tests/test_routing.py checks both agree).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.ingest.parsers.registry import parse_routed
from valuenet.schemas import Interaction, RawEnvelope

__all__ = ["SEPARATOR", "envelope_key", "murmur2", "parse_and_key", "partition_for", "routing_key"]

SEPARATOR = "\x1f"
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def routing_key(network: str, interactions: Sequence[Interaction]) -> str:
    """``network ␟ (thread ∨ parent_id ∨ event_id)`` of the first interaction; the network alone without one."""
    if not interactions:
        return network
    first = interactions[0]
    thread = first.thread or first.parent_id or first.event_id
    return f"{network}{SEPARATOR}{thread}"


def envelope_key(envelope: RawEnvelope, interactions: Sequence[Interaction] | None = None) -> str:
    """The routing key of ``envelope`` (parsed here without a parent index unless ``interactions`` are given)."""
    if interactions is None:
        try:
            interactions = parse(envelope, None)
        except ParseError:
            return envelope.network
        except Exception:  # noqa: BLE001 - a parser bug is the processors' to report; route by network
            return envelope.network
    return routing_key(envelope.network, interactions)


def parse_and_key(envelope: RawEnvelope, parents: ParentIndex | None) -> tuple[list[Interaction], str]:
    """The envelope parsed with ``parents`` (raises ParseError) and its :func:`envelope_key`, parsing once:
    a second parse without the index only when the index decided a routing field (Mastodon's
    thread roots and deletes of remembered statuses)."""
    interactions, routed = parse_routed(envelope, parents)
    if routed:
        return interactions, envelope_key(envelope)
    return interactions, routing_key(envelope.network, interactions)


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash of ``data`` (``org.apache.kafka.common.utils.Utils.murmur2``, seed 0x9747b28c), unsigned."""
    n = len(data)
    h = 0x9747B28C ^ n
    n4 = n & ~3
    for k in struct.unpack(f"<{n4 >> 2}I", data[:n4]) if n4 else ():
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = n - n4
    if tail:
        if tail == 3:
            h ^= data[n4 + 2] << 16
        if tail >= 2:
            h ^= data[n4 + 1] << 8
        h = ((h ^ data[n4]) * _M) & _MASK
    h &= _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@lru_cache(maxsize=1 << 14)
def partition_for(key: str, partitions: int) -> int:
    """Kafka's default partition of ``key`` among ``partitions`` (murmur2, positive, modulo)."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions
