"""Actor keys: what each parser emits matches the account form the identity directory documents.

One case per platform: a fixture payload is parsed, and a directory person whose ``accounts``
name the account the way an operator would write it (the documented form, e.g.
``mastodon:@bea@mastodon.example``, ``github:Codertocat``) must resolve the parsed actor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuenet.ingest.parsers import parse_payload
from valuenet.ingest.readers import read_payloads
from valuenet.processors.identity import IdentityResolver

FIX = Path(__file__).parent / "payloads"
PAYLOADS = Path(__file__).parent / "payloads"

# platform, payload file, headers, the account as written in the directory (documented form)
CASES = [
    ("slack", FIX / "slack/message.json", None, "slack:U0001"),
    ("github", PAYLOADS / "github/real/issues_opened.json", {"X-GitHub-Event": "issues"}, "github:Codertocat"),
    ("discourse", FIX / "discourse/post_created_reply.json", None, "discourse:sam_support"),
    ("mastodon", FIX / "mastodon/status_reply.json", None, "mastodon:@bea@mastodon.example"),
    ("bluesky", FIX / "bluesky/jetstream.jsonl", None, "bluesky:did:plc:ann111"),
    ("reddit", FIX / "reddit/listing.json", None, "reddit:curious_carl"),
    ("x", FIX / "x/response.json", None, "x:2002"),
    ("teams", FIX / "teams/chat_message_root.json", None, "teams:DA4EC3D6-1ef1-4dc2-8b1a-3ec13e5a0a9c"),
    ("jira", FIX / "jira/comment_created.json", None, "jira:5b10ac8d82e05b22cc7d4ef5"),
    ("jira", PAYLOADS / "jira/real/comment_created_server.json", None, "jira:jira_test"),
    ("confluence", FIX / "confluence/page_created.json", None, "confluence:5b10ac8d82e05b22cc7d4ef5"),
    ("zendesk", FIX / "zendesk/comment_added.json", None, "zendesk:381626101"),
    ("git", FIX / "git/commits.jsonl", None, "git:Ada Lovelace"),
]


def _first_actor(source: str, path: Path, headers) -> str:
    if path.suffix in (".jsonl", ".ndjson"):
        payload = next(iter(read_payloads(path, source)))
    else:
        payload = json.loads(path.read_text())
    return parse_payload(source, payload, network="n", headers=headers)[0].actor


@pytest.mark.parametrize(("source", "path", "headers", "account"), CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_directory_account_form_matches_the_parser(tmp_path, source, path, headers, account) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        json.dumps({"people": [{"person": "p1", "accounts": [account], "segment": "workforce"}], "rules": {}})
    )
    actor = _first_actor(source, path, headers)
    resolved = IdentityResolver(directory).resolve(actor)
    assert (resolved.actor, resolved.segment.value) == ("person:p1", "workforce"), actor


def test_mastodon_keys_are_global_not_numeric_ids() -> None:
    status = json.loads((FIX / "mastodon/status_reply.json").read_text())
    other = json.loads(json.dumps(status).replace('"1002"', '"777"'))  # the same account seen from another server
    assert _first_actor("mastodon", FIX / "mastodon/status_reply.json", None) == "mastodon:bea@mastodon.example"
    assert parse_payload("mastodon", other, network="n")[0].actor == "mastodon:bea@mastodon.example"


def test_git_names_match_however_the_directory_spells_them_and_by_email(tmp_path) -> None:
    directory = tmp_path / "directory.yaml"
    people = [
        {"person": "brian", "name": '"Brian M.  Carlson"', "emails": ["sandals@crustytoothpaste.net"]},
        {"person": "ada", "accounts": ["git:Ada  LOVELACE"], "segment": "partner"},
        {"person": "grace", "emails": ["grace@navy.mil"], "segment": "customer"},
    ]
    directory.write_text(json.dumps({"people": people, "rules": {}}))
    r = IdentityResolver(directory)
    commit = {
        "commit": "c0ffee",
        "author": "brian m. carlson",
        "author_domain": "crustytoothpaste.net",
        "authored_at": "2024-01-01T00:00:00Z",
        "trailers": [{"key": "Helped-by", "name": "G. Hopper", "email_domain": "navy.mil", "email": "grace@navy.mil"}],
    }
    commit_i, helped = parse_payload("git", commit, network="n")
    assert r.resolve_interaction(commit_i)[0].actor == "person:brian"  # name + e-mail domain
    assert r.resolve_interaction(helped)[0].actor == "person:grace"  # full e-mail, whatever the name
    assert r.resolve("git:ada lovelace").actor == "person:ada"  # account spelled differently
