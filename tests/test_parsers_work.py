"""Microsoft Teams, Jira, Confluence and Zendesk parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.schemas import Interaction, Kind

FIX = Path(__file__).parent / "payloads"


def run(source: str, name: str, parents=None, mutate=None) -> list[Interaction]:
    payload = json.loads((FIX / source / name).read_text())
    if mutate:
        mutate(payload)
    out = parse_payload(source, payload, network="n", parents=parents)
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def test_teams_reply_mentions_and_reactions() -> None:
    parents = ParentIndex()
    (root,) = run("teams", "chat_message_root.json", parents)
    assert (root.kind, root.actor, root.event_id) == (
        Kind.post,
        "teams:da4ec3d6-1ef1-4dc2-8b1a-3ec13e5a0a9c",
        "msg:1616963377068",
    )
    out = run("teams", "chat_message_reply.json", parents)
    robin, lee = "teams:8ea0e38b-efb3-4757-924a-5f94061cf8c2", root.actor
    megan, adele = "teams:5d8d505c-864f-4804-88c7-4583c966cde8", "teams:e1ecb745-c10f-40af-a9d4-cab946c80ac7"
    assert [(i.kind, i.actor, i.target) for i in out] == [
        (Kind.reply, robin, lee),
        (Kind.mention, robin, megan),
        (Kind.mention, robin, adele),
        (Kind.reaction, megan, robin),
    ]
    assert out[0].channel == "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
    assert out[0].timestamp == datetime(2021, 3, 28, 21, 11, 12, 395000, tzinfo=UTC)
    assert out[3].timestamp == datetime(2021, 3, 28, 21, 15, tzinfo=UTC)
    assert run("teams", "chat_message_reply.json", ParentIndex())[0].target is None


def test_teams_change_notification_skips_id_only_items() -> None:
    out = run("teams", "change_notification.json")
    assert [(i.event_id, i.kind, i.channel) for i in out] == [
        (
            "msg:1616990032035",
            Kind.post,
            "19:8ea0e38b-efb3-4757-924a-5f94061cf8c2_97f62344-57dc-409c-88ad-c4af14158ff5@unq.gbl.spaces",
        )
    ]


def test_teams_bad_time_names_the_field() -> None:
    with pytest.raises(ParseError) as e:
        run(
            "teams",
            "change_notification.json",
            mutate=lambda p: p["value"][0]["resourceData"].__setitem__("createdDateTime", "x"),
        )
    assert e.value.field == "value[0].resourceData.createdDateTime"


def test_jira_comment_wiki_and_adf_mentions() -> None:
    out = run("jira", "comment_created.json")
    priya, reporter = "jira:5b10ac8d82e05b22cc7d4ef5", "jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("comment:10100", Kind.reply, priya, reporter),
        ("comment:10100#mention:jira:5b10a2844c20165700ede21g", Kind.mention, priya, "jira:5b10a2844c20165700ede21g"),
        (
            "comment:10100#mention:jira:70121:3f1c1e2a-0b8d-4d55-9c51-1c2e3f4a5b6c",
            Kind.mention,
            priya,
            "jira:70121:3f1c1e2a-0b8d-4d55-9c51-1c2e3f4a5b6c",
        ),
    ]
    assert out[0].timestamp == datetime(2024, 6, 10, 13, 0, 0, 123000, tzinfo=UTC)
    assert (out[0].channel, out[0].thread) == ("OPS", "issue:OPS-42")
    adf = run("jira", "comment_created_adf.json")
    assert [(i.kind, i.target) for i in adf] == [(Kind.reply, reporter), (Kind.mention, priya)]
    assert adf[0].text == "Looks right,   ship it."


def test_jira_missing_author_names_the_field() -> None:
    with pytest.raises(ParseError) as e:
        run("jira", "comment_created.json", mutate=lambda p: p["comment"].pop("author"))
    assert (e.value.field, e.value.record) == ("comment.author.accountId", "comment:10100")


def test_confluence_page_and_comment() -> None:
    (page,) = run("confluence", "page_created.json")
    assert (page.kind, page.event_id, page.channel) == (Kind.post, "page:98306", "OPS")
    assert page.timestamp == datetime.fromtimestamp(1718030000, UTC)
    (comment,) = run("confluence", "comment_created.json")
    assert (comment.kind, comment.actor, comment.target) == (
        Kind.reply,
        "confluence:5b10a2844c20165700ede21g",
        "confluence:5b10ac8d82e05b22cc7d4ef5",
    )


def test_zendesk_ticket_and_agent_comment() -> None:
    (ticket,) = run("zendesk", "ticket_created.json")
    assert (ticket.kind, ticket.actor, ticket.target, ticket.metadata["role"]) == (
        Kind.ticket,
        "zendesk:8447388090494",
        None,
        "customer",
    )
    (comment,) = run("zendesk", "comment_added.json")
    assert (comment.kind, comment.actor, comment.target) == (Kind.reply, "zendesk:381626101", "zendesk:8447388090494")
    assert comment.metadata == {"role": "agent", "public": True, "event": "comment_added"}
    assert comment.timestamp == datetime(2024, 6, 10, 14, 25, tzinfo=UTC)

    def by_requester(p: dict) -> None:
        p["event"]["comment"]["author"] = {"id": "8447388090494", "is_staff": False, "name": "Cust"}

    (back,) = run("zendesk", "comment_added.json", mutate=by_requester)
    assert (back.actor, back.target, back.metadata["role"]) == (
        "zendesk:8447388090494",
        "zendesk:381626101",
        "customer",
    )


def test_zendesk_bad_subject_names_the_field() -> None:
    with pytest.raises(ParseError) as e:
        run("zendesk", "ticket_created.json", mutate=lambda p: p.__setitem__("subject", "zen:user:1"))
    assert e.value.field == "subject" and e.value.record == "cbe4028c-7239-495d-b020-f22348516046"
