"""Reader.cascade follows quotes: a quote's own item (its event id without ``#quote``) is amplified too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from valuenet.analytics.storage.reader import Reader
from valuenet.schemas import Flow

if TYPE_CHECKING:
    from valuenet.analytics.storage.chdb_store import ChdbStore

NET = "bsky"
T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
P = "at://did:plc:ann/app.bsky.feed.post/p1"  # ann's post
Q = "at://did:plc:bob/app.bsky.feed.post/q1"  # bob's post quoting it
R = "at://did:plc:dan/app.bsky.feed.post/r1"  # dan's post quoting bob's quote


def flow(eid: str, kind: str, giver: str, receiver: str | None, minute: int, parent: str | None = None) -> Flow:
    """One Bluesky-shaped flow (ids as ingest/platforms/bluesky/parse.py writes them)."""
    return Flow(
        event_id=eid,
        network=NET,
        source="bluesky",
        kind=kind,
        timestamp=T0 + timedelta(minutes=minute),
        giver=giver,
        receiver=receiver,
        flow_type="none" if kind == "post" else "reputation",
        confidence=0.9,
        reason="seed",
        parent_id=parent,
    )


def seed() -> list[Flow]:
    """ann posts P; cid reposts P; bob quotes P (Q); eve reposts Q; dan quotes Q (R); fay reposts R; gus reposts X."""
    return [
        flow(P, "post", "ann", None, 0),
        flow("repost:cid/1", "repost", "cid", "ann", 1, P),
        flow(Q, "post", "bob", None, 2),
        flow(Q + "#quote", "quote", "bob", "ann", 2, P),
        flow("repost:eve/1", "repost", "eve", "bob", 3, Q),
        flow(R, "post", "dan", None, 4),
        flow(R + "#quote", "quote", "dan", "bob", 4, Q),
        flow("repost:fay/1", "repost", "fay", "dan", 5, R),
        flow("at://did:plc:zed/app.bsky.feed.post/x1", "post", "zed", None, 6),
        flow("repost:gus/1", "repost", "gus", "zed", 7, "at://did:plc:zed/app.bsky.feed.post/x1"),
    ]


def test_cascade_follows_reposts_of_quotes(chdb_store: ChdbStore) -> None:
    chdb_store.write_models("flows", seed())
    reader = Reader(chdb_store)

    body = reader.cascade(NET, P)
    assert body is not None
    hops = {(e["event_id"], e["depth"], e["from"], e["giver"]) for e in body["events"]}
    assert hops == {
        ("repost:cid/1", 1, "ann", "cid"),
        (Q + "#quote", 1, "ann", "bob"),
        ("repost:eve/1", 2, "bob", "eve"),  # the repost of the quote (parent_id = Q, not Q#quote)
        (R + "#quote", 2, "bob", "dan"),
        ("repost:fay/1", 3, "dan", "fay"),  # a repost of a quote of the quote
    }
    assert body["author"] == "ann" and body["reach"] == 5 and body["depth"] == 3
    assert body["per_depth"] == [{"depth": 1, "events": 2}, {"depth": 2, "events": 2}, {"depth": 3, "events": 1}]

    # k hops: with max_depth=2 the walk stops before fay and says it was cut
    two = reader.cascade(NET, P, max_depth=2)
    assert two is not None and two["reach"] == 4 and two["truncated"]

    # the cascade of the quote event itself starts at its own item
    quote = reader.cascade(NET, Q + "#quote")
    assert quote is not None and quote["author"] == "bob"
    assert {(e["event_id"], e["depth"], e["from"]) for e in quote["events"]} == {
        ("repost:eve/1", 1, "bob"),
        (R + "#quote", 1, "bob"),
        ("repost:fay/1", 2, "dan"),
    }
