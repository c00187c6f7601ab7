"""Fuzzing every parser: random and mutated payloads raise nothing but ParseError,
and whatever they return is a valid Interaction."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.ingest.readers import read_payloads
from valuenet.schemas import Interaction

FIX = Path(__file__).parent / "payloads"

SEEDS: dict[str, list[tuple[Any, dict[str, str]]]] = {
    "github": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "github").glob("*.json"))],
    "slack": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "slack").glob("*.json"))]
    + [(m, {}) for m in read_payloads(FIX / "slack" / "export", "slack")],
    "discourse": [
        (json.loads(p.read_text()), {}) for p in sorted((FIX / "discourse").glob("*.json")) if p.name != "headers.json"
    ],
    "mastodon": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "mastodon").glob("*.json"))]
    + [(f, {}) for f in read_payloads(FIX / "mastodon" / "stream_frames.jsonl", "mastodon")],
    "bluesky": [(e, {}) for e in read_payloads(FIX / "bluesky" / "jetstream.jsonl", "bluesky")],
    "reddit": [(json.loads((FIX / "reddit" / "listing.json").read_text()), {})]
    + [(e, {}) for e in read_payloads(FIX / "reddit" / "dump.ndjson", "reddit")],
    "x": [(json.loads((FIX / "x" / "response.json").read_text()), {})],
    "teams": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "teams").glob("*.json"))],
    "jira": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "jira").glob("*.json"))],
    "confluence": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "confluence").glob("*.json"))],
    "zendesk": [(json.loads(p.read_text()), {}) for p in sorted((FIX / "zendesk").glob("*.json"))],
    "git": [(json.loads(line), {}) for line in (FIX / "git" / "commits.jsonl").read_text().splitlines()],
    "generic": [
        (r, {"x-valuenet-mapping": str(FIX / "generic" / "forum.yaml")})
        for r in read_payloads(FIX / "generic" / "forum.csv", "generic")
    ],
}
GITHUB_EVENTS = [
    "issues",
    "issue_comment",
    "pull_request_review",
    "pull_request_review_comment",
    "discussion",
    "discussion_comment",
    "watch",
    "fork",
    "pull_request",
    "ping",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "2024-06-10T12:00:00Z",
            "1718000000.000100",
            "t1_abc",
            "at://did:plc:x/app.bsky.feed.post/1",
            "@alice",
            "<@U123>",
            "[deleted]",
            "zen:ticket:1",
            "approved",
            "created",
            "commit",
            "update",
            "notification",
            "delete",
            "post_created",
            "9999-12-31T23:59:59-23:59",
            "-1e308",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(payload: Any, path: tuple, op: str, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(payload)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "delete":
        if isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    else:
        parent[last] = value
    return doc


def _check(source: str, payload: Any, headers: dict[str, str], parents: ParentIndex | None) -> None:
    try:
        out = parse_payload(source, payload, network="fuzz", headers=headers, parents=parents)
    except ParseError as e:
        assert e.source == source and e.field and e.reason
        # raised by a parser's own checks, naming the field, not the registry's catch-all wrapper
        assert e.__cause__ is None, f"unchecked {e.reason} at {e.field}"
        return
    assert isinstance(out, list)
    for i in out:
        assert isinstance(i, Interaction)
        again = Interaction.model_validate_json(i.model_dump_json())
        assert again == i
        assert i.timestamp.utcoffset().total_seconds() == 0


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@pytest.mark.parametrize("source", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_mutated_payloads(source: str, data: st.DataObject) -> None:
    payload, headers = data.draw(st.sampled_from(SEEDS[source]))
    if source == "github":
        headers = data.draw(st.sampled_from([{}, *({"x-github-event": e} for e in GITHUB_EVENTS)]))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(payload)
        path = data.draw(st.sampled_from(paths))
        op = data.draw(st.sampled_from(["delete", "replace"])) if path else "replace"
        payload = _mutate(payload, path, op, data.draw(json_values))
    parents = ParentIndex(capacity=8) if data.draw(st.booleans()) else None
    _check(source, payload, headers, parents)


@pytest.mark.parametrize("source", sorted(SEEDS))
@FUZZ
@given(payload=st.one_of(json_values, st.text(max_size=60), st.binary(max_size=60)))
def test_random_payloads(source: str, payload: Any) -> None:
    _check(source, payload, {}, ParentIndex(capacity=4))
