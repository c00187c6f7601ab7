"""Discourse webhooks and Reddit listings/dumps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.ingest.readers import read_payloads
from valuenet.schemas import Interaction, Kind

FIX = Path(__file__).parent / "payloads"
RECEIVED = datetime(2024, 6, 10, 11, 0, tzinfo=UTC)
HEADERS = json.loads((FIX / "discourse" / "headers.json").read_text())


def run(source: str, payload, parents=None, headers=None) -> list[Interaction]:
    out = parse_payload(source, payload, network="n", parents=parents, headers=headers, received_at=RECEIVED)
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def discourse(name: str, parents: ParentIndex | None = None) -> list[Interaction]:
    return run("discourse", json.loads((FIX / "discourse" / name).read_text()), parents, HEADERS[name])


def test_discourse_topic_first_post_reply_and_like() -> None:
    parents = ParentIndex()
    assert discourse("topic_created.json", parents) == []  # the topic's content comes as its first post
    first = discourse("post_created_first.json", parents)
    assert [(i.event_id, i.kind, i.actor, i.target) for i in first] == [
        ("post:301", Kind.post, "discourse:cust_carla", None),
        ("post:301#mention:discourse:sam_support", Kind.mention, "discourse:cust_carla", "discourse:sam_support"),
    ]
    assert first[0].thread == "topic:61" and first[0].text.startswith("How do I rotate the API keys")
    assert first[1].text == first[0].text and first[1].metadata["in"] == "post"
    reply = discourse("post_created_reply.json", parents)
    assert [(i.event_id, i.kind, i.actor, i.target) for i in reply] == [
        ("post:302", Kind.reply, "discourse:sam_support", "discourse:cust_carla"),
        ("post:302#mention:discourse:dev_dana", Kind.mention, "discourse:sam_support", "discourse:dev_dana"),
        ("post:302#mention:discourse:ops_oli", Kind.mention, "discourse:sam_support", "discourse:ops_oli"),
    ]
    assert reply[0].timestamp == datetime(2024, 6, 10, 9, 42, 10, tzinfo=UTC)
    assert reply[0].url == "/t/how-do-i-rotate-the-api-keys/61/2"
    (to_post,) = discourse("post_created_reply_to_post.json", parents)
    assert (to_post.actor, to_post.target) == ("discourse:cust_carla", "discourse:sam_support")
    (like,) = discourse("like.json", parents)
    assert (like.kind, like.actor, like.target, like.timestamp) == (
        Kind.reaction,
        "discourse:cust_carla",
        "discourse:sam_support",
        RECEIVED,
    )


def test_discourse_reply_to_unseen_topic_has_no_target() -> None:
    (reply, *_) = discourse("post_created_reply.json", ParentIndex())
    assert reply.kind is Kind.reply and reply.target is None


def test_discourse_bad_post_names_the_field() -> None:
    body = json.loads((FIX / "discourse" / "post_created_reply.json").read_text())
    body["post"]["created_at"] = 12
    with pytest.raises(ParseError) as e:
        run("discourse", body, headers=HEADERS["post_created_reply.json"])
    assert (e.value.field, e.value.record) == ("post.created_at", "103")


def test_reddit_listing_resolves_parents_in_order() -> None:
    listing = json.loads((FIX / "reddit" / "listing.json").read_text())
    out = run("reddit", listing, ParentIndex())
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("t3_1d0abc", Kind.post, "reddit:curious_carl", None),
        ("t3_1d0abc#mention:reddit:helpful_hana", Kind.mention, "reddit:curious_carl", "reddit:helpful_hana"),
        ("t1_l5xyz01", Kind.reply, "reddit:helpful_hana", "reddit:curious_carl"),
        ("t1_l5xyz01#mention:reddit:dev_dan", Kind.mention, "reddit:helpful_hana", "reddit:dev_dan"),
        ("t1_l5xyz02", Kind.reply, "reddit:curious_carl", "reddit:helpful_hana"),
    ]
    assert out[2].timestamp == datetime(2024, 6, 10, 9, 10, tzinfo=UTC)
    assert out[2].thread == "t3_1d0abc" and out[2].channel == "valuenet"
    assert out[0].metadata == {"author_fullname": "t2_aaa111", "subreddit_id": "t5_2qh1i", "score": 12}


def test_reddit_dump_crosspost_and_deleted_author() -> None:
    parents = ParentIndex()
    out = [i for p in read_payloads(FIX / "reddit" / "dump.ndjson", "reddit") for i in run("reddit", p, parents)]
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("t3_1d0xyz", Kind.repost, "reddit:sharer_sam", "reddit:curious_carl"),
        ("t1_l5xyz04", Kind.reply, "reddit:late_lou", None),
    ]


def test_reddit_bad_child_names_the_field() -> None:
    listing = json.loads((FIX / "reddit" / "listing.json").read_text())
    listing["data"]["children"][1]["data"]["created_utc"] = "yesterday"
    with pytest.raises(ParseError) as e:
        run("reddit", listing)
    assert e.value.field == "data.children[1].data.created_utc" and e.value.record == "t1_l5xyz01"
