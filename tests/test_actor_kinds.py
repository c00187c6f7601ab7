"""Actor kinds (issue 20): organisations, bots and platform accounts are decided from real platform fields,
receive no person's flows where the platform implies none, and stay out of every person ranking.

Payloads are real (``tests/payloads/github/kinds``, ``tests/payloads/mastodon/kinds``, ``tests/payloads/*/real``;
origins in each folder's ``SOURCES.md``); where one real payload lacks a case, real objects are composed
(an org-owned repository object into an ``issues`` event) and the test says so.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from valuenet.analytics.alerts import AlertDetector, AlertThresholds
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.keyperson import KeyPersonAlerts, key_person_risk
from valuenet.analytics.kinds import ACTOR_KINDS, kinds_of, parse_kinds
from valuenet.analytics.snapshot import actor_rows
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.identity import IdentityResolver
from valuenet.processors.stage import StageResult
from valuenet.schemas import ActorKind, Flow, RawEnvelope

HERE = Path(__file__).parent
GH = HERE / "payloads" / "github" / "kinds"
MASTO = HERE / "payloads" / "mastodon" / "kinds"
RECEIVED = datetime(2026, 8, 2, 12, 0, tzinfo=UTC)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _env(source: str, payload: Any, headers: dict[str, str] | None = None, network: str = "kinds") -> bytes:
    return (
        RawEnvelope(source=source, network=network, received_at=RECEIVED, headers=headers or {}, payload=payload)
        .model_dump_json()
        .encode()
    )


def _gh(event: str, payload: Any, delivery: str) -> bytes:
    return _env("github", payload, {"x-github-event": event, "x-github-delivery": delivery})


def _stage(tmp_path: Path, directory: str | None = None):
    path = None
    if directory is not None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "directory.yaml"
        path.write_text(directory, encoding="utf-8")
    return build_stage(Settings(home=tmp_path, directory_path=path))


def _run(tmp_path: Path, records: list[bytes], directory: str | None = None) -> StageResult:
    result = _stage(tmp_path, directory).process(records)
    assert result.dead == [], [d.reason for d in result.dead]
    return result


def _by_event(result: StageResult) -> dict[str, Flow]:
    return {f.event_id: f for f in result.flows}


# -- GitHub: type Organization | Bot, the [bot] suffix, the repository owner ------------------------------


def _org_repo() -> dict[str, Any]:
    """The real organisation-owned repository object (``octo-org/octo-repo``, owner ``type: Organization``)."""
    return _json(GH / "issues_transferred_org_repo.json")["repository"]


def _bot_user() -> dict[str, Any]:
    """The real GitHub App user object (``octocoders-linter[bot]``, ``type: Bot``)."""
    return _json(GH / "check_suite_rerequested_bot.json")["sender"]


def test_an_organisation_forking_is_an_organisation_giver(tmp_path: Path) -> None:
    payload = _json(GH / "fork_by_organisation.json")  # real: Octocoders (type Organization) forks a repo
    assert payload["forkee"]["owner"]["type"] == "Organization"
    flows = _run(tmp_path, [_gh("fork", payload, "d-fork")]).flows
    assert [(f.giver, f.giver_kind, f.receiver, f.receiver_kind) for f in flows] == [
        ("github:Octocoders", ActorKind.organisation, "github:Codertocat", ActorKind.person)
    ]


def test_an_issue_opened_into_an_organisations_repository_opens_a_thread_without_a_flow_to_the_org(
    tmp_path: Path,
) -> None:
    user_repo = _json(GH / "issues_opened.json")  # real: into Codertocat/Hello-World, owner type User
    org_repo = copy.deepcopy(user_repo)
    org_repo["repository"] = _org_repo()  # the same issue opened into octo-org/octo-repo (real repository object)
    comment = _json(GH / "issue_comment_created.json")  # real: Codertocat comments on issue #1
    comment["repository"] = _org_repo()
    comment["comment"]["user"] = {**comment["comment"]["user"], "login": "maintainer", "id": 7}
    comment["sender"] = comment["comment"]["user"]
    comment["issue"]["id"] = org_repo["issue"]["id"]

    into_user = _by_event(_run(tmp_path / "a", [_gh("issues", user_repo, "d1")]))
    opened = into_user[f"issue:{user_repo['issue']['id']}"]
    assert opened.receiver == "github:Codertocat"  # a user's repository: the owner receives, as before

    result = _run(tmp_path / "b", [_gh("issues", org_repo, "d2"), _gh("issue_comment", comment, "d3")])
    flows = _by_event(result)
    opened = flows[f"issue:{org_repo['issue']['id']}"]
    assert opened.receiver is None  # no flow to the organisation account …
    assert opened.thread == "octo-org/octo-repo#1"  # … the issue opens its thread
    assert opened.giver == "github:Codertocat" and opened.giver_kind is ActorKind.person
    reply = flows[f"issue_comment:{comment['comment']['id']}"]
    # the person who responds gives to the person who opened it, in the same thread
    assert (reply.giver, reply.receiver, reply.thread) == ("github:maintainer", "github:Codertocat", opened.thread)
    assert reply.flow_type.value != "none"
    assert all(f.receiver != "github:octo-org" for f in result.flows)


def test_a_customers_issue_into_an_organisations_repository_counts_for_responsiveness(tmp_path: Path) -> None:
    issue = _json(GH / "issues_opened.json")
    issue["repository"] = _org_repo()
    issue["issue"]["title"] = "How do I configure the search index?"  # a help-seeking question (edited text)
    issue["issue"]["body"] = "How do I configure the search index? It fails for me."
    comment = _json(GH / "issue_comment_created.json")  # 3 s later, on the same issue
    comment["repository"] = _org_repo()
    comment["comment"]["user"] = {**comment["comment"]["user"], "login": "maintainer", "id": 7}
    comment["comment"]["body"] = "Set index.path in the config file, then restart the service."
    directory = (
        "people:\n"
        "  - {person: cora, accounts: 'github:Codertocat', segment: customer}\n"
        "  - {person: mo, accounts: 'github:maintainer', segment: workforce}\n"
        "  - {person: octo, accounts: 'github:octo-org', segment: workforce, kind: organisation}\n"
    )
    flows = _run(tmp_path, [_gh("issues", issue, "d1"), _gh("issue_comment", comment, "d2")], directory).flows
    opened = next(f for f in flows if f.kind.value == "post")
    assert opened.receiver is None and opened.reason.startswith("rule:question")
    store = GraphStore("kinds", windows=["1h"])
    store.add_many(flows)
    net = store.tick().windows[0].network_metrics
    assert (net["questions"], net["questions_answered"], net["responsiveness_median_s"]) == (1, 1, 3.0)


def test_a_star_into_an_organisations_repository_is_kept_with_the_receivers_kind(tmp_path: Path) -> None:
    star = _json(HERE / "payloads" / "github" / "real" / "watch_started.json")
    star = star.get("body", star)
    star["repository"] = _org_repo()
    (flow,) = _run(tmp_path, [_gh("watch", star, "d-star")]).flows
    assert (flow.receiver, flow.receiver_kind) == ("github:octo-org", ActorKind.organisation)


def test_a_bot_account_is_a_bot_as_giver_and_as_receiver(tmp_path: Path) -> None:
    bot = _bot_user()
    assert (bot["login"], bot["type"]) == ("octocoders-linter[bot]", "Bot")
    comment = _json(GH / "issue_comment_created.json")
    comment["comment"]["user"] = bot
    comment["sender"] = bot
    review = _json(GH / "pull_request_review_submitted.json")  # real: Codertocat reviews PR #2
    review["pull_request"]["user"] = bot  # … a pull request the bot opened
    flows = _by_event(_run(tmp_path, [_gh("issue_comment", comment, "d1"), _gh("pull_request_review", review, "d2")]))
    said = flows[f"issue_comment:{comment['comment']['id']}"]
    assert (said.giver, said.giver_kind, said.flow_type.value) == (
        "github:octocoders-linter[bot]",
        ActorKind.bot,
        "none",
    )
    reviewed = flows[f"review:{review['review']['id']}"]
    assert (reviewed.receiver, reviewed.receiver_kind) == ("github:octocoders-linter[bot]", ActorKind.bot)
    assert reviewed.giver_kind is ActorKind.person


def test_gh_archive_records_name_the_organisation_in_org(tmp_path: Path) -> None:
    record = {
        "id": "40000000001",
        "type": "IssuesEvent",
        "actor": {"id": 1, "login": "ana"},
        "repo": {"id": 9, "name": "octo-org/octo-repo"},
        "org": {"id": 38302899, "login": "octo-org"},
        "payload": {"action": "opened", "issue": {"id": 77, "number": 3, "title": "Crash", "user": {"login": "ana"}}},
        "created_at": "2026-08-01T10:00:00Z",
    }
    (flow,) = _run(tmp_path, [_env("github", record)]).flows
    assert flow.receiver is None and flow.thread == "octo-org/octo-repo#3"


# -- git: the web-flow committer -------------------------------------------------------------------------


def _commit(sha: str, author: str, email: str, committer: str, committer_email: str) -> dict[str, Any]:
    return {
        "commit": sha,
        "parents": 1,
        "author": author,
        "author_domain": email.rpartition("@")[2],
        "author_email": email,
        "authored_at": "2026-07-01T10:00:00+00:00",
        "committer": committer,
        "committer_domain": committer_email.rpartition("@")[2],
        "committer_email": committer_email,
        "committed_at": "2026-07-01T10:05:00+00:00",
        "subject": "Merge pull request #12 from ana/fix",
        "trailers": [],
    }


def test_a_web_flow_commits_apply_is_no_flow_and_github_gives_nothing(tmp_path: Path) -> None:
    # the committer of web merges, web edits and co-authored commits (a real push payload shows it as
    # {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"})
    web = _commit("a" * 40, "Ana Lima", "ana@acme.com", "GitHub", "noreply@github.com")
    person = _commit("b" * 40, "Ana Lima", "ana@acme.com", "Ben Ode", "ben@acme.com")
    flows = _by_event(_run(tmp_path, [_env("git", web), _env("git", person)]))
    applied = flows["a" * 40 + "#apply"]
    assert (applied.giver, applied.giver_kind, applied.flow_type.value) == ("git:github", ActorKind.platform, "none")
    assert flows["b" * 40 + "#apply"].flow_type.value == "reputation"  # a person applying a patch still gives
    store = GraphStore("kinds", windows=["30d"])
    store.add_many(list(flows.values()))
    w = store.tick().windows[0]
    assert "git:github" not in set(w.graph.names.tolist())  # no edge from the web-flow committer


# -- Slack, Mastodon, X, Bluesky -------------------------------------------------------------------------


def test_a_slack_bot_message_is_a_bots(tmp_path: Path) -> None:
    payload = _json(HERE / "payloads" / "slack" / "real" / "bot_message.json")  # real (slackapi/bolt-python)
    flows = _run(tmp_path, [_env("slack", payload)]).flows
    assert flows and all(f.giver_kind is ActorKind.bot for f in flows)


def test_a_slack_app_message_with_only_app_id_is_a_bots(tmp_path: Path) -> None:
    payload = _json(HERE / "payloads" / "slack" / "real" / "user_message.json")
    payload["event"]["app_id"] = "A0123"  # an app posting through a user token: Slack adds app_id
    flows = _run(tmp_path, [_env("slack", payload)]).flows
    assert flows and all(f.giver_kind is ActorKind.bot for f in flows)
    plain = _run(
        tmp_path / "p", [_env("slack", _json(HERE / "payloads" / "slack" / "real" / "user_message.json"))]
    ).flows
    assert all(f.giver_kind is ActorKind.person for f in plain)


def test_a_mastodon_bot_account_is_a_bot_and_a_group_account_an_organisation(tmp_path: Path) -> None:
    sse = (MASTO / "sse_notification_mention_from_bot.txt").read_text(encoding="utf-8")  # real (Mastodon docs)
    flows = _run(tmp_path, [_env("mastodon", sse)]).flows  # the status and its mention of @trwnh
    assert {(f.giver, f.giver_kind) for f in flows} == {("mastodon:a@pl.nulled.red", ActorKind.bot)}
    assert {f.flow_type.value for f in flows} == {"none"}  # a bot gives nothing (the classifier's bot guard)
    group = _json(MASTO / "v1_notification_mention_group_key.json")
    group["account"]["group"] = True  # a group actor (the account object's `group` flag)
    group["status"]["account"]["group"] = True
    flows = _run(tmp_path / "g", [_env("mastodon", group)]).flows
    assert flows and all(f.giver_kind is ActorKind.organisation for f in flows)


def test_a_boost_of_a_bots_status_has_a_bot_receiver(tmp_path: Path) -> None:
    boost = _json(HERE / "payloads" / "mastodon" / "status_boost.json")
    boost["reblog"]["account"]["bot"] = True
    (flow,) = _run(tmp_path, [_env("mastodon", boost)]).flows
    assert flow.receiver_kind is ActorKind.bot and flow.giver_kind is ActorKind.person


def test_x_automated_label_and_bluesky_self_label_make_bots(tmp_path: Path) -> None:
    tweet = {
        "data": {
            "id": "1790000000000000001",
            "author_id": "42",
            "created_at": "2026-07-01T10:00:00.000Z",
            "text": "ok",
        },
        "includes": {"users": [{"id": "42", "username": "relaybot", "automated": True}]},
    }
    post = {
        "did": "did:plc:bot123",
        "time_us": 1782900000000000,
        "kind": "commit",
        "commit": {
            "rev": "3l",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3kxyz",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": "hourly weather",
                "createdAt": "2026-07-01T10:00:00Z",
                "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "bot"}]},
            },
        },
    }
    flows = _run(tmp_path, [_env("x", tweet), _env("bluesky", post)]).flows
    assert sorted((f.giver, f.giver_kind.value) for f in flows) == [
        ("bluesky:did:plc:bot123", "bot"),
        ("x:42", "bot"),
    ]


# -- Mastodon 4.3+: v1 notifications carry group_key; v2 grouped payloads are recognised by shape ---------


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("v1_notification_mention_group_key.json", {"post", "mention"}),
        ("v1_notification_status_group_key.json", {"post"}),
        ("v1_notification_admin_sign_up_group_key.json", set()),
    ],
)
def test_v1_notifications_with_group_key_parse_as_v1(name: str, kinds: set[str]) -> None:
    payload = _json(MASTO / name)  # real responses of GET /api/v1/notifications (Mastodon 4.5, Mastodon.py)
    assert "group_key" in payload
    env = RawEnvelope(source="mastodon", network="n", received_at=RECEIVED, payload=payload)
    out = parse(env, ParentIndex())
    assert {i.kind.value for i in out} == kinds
    if kinds:
        assert out[0].event_id == f"status:{payload['status']['id']}"


@pytest.mark.parametrize(
    ("fixture", "ntype", "kind"),
    [("notification_favourite.json", "favourite", "reaction"), ("notification_follow.json", "follow", "follow")],
)
def test_favourite_and_follow_notifications_with_group_key_parse_as_v1(fixture: str, ntype: str, kind: str) -> None:
    payload = _json(HERE / "payloads" / "mastodon" / fixture)
    payload["group_key"] = f"ungrouped-{payload['id']}"  # what Mastodon 4.3+ adds to every v1 notification
    env = RawEnvelope(
        source="mastodon",
        network="n",
        received_at=RECEIVED,
        headers={"x-mastodon-account": "me@x.social"},
        payload=payload,
    )
    (it,) = parse(env, ParentIndex())
    assert (payload["type"], it.kind.value, it.event_id) == (ntype, kind, f"notification:{payload['id']}")


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("v2_grouped_notifications_response.json", "notification_groups"),
        ("v2_grouped_notification_single.json", "notification_groups"),
    ],
)
def test_v2_grouped_notifications_are_refused_naming_the_field(name: str, field: str, tmp_path: Path) -> None:
    payload = _json(MASTO / name)  # real responses of GET /api/v2/notifications (Mastodon.py cassettes)
    result = _stage(tmp_path).process([_env("mastodon", payload)])
    assert result.flows == [] and len(result.dead) == 1
    assert result.dead[0].field == field and "/api/v1/notifications" in result.dead[0].reason


def test_a_bare_notification_group_is_refused_by_its_shape(tmp_path: Path) -> None:
    group = _json(MASTO / "v2_grouped_notifications_response.json")["notification_groups"][0]
    assert "account" not in group  # a group names sample_account_ids, never one account
    result = _stage(tmp_path).process([_env("mastodon", group)])
    assert result.dead and result.dead[0].field == "sample_account_ids"


# -- the identity directory -------------------------------------------------------------------------------


DIRECTORY = """
rules:
  brand_accounts: ["mastodon:@acme@acme.social"]
  account_kinds: {"slack:U0BOTLIKE": bot, "github:infra-team": organization}
people:
  - person: ana
    name: Ana Lima
    accounts: "github:Codertocat"
    segment: workforce
  - person: deploy
    name: Deploy robot
    accounts: "github:maintainer"
    kind: bot
"""


def test_the_directory_decides_kinds_before_the_platform(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(DIRECTORY, encoding="utf-8")
    ident = IdentityResolver(path)
    assert ident.kind_of("github:maintainer") is ActorKind.bot  # a person entry's kind
    assert ident.kind_of("github:Codertocat") is None  # no kind: the platform decides
    assert ident.kind_of("slack:U0BOTLIKE") is ActorKind.bot  # rules.account_kinds
    assert ident.kind_of("github:infra-team") is ActorKind.organisation  # "organization" spelled either way
    assert ident.kind_of("mastodon:acme@acme.social") is ActorKind.organisation  # a brand account
    comment = _json(GH / "issue_comment_created.json")
    comment["comment"]["user"] = {**comment["comment"]["user"], "login": "maintainer", "id": 7}
    (flow,) = _run(tmp_path / "s", [_gh("issue_comment", comment, "d1")], DIRECTORY).flows
    assert (flow.giver, flow.giver_kind) == ("person:deploy", ActorKind.bot)


def test_a_wrong_kind_in_the_directory_names_the_row_and_field(tmp_path: Path) -> None:
    from valuenet.processors.directory import DirectoryError, load_directory

    path = tmp_path / "bad.yaml"
    path.write_text("people:\n  - person: x\n    accounts: 'github:x'\n    kind: robot\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"row 1: field 'kind': 'robot' is not one of person"):
        load_directory(path)


def test_include_kinds_parses_names_and_refuses_unknown_ones() -> None:
    assert parse_kinds(None) == {"person"}
    assert parse_kinds("person,bot") == {"person", "bot"}
    assert parse_kinds("all") == set(ACTOR_KINDS)
    assert parse_kinds(None, include_non_persons=True) == set(ACTOR_KINDS)
    with pytest.raises(ValueError, match="include_kinds: 'robot'"):
        parse_kinds("robot")


# -- rankings: non-persons computed, stored, labelled, and kept out unless asked ------------------------


def _flow(
    i: int, giver: str, receiver: str | None, flow_type: str = "knowledge", network: str = "r", **kinds: str
) -> Flow:
    return Flow(
        event_id=f"e{i}",
        network=network,
        source="synth",
        kind="reply",
        timestamp=datetime(2026, 7, 1, 10, 0, i % 60, tzinfo=UTC),
        giver=giver,
        receiver=receiver,
        giver_segment="workforce",
        receiver_segment="customer" if receiver and receiver.startswith("c") else "workforce",
        flow_type=flow_type,
        confidence=1.0,
        **kinds,
    )


def _ranked_window(network: str = "r") -> tuple[list[Flow], Any]:
    flows = []
    n = 0
    for a, b in [("w1", "c1"), ("c1", "w2"), ("w2", "w1"), ("c2", "w1"), ("w3", "c2"), ("c1", "w3")] * 3:
        flows.append(_flow(n, a, b, network=network))
        n += 1
    for giver in ("w1", "w2", "w3", "c1", "c2"):  # everyone stars the organisation: it would top PageRank
        for _ in range(3):
            flows.append(_flow(n, giver, "acme", "reputation", network, receiver_kind="organisation"))
            n += 1
    for _ in range(6):  # the bot answers customers: it would carry a tunnel
        flows.append(_flow(n, "helper[bot]", "c2", "knowledge", network, giver_kind="bot"))
        n += 1
    store = GraphStore(network, windows=["1h"])
    store.add_many(flows)
    return flows, store.tick()


def test_person_rankings_leave_out_non_persons_and_their_values_equal_networkx(chdb_store) -> None:
    flows, result = _ranked_window()
    w = result.windows[0]
    kinds = dict(zip(w.graph.names.tolist(), kinds_of(w.graph.kind, w.graph.n)))
    assert kinds["acme"] == "organisation" and kinds["helper[bot]"] == "bot" and kinds["w1"] == "person"
    assert w.graph.names[int(np.argmax(w.pagerank))] == "acme"  # the whole graph: the org would be first
    # metrics agree with networkx on the window graph (weights = flows per ordered pair)
    g = nx.DiGraph()
    for f in flows:
        if f.flow_type.value != "none" and f.receiver:
            prev = g.get_edge_data(f.giver, f.receiver, {"weight": 0})["weight"]
            g.add_edge(f.giver, f.receiver, weight=prev + 1)
    expected = nx.pagerank(g, weight="weight")
    got = dict(zip(w.graph.names.tolist(), w.pagerank.tolist()))
    assert got == pytest.approx(expected, abs=1e-6)

    chdb_store.write_models("actor_metrics", actor_rows(result))
    reader = Reader(chdb_store)
    persons = reader.top_actors("r", "1h", "pagerank", 10)
    assert [r["actor"] for r in persons] == sorted(
        (a for a in expected if kinds[a] == "person"), key=lambda a: (-expected[a], a)
    )
    assert {r["kind"] for r in persons} == {"person"}
    everyone = reader.top_actors("r", "1h", "pagerank", 10, kinds=parse_kinds("all"))
    assert everyone[0]["actor"] == "acme" and everyone[0]["kind"] == "organisation"
    assert {r["actor"]: r["kind"] for r in everyone}["helper[bot]"] == "bot"
    only_orgs = reader.top_actors("r", "1h", "in_reputation", 10, kinds=parse_kinds("organisation"))
    assert [(r["actor"], r["in_reputation"]) for r in only_orgs] == [("acme", 15.0)]


def test_key_persons_and_broker_alerts_keep_to_persons() -> None:
    _, result = _ranked_window()
    w = result.windows[0]
    rows = key_person_risk(w.graph, limit=20)
    assert rows and all(r["kind"] == "person" for r in rows)
    everyone = key_person_risk(w.graph, limit=20, kinds=parse_kinds("all"))
    assert {r["actor"] for r in everyone} - {r["actor"] for r in rows}  # non-persons carry risk when asked
    alerts = KeyPersonAlerts().check(result) + AlertDetector(AlertThresholds(reach_min=0)).check(result)
    assert all(a.subject not in ("acme", "helper[bot]") for a in alerts)


def test_the_api_and_the_cli_include_non_persons_on_request_labelled(chdb_dir: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from valuenet.analytics.storage import open_store
    from valuenet.cli import app as cli_app
    from valuenet.config import get_settings
    from valuenet.web.app import create_app

    net = f"kinds-{uuid.uuid4().hex[:8]}"
    _, result = _ranked_window(net)
    settings = Settings(home=tmp_path, chdb_path=chdb_dir, network=net, windows=["1h"])
    store = open_store(settings)
    try:
        store.write_models("actor_metrics", actor_rows(result))
        with TestClient(create_app(settings, store, kafka=False, feed_poll_seconds=3600)) as client:
            q = {"network": net, "window": "1h", "metric": "pagerank", "limit": 10}
            people = client.get("/api/metrics/actors", params=q).json()["actors"]
            everyone = client.get("/api/metrics/actors", params={**q, "include_kinds": "all"}).json()["actors"]
            bots = client.get("/api/metrics/actors", params={**q, "include_kinds": "bot"}).json()["actors"]
            bad = client.get("/api/metrics/actors", params={**q, "include_kinds": "robot"})
            board = client.get(
                "/api/reach/leaderboard", params={"network": net, "window": "1h", "include_kinds": "all"}
            )
        assert {a["kind"] for a in people} == {"person"} and "acme" not in {a["actor"] for a in people}
        assert (everyone[0]["actor"], everyone[0]["kind"]) == ("acme", "organisation")
        assert [(a["actor"], a["kind"]) for a in bots] == [("helper[bot]", "bot")]
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "include_kinds"]
        assert board.status_code == 200 and {"kind"} <= set(board.json()["leaders"][0])
    finally:
        store.close()
    env = {
        "VALUENET_HOME": str(tmp_path),
        "VALUENET_CHDB_PATH": str(chdb_dir),
        "VALUENET_NETWORK": net,
        "VALUENET_CONFIG": str(tmp_path / "none.toml"),
        "CLICKHOUSE_URL": "",
    }
    runs = {}
    get_settings.cache_clear()
    try:
        for name, extra in (
            ("people", []),
            ("all", ["--include-non-persons"]),
            ("orgs", ["--include-kinds", "organisation"]),
        ):
            out = CliRunner().invoke(cli_app, ["top", "--window", "1h", "--limit", "10", "--json", *extra], env=env)
            assert out.exit_code == 0, out.output
            runs[name] = [(a["actor"], a["kind"]) for a in json.loads(out.stdout)]
    finally:
        get_settings.cache_clear()
    assert runs["people"] == [(a["actor"], a["kind"]) for a in people]
    assert runs["all"][0] == ("acme", "organisation") and ("helper[bot]", "bot") in runs["all"]
    assert runs["orgs"] == [("acme", "organisation")]
