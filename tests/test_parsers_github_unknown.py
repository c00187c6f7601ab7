"""Issue 25 (7c): a GitHub event of no recognisable type is a ParseError naming ``X-GitHub-Event`` (dead-lettered),
while the events GitHub documents that carry no value flow still give nothing, silently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.ingest.platforms.github.parse import KNOWN_EVENTS

PAYLOADS = Path(__file__).parent / "payloads" / "github" / "real"
RECEIVED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def run(payload: dict, headers: dict[str, str] | None = None) -> list:
    return parse_payload("github", payload, network="gh", headers=headers, received_at=RECEIVED)


def star() -> dict:
    return json.loads((PAYLOADS / "star_created.json").read_text())


def test_an_undocumented_event_header_is_named_in_the_error() -> None:
    with pytest.raises(ParseError) as e:
        run(star(), {"X-GitHub-Event": "copilot_seat_assignment", "X-GitHub-Delivery": "d-9"})
    assert e.value.field == "headers.x-github-event" and e.value.record == "d-9"
    assert e.value.reason == "unknown GitHub event type: X-GitHub-Event 'copilot_seat_assignment'"


def test_no_header_and_an_unrecognisable_body_is_an_error_listing_its_keys() -> None:
    release = {"action": "published", "release": {"id": 1, "tag_name": "v1.0"}, "repository": star()["repository"]}
    with pytest.raises(ParseError) as e:
        run(release)
    assert e.value.field == "headers.x-github-event"
    assert "no X-GitHub-Event header" in e.value.reason and "keys: action, release, repository" in e.value.reason


@pytest.mark.parametrize("event", ["release", "workflow_run", "check_suite", "push", "ping", "label", "member"])
def test_documented_events_without_a_value_flow_give_nothing(event: str) -> None:
    assert event in KNOWN_EVENTS
    body = {**star(), "action": "completed"}
    assert run(body, {"X-GitHub-Event": event}) == []


def test_an_unknown_gh_archive_type_is_an_error_naming_type() -> None:
    rec = {
        "id": "1",
        "type": "CopilotEvent",
        "actor": {"id": 7, "login": "someone"},
        "repo": {"id": 99, "name": "acme/widgets"},
        "payload": {"action": "created"},
        "created_at": "2023-01-01T15:00:00Z",
    }
    with pytest.raises(ParseError) as e:
        run(rec)
    assert e.value.field == "type" and "'CopilotEvent'" in e.value.reason
    assert run({**rec, "type": "PushEvent", "payload": {"commits": []}}) == []  # a known type without a flow


def test_the_handled_events_still_parse() -> None:
    out = run(star(), {"X-GitHub-Event": "star"})
    assert len(out) == 1 and out[0].kind.value == "star"
