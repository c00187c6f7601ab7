"""GitHub parser on the octokit example webhooks and on GH Archive records."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.schemas import Interaction, Kind

FIX = Path(__file__).parent / "payloads" / "github"
RECEIVED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def load(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def run(payload, event: str | None = None, parents: ParentIndex | None = None) -> list[Interaction]:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-1"} if event else {}
    out = parse_payload("github", payload, network="gh", headers=headers, received_at=RECEIVED, parents=parents)
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def _user(login: str, uid: int) -> dict:
    return {"login": login, "id": uid, "type": "User"}


def test_issue_opened_is_a_post_with_mentions() -> None:
    p = load("issues_opened.json")
    p["issue"]["body"] = "Broken since @octocat's change, cc @hubot and @octocat. mail x@y.org"
    out = run(p, "issues")
    assert [(i.event_id, i.kind, i.actor, i.target) for i in out] == [
        ("issue:444500041", Kind.post, "github:Codertocat", "github:Codertocat"),  # the owner (here: the author)
        ("issue:444500041#mention:github:octocat", Kind.mention, "github:Codertocat", "github:octocat"),
        ("issue:444500041#mention:github:hubot", Kind.mention, "github:Codertocat", "github:hubot"),
    ]
    post = out[0]
    assert all(m.text == post.text and m.metadata["in"] == "post" for m in out[1:])  # classified as the post
    assert post.timestamp == datetime(2019, 5, 15, 15, 20, 18, tzinfo=UTC)
    assert post.channel == "Codertocat/Hello-World" and post.thread == "Codertocat/Hello-World#1"
    assert post.text.startswith("Spelling error in the README file\n\n")
    assert post.metadata == {"user_id": 21031067}


def test_issue_comment_replies_to_the_issue_author() -> None:
    p = load("issue_comment_created.json")
    p["comment"]["user"] = _user("monalisa", 2)
    out = run(p, "issue_comment")
    assert len(out) == 1
    c = out[0]
    assert (c.event_id, c.kind, c.actor, c.target) == (
        "issue_comment:492700400",
        Kind.reply,
        "github:monalisa",
        "github:Codertocat",
    )
    assert c.parent_id == "issue:444500041" and c.metadata["is_pull_request"] is False
    assert c.url.endswith("#issuecomment-492700400")


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("approved", Kind.approve),
        ("changes_requested", Kind.review),
        ("commented", Kind.review),
        ("APPROVED", Kind.approve),
    ],
)
def test_review_state_sets_the_kind(state: str, kind: Kind) -> None:
    p = load("pull_request_review_submitted.json")
    p["review"]["state"] = state
    p["review"]["user"] = _user("reviewer", 3)
    (r,) = run(p, "pull_request_review")
    assert (r.kind, r.actor, r.target, r.event_id) == (kind, "github:reviewer", "github:Codertocat", "review:237895671")
    assert r.timestamp == datetime(2019, 5, 15, 15, 20, 38, tzinfo=UTC)
    assert r.parent_id == "pull_request:279147437"


def test_dismissed_review_yields_nothing() -> None:
    p = load("pull_request_review_submitted.json")
    p["review"]["state"] = "dismissed"
    assert run(p, "pull_request_review") == []


def test_review_comment_reply_looks_up_the_parent_comment() -> None:
    parents = ParentIndex()
    first = load("pull_request_review_comment_created.json")
    first["comment"]["user"] = _user("alice", 10)
    (top,) = run(first, "pull_request_review_comment", parents)
    assert (top.kind, top.target) == (Kind.review, "github:Codertocat")
    reply = copy.deepcopy(first)
    reply["comment"].update(id=284312631, in_reply_to_id=284312630, user=_user("bob", 11))
    (r,) = run(reply, "pull_request_review_comment", parents)
    assert (r.kind, r.actor, r.target, r.parent_id) == (
        Kind.reply,
        "github:bob",
        "github:alice",
        "review_comment:284312630",
    )
    unseen = copy.deepcopy(reply)
    unseen["comment"].update(id=5, in_reply_to_id=999)
    (u,) = run(unseen, "pull_request_review_comment", parents)
    assert u.kind is Kind.reply and u.target is None and u.parent_id == "review_comment:999"


def test_discussion_comment_parent_lookup_and_fallback() -> None:
    parents = ParentIndex()
    p = load("discussion_comment_created.json")
    p["comment"]["user"] = _user("helper", 20)
    (c,) = run(p, "discussion_comment", parents)
    assert (c.kind, c.actor, c.target, c.parent_id) == (
        Kind.reply,
        "github:helper",
        "github:Codertocat",
        "discussion:3299614",
    )
    nested = copy.deepcopy(p)
    nested["comment"].update(id=550063, parent_id=550062, user=_user("thanker", 21))
    (n,) = run(nested, "discussion_comment", parents)
    assert (n.target, n.parent_id) == ("github:helper", "discussion_comment:550062")


def test_discussion_answered_is_an_approval_of_the_answer_author() -> None:
    p = load("discussion_created.json")
    p["action"] = "answered"
    p["discussion"]["answer_chosen_by"] = _user("Codertocat", 21031067)
    p["discussion"]["answer_chosen_at"] = "2021-03-30T21:00:00Z"
    p["answer"] = {"id": 550062, "user": _user("helper", 20)}
    (a,) = run(p, "discussion")
    assert (a.kind, a.actor, a.target, a.event_id) == (
        Kind.approve,
        "github:Codertocat",
        "github:helper",
        "discussion:3299614#answer",
    )
    assert a.timestamp == datetime(2021, 3, 30, 21, 0, tzinfo=UTC)


def test_watch_is_a_star_at_receive_time() -> None:
    p = load("watch_started.json")
    p["sender"] = _user("fan", 30)
    (s,) = run(p, "watch")
    assert (s.kind, s.actor, s.target, s.timestamp) == (Kind.star, "github:fan", "github:Codertocat", RECEIVED)
    assert s.event_id == "star:186853002:fan"


def test_fork_targets_the_repository_owner() -> None:
    (f,) = run(load("fork.json"), "fork")
    assert (f.kind, f.actor, f.target, f.event_id) == (
        Kind.fork,
        "github:Octocoders",
        "github:Codertocat",
        "fork:186853261",
    )
    assert f.timestamp == datetime(2019, 5, 15, 15, 20, 42, tzinfo=UTC)


def test_event_name_is_inferred_without_headers() -> None:
    assert run(load("fork.json"))[0].kind is Kind.fork
    assert run(load("issue_comment_created.json"))[0].kind is Kind.reply
    assert run(load("watch_started.json"))[0].kind is Kind.star


def test_gh_archive_records() -> None:
    comment = {
        "id": "26170000001",
        "type": "IssueCommentEvent",
        "public": True,
        "created_at": "2023-01-01T15:00:00Z",
        "actor": {"id": 7, "login": "commenter", "display_login": "commenter"},
        "repo": {"id": 99, "name": "acme/widgets", "url": "https://api.github.com/repos/acme/widgets"},
        "payload": {
            "action": "created",
            "issue": {"id": 5, "number": 12, "user": {"login": "reporter", "id": 8}},
            "comment": {
                "id": 77,
                "user": {"login": "commenter", "id": 7},
                "body": "thanks @reporter",
                "created_at": "2023-01-01T14:59:59Z",
            },
        },
    }
    out = run(comment)
    assert [(i.event_id, i.kind, i.target) for i in out] == [
        ("issue_comment:77", Kind.reply, "github:reporter"),
    ]
    assert out[0].channel == "acme/widgets" and out[0].thread == "acme/widgets#12"
    star = {
        "id": "26170000002",
        "type": "WatchEvent",
        "created_at": "2023-01-01T15:01:00Z",
        "actor": {"id": 9, "login": "fan"},
        "repo": {"id": 99, "name": "acme/widgets"},
        "payload": {"action": "started"},
    }
    (s,) = run(star)
    assert (s.kind, s.actor, s.target, s.timestamp) == (
        Kind.star,
        "github:fan",
        "github:acme",
        datetime(2023, 1, 1, 15, 1, tzinfo=UTC),
    )
    slim_fork = {
        "id": "26170000003",
        "type": "ForkEvent",
        "created_at": "2025-11-01T00:00:00Z",
        "actor": {"id": 9, "login": "fan"},
        "repo": {"id": 99, "name": "acme/widgets"},
        "payload": {},
    }
    (f,) = run(slim_fork)
    assert (f.kind, f.actor, f.target, f.event_id) == (Kind.fork, "github:fan", "github:acme", "gharchive:26170000003")
    push = {
        "id": "1",
        "type": "PushEvent",
        "created_at": "2023-01-01T15:01:00Z",
        "actor": {"id": 9, "login": "fan"},
        "repo": {"id": 99, "name": "acme/widgets"},
        "payload": {"size": 1},
    }
    assert run(push) == []


@pytest.mark.parametrize(
    ("name", "event", "mutate", "field"),
    [
        (
            "issue_comment_created.json",
            "issue_comment",
            lambda p: p["comment"].__setitem__("created_at", "soon"),
            "comment.created_at",
        ),
        ("issue_comment_created.json", "issue_comment", lambda p: p.__setitem__("comment", [1]), "comment"),
        (
            "fork.json",
            "fork",
            lambda p: p["forkee"].__setitem__("id", None) or p.pop("sender") and p["forkee"].pop("owner"),
            "forkee.owner.login",
        ),
        ("watch_started.json", "watch", lambda p: p.pop("sender"), "sender.login"),
        (
            "pull_request_review_submitted.json",
            "pull_request_review",
            lambda p: p["review"].__setitem__("state", 5),
            "review.state",
        ),
    ],
)
def test_bad_payloads_name_the_field(name: str, event: str, mutate, field: str) -> None:
    p = load(name)
    mutate(p)
    with pytest.raises(ParseError) as e:
        run(p, event)
    assert e.value.field == field and e.value.source == "github"
    assert e.value.record == "d-1"
