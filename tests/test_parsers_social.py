"""Mastodon entities and streaming frames, Bluesky Jetstream, X API v2."""

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
RECEIVED = datetime(2024, 6, 10, 13, 0, tzinfo=UTC)


def run(source: str, payload, parents=None, headers=None) -> list[Interaction]:
    out = parse_payload(source, payload, network="n", parents=parents, headers=headers, received_at=RECEIVED)
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def load(path: str):
    return json.loads((FIX / path).read_text())


def test_mastodon_reply_with_three_mentions_is_four_interactions() -> None:
    out = run("mastodon", load("mastodon/status_reply.json"))
    assert [(i.event_id, i.kind, i.target) for i in out] == [
        ("status:110000000000000002", Kind.reply, "mastodon:ann@mastodon.example"),  # target from mentions by id
        # the reply's target is mentioned too: counted once, as the reply
        ("status:110000000000000002#mention:mastodon:cem@other.example", Kind.mention, "mastodon:cem@other.example"),
        (
            "status:110000000000000002#mention:mastodon:dov@mastodon.example",
            Kind.mention,
            "mastodon:dov@mastodon.example",
        ),
    ]
    r = out[0]
    assert (r.actor, r.actor_name, r.actor_followers, r.language) == (
        "mastodon:bea@mastodon.example",  # a local acct qualified with its instance: ids are per server
        "Bea",
        250,
        "en",
    )
    assert all(m.text == r.text and m.metadata == {"in": "reply"} for m in out[1:])
    assert r.timestamp == datetime(2024, 6, 10, 12, 0, 5, tzinfo=UTC)


def test_mastodon_boost_and_notifications() -> None:
    (boost,) = run("mastodon", load("mastodon/status_boost.json"))
    assert (boost.kind, boost.actor, boost.target, boost.parent_id) == (
        Kind.repost,
        "mastodon:dov@mastodon.example",
        "mastodon:ann@mastodon.example",
        "status:110000000000000001",
    )
    (fav,) = run("mastodon", load("mastodon/notification_favourite.json"))
    assert (fav.kind, fav.actor, fav.target, fav.actor_name) == (
        Kind.reaction,
        "mastodon:cem@other.example",
        "mastodon:ann@mastodon.example",
        "Cem",
    )
    me = {"X-Mastodon-Account": "ann@mastodon.example"}
    (follow,) = run("mastodon", load("mastodon/notification_follow.json"), headers=me)
    assert (follow.kind, follow.actor, follow.target) == (
        Kind.follow,
        "mastodon:eve@third.example",
        "mastodon:ann@mastodon.example",
    )
    parents = ParentIndex()
    run("mastodon", load("mastodon/notification_favourite.json"), parents)  # sees ann (id 1001)
    by_id = {"X-Mastodon-Account-Id": "1001"}
    (follow,) = run("mastodon", load("mastodon/notification_follow.json"), parents, headers=by_id)
    assert follow.target == "mastodon:ann@mastodon.example"
    (anon,) = run("mastodon", load("mastodon/notification_follow.json"))
    assert anon.target is None


def test_mastodon_streaming_frames_and_sse() -> None:
    parents = ParentIndex()
    frames = list(read_payloads(FIX / "mastodon" / "stream_frames.jsonl", "mastodon"))
    kinds = [[i.kind for i in run("mastodon", f, parents)] for f in frames]
    assert kinds == [[Kind.reply] + [Kind.mention] * 2, [Kind.reaction], [Kind.edit], [Kind.delete]]
    (delete,) = run("mastodon", frames[3], parents)
    assert (delete.actor, delete.timestamp) == ("mastodon:bea@mastodon.example", RECEIVED)
    assert run("mastodon", frames[3], ParentIndex()) == []
    sse = (FIX / "mastodon" / "sse_update.txt").read_text()
    assert [i.kind for i in run("mastodon", sse)] == [Kind.reply] + [Kind.mention] * 2


def test_mastodon_frame_payload_text_is_repaired() -> None:
    """A streaming frame's status arrives as a JSON string inside the JSON: its NUL and lone
    surrogates are repaired like any entry point's (schemas.text), not carried into the text."""
    st = load("mastodon/status_reply.json")
    st["content"] = "<p>hi\x00there \udcff</p>"
    for frame in (
        {"event": "update", "payload": json.dumps(st)},
        f"event: update\ndata: {json.dumps(st)}\n\n",  # the same as an SSE block
    ):
        out = run("mastodon", frame)
        assert out[0].text == "<p>hi\ufffdthere \ufffd</p>"
        assert all("\x00" not in (i.text or "") for i in out)
        out[0].model_dump_json().encode("utf-8")  # encodable all the way to Kafka and ClickHouse
    with pytest.raises(ParseError) as e:
        run("mastodon", {"event": "update", "payload": "[" * 300 + "]" * 300})
    assert e.value.field == "payload" and "nested deeper" in e.value.reason


def test_mastodon_bad_frame_names_the_field() -> None:
    with pytest.raises(ParseError) as e:
        run("mastodon", {"stream": ["public"], "event": "update", "payload": "{not json"})
    assert e.value.field == "payload"
    st = load("mastodon/status_reply.json")
    st["created_at"] = "later"
    with pytest.raises(ParseError) as e:
        run("mastodon", {"event": "update", "payload": json.dumps(st)})
    assert e.value.field == "payload.created_at" and e.value.record == "110000000000000002"


def test_bluesky_jetstream() -> None:
    out = [i for p in read_payloads(FIX / "bluesky" / "jetstream.jsonl", "bluesky") for i in run("bluesky", p)]
    ann = "bluesky:did:plc:ann111"
    assert [(i.kind, i.actor.rsplit(":", 1)[1], i.target) for i in out] == [
        (Kind.post, "ann111", None),
        (Kind.reply, "bea222", ann),
        (Kind.mention, "bea222", "bluesky:did:plc:cem333"),
        (Kind.mention, "bea222", "bluesky:did:plc:dov444"),
        (Kind.mention, "bea222", "bluesky:did:plc:eve555"),
        (Kind.post, "cem333", None),
        (Kind.quote, "cem333", ann),
        (Kind.reaction, "dov444", ann),
        (Kind.repost, "eve555", ann),
        (Kind.follow, "eve555", ann),
        (Kind.delete, "bea222", None),
    ]
    assert out[1].event_id == "at://did:plc:bea222/app.bsky.feed.post/3kmnr0002"
    assert out[1].thread == "at://did:plc:ann111/app.bsky.feed.post/3kmnr0001"
    assert out[1].timestamp == datetime(2024, 6, 10, 11, 46, 45, tzinfo=UTC)
    assert out[5].language == "de"


def test_bluesky_missing_subject_names_the_field() -> None:
    ev = next(
        p
        for p in read_payloads(FIX / "bluesky" / "jetstream.jsonl", "bluesky")
        if p.get("commit", {}).get("collection") == "app.bsky.feed.like"
    )
    del ev["commit"]["record"]["subject"]
    with pytest.raises(ParseError) as e:
        run("bluesky", ev)
    assert e.value.field == "commit.record.subject.uri"
    assert e.value.record == "at://did:plc:dov444/app.bsky.feed.like/3kmnr0004"


def test_x_response_with_includes() -> None:
    out = run("x", load("x/response.json"), ParentIndex())
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("1800000000000000002", Kind.reply, "x:2002", "x:2001"),
        ("1800000000000000002#mention:x:2003", Kind.mention, "x:2002", "x:2003"),
        ("1800000000000000002#mention:x:2004", Kind.mention, "x:2002", "x:2004"),
        ("1800000000000000003", Kind.quote, "x:2003", "x:2001"),
        ("1800000000000000004", Kind.repost, "x:2004", "x:2001"),
    ]
    assert (out[0].actor_name, out[0].actor_followers, out[0].thread) == ("bea_b", 310, "1800000000000000001")
    assert out[0].metadata["impression_count"] == 120


def test_x_bad_tweet_names_the_field() -> None:
    resp = load("x/response.json")
    resp["data"][1]["created_at"] = None
    with pytest.raises(ParseError) as e:
        run("x", resp)
    assert (e.value.field, e.value.record) == ("data[1].created_at", "1800000000000000003")
