"""Slack parser: Events API callbacks and an export directory."""

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

FIX = Path(__file__).parent / "payloads" / "slack"


def run(payload, parents: ParentIndex | None = None) -> list[Interaction]:
    out = parse_payload("slack", payload, network="acme", parents=parents)
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def load(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def test_message_with_text_and_block_mentions() -> None:
    out = run(load("message.json"))
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("msg:C0001:1718000000.000100", Kind.post, "slack:U0001", None),
        ("msg:C0001:1718000000.000100#mention:slack:U0002", Kind.mention, "slack:U0001", "slack:U0002"),
        ("msg:C0001:1718000000.000100#mention:slack:U0003", Kind.mention, "slack:U0001", "slack:U0003"),
    ]
    assert out[0].timestamp == datetime(2024, 6, 10, 6, 13, 20, 100, tzinfo=UTC)
    assert out[0].channel == "C0001" and out[0].thread == "C0001:1718000000.000100"
    assert out[0].metadata == {"team": "T0001"}


def test_thread_reply_with_two_mentions_is_three_interactions() -> None:
    out = run(load("thread_reply.json"))
    assert [(i.kind, i.target) for i in out] == [
        (Kind.reply, "slack:U0001"),
        (Kind.mention, "slack:U0004"),
        (Kind.mention, "slack:U0005"),
    ]
    assert out[0].parent_id == "msg:C0001:1718000000.000100"
    assert out[0].thread == "C0001:1718000000.000100"


def test_reply_without_parent_user_uses_the_parent_index() -> None:
    parents = ParentIndex()
    run(load("message.json"), parents)
    reply = load("thread_reply.json")
    del reply["event"]["parent_user_id"]
    assert run(reply, parents)[0].target == "slack:U0001"
    assert run(reply, ParentIndex())[0].target is None


def test_edit_delete_reaction_and_app_mention() -> None:
    (edit,) = run(load("message_changed.json"))
    assert (edit.kind, edit.actor, edit.parent_id) == (Kind.edit, "slack:U0001", "msg:C0001:1718000000.000100")
    (delete,) = run(load("message_deleted.json"))
    assert (delete.kind, delete.actor, delete.event_id) == (
        Kind.delete,
        "slack:U0002",
        "msg:C0001:1718000060.000200#delete",
    )
    (reaction,) = run(load("reaction_added.json"))
    assert (reaction.kind, reaction.actor, reaction.target) == (Kind.reaction, "slack:U0003", "slack:U0001")
    assert reaction.metadata == {"reaction": "thumbsup"}
    assert reaction.event_id == "msg:C0001:1718000000.000100#reaction:thumbsup:U0003"
    app = run(load("app_mention.json"))
    assert [(i.kind, i.target) for i in app] == [(Kind.post, None), (Kind.mention, "slack:U0BOT")]
    assert app[0].metadata["app_mention"] is True


def test_url_verification_and_joins_yield_nothing() -> None:
    assert run(load("url_verification.json")) == []
    join = load("message.json")
    join["event"]["subtype"] = "channel_join"
    assert run(join) == []


def test_export_directory() -> None:
    parents = ParentIndex()
    out = [i for p in read_payloads(FIX / "export", "slack") for i in run(p, parents)]
    got = [(i.kind, i.actor, i.target, i.channel) for i in out]
    assert got == [
        (Kind.post, "slack:U0001", None, "C0001"),
        (Kind.mention, "slack:U0001", "slack:U0002", "C0001"),
        (Kind.reaction, "slack:U0002", "slack:U0001", "C0001"),
        (Kind.reaction, "slack:U0003", "slack:U0001", "C0001"),
        (Kind.reply, "slack:U0003", "slack:U0001", "C0001"),
        (Kind.post, "slack:U0002", None, "C0002"),
        (Kind.reply, "slack:U0001", "slack:U0002", "C0002"),
    ]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["event"].pop("channel"), "event.channel"),
        (lambda p: p["event"].__setitem__("ts", 17), "event.ts"),
        (lambda p: p["event"].__setitem__("ts", "soon.ish"), "event.ts"),
        (lambda p: p["event"].pop("user"), "event.user"),
        (lambda p: p.__setitem__("event", "x"), "event"),
    ],
)
def test_bad_events_name_the_field(mutate, field: str) -> None:
    p = load("message.json")
    mutate(p)
    with pytest.raises(ParseError) as e:
        run(p)
    assert (e.value.source, e.value.field, e.value.record) == ("slack", field, "Ev0001")
