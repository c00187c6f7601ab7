"""The synthetic network's Bluesky Jetstream commit events: real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

import hashlib
from typing import Any

from valuenet.ingest.platforms._fake import FakerBase, Pending, Person, iso
from valuenet.schemas.interaction import Source

__all__ = ["BlueskyFaker"]


class BlueskyFaker(FakerBase):
    """Builds Bluesky Jetstream commit events payloads and pushes them onto the scenario's event heap."""

    def _bsky(
        self,
        heap: list[Pending],
        t: int,
        author: Person,
        collection: str,
        record: dict[str, Any],
        tag: dict[str, Any] | None = None,
    ) -> str:
        rkey = _tid(t, self._next_id())
        did = author.accounts["bluesky"]
        record = {"$type": collection, "createdAt": iso(t), **record}
        body = {
            "did": did,
            "time_us": t * 1000 + self._seq % 1000,
            "kind": "commit",
            "commit": {
                "rev": rkey,
                "operation": "create",
                "collection": collection,
                "rkey": rkey,
                "record": record,
                "cid": "bafyrei" + hashlib.sha256(rkey.encode()).hexdigest()[:52],
            },
        }
        uri = f"at://{did}/{collection}/{rkey}"
        if tag is not None:
            tag = {**tag, **{k: uri for k in ("root", "item") if tag.get(k) == ""}}
        self._push(heap, t, Source.bluesky, body, tag=tag)
        return uri


def _tid(ms: int, n: int) -> str:
    """A Bluesky-style TID record key (base32-sortable, 13 chars) from a time and a counter."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    v = ((ms * 1000) << 10) | (n & 0x3FF)
    out = []
    for _ in range(13):
        out.append(alphabet[v & 31])
        v >>= 5
    return "".join(reversed(out))
