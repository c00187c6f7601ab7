"""The registry's dispatch and error contract, and the file readers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parsers import parse as package_parse
from valuenet.ingest.parsers.registry import SUPPORTED, parse, parse_payload
from valuenet.ingest.readers import read_json_file, read_ndjson, read_payloads
from valuenet.schemas import Kind, RawEnvelope, Source

FIX = Path(__file__).parent / "payloads"


def test_every_source_has_a_parser() -> None:
    assert SUPPORTED == frozenset(Source)


def test_envelope_dispatch_uses_headers_and_received_at() -> None:
    body = json.loads((FIX / "github" / "watch_started.json").read_text())
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    env = RawEnvelope(
        source="github",
        network="acme",
        received_at=at,
        headers={"x-github-event": "watch", "x-github-delivery": "abc"},
        payload=body,
    )
    (star,) = package_parse(env)
    assert (star.kind, star.timestamp, star.network, star.source) == (Kind.star, at, "acme", Source.github)
    assert parse(env) == [star]


def test_json_text_and_bytes_payloads_are_decoded() -> None:
    text = (FIX / "slack" / "reaction_added.json").read_text()
    assert parse_payload("slack", text, network="n") == parse_payload("slack", text.encode(), network="n")


@pytest.mark.parametrize("payload", ["{oops", b"\xff\xfe", "[1, 2", "", None, 3, [], "null"])
def test_undecodable_or_wrong_payloads_raise_parse_error(payload) -> None:
    with pytest.raises(ParseError) as e:
        parse_payload("slack", payload, network="n")
    assert e.value.source == "slack" and e.value.field == "<payload>"


def test_unknown_source() -> None:
    with pytest.raises(ParseError) as e:
        parse_payload("myspace", {}, network="n")
    assert e.value.field == "source"


def test_unexpected_exceptions_become_parse_errors() -> None:
    class Weird(dict):
        def get(self, *a):
            raise ZeroDivisionError("boom")

    with pytest.raises(ParseError) as e:
        parse_payload("bluesky", Weird(kind="commit"), network="n")
    assert "ZeroDivisionError" in e.value.reason


def test_ndjson_reader_keeps_bad_lines_as_text(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write('{"a": 1}\n\nnot json\n{"b": 2}\n')
    assert list(read_ndjson(p)) == [{"a": 1}, "not json", {"b": 2}]
    with pytest.raises(ParseError):
        parse_payload("bluesky", "not json", network="n")


def test_json_reader_handles_listings_arrays_and_ndjson_named_json(tmp_path: Path) -> None:
    assert [c["kind"] for c in read_payloads(FIX / "reddit" / "listing.json", "reddit")] == ["t3", "t1", "t1"]
    arr = tmp_path / "a.json"
    arr.write_text('[{"x": 1}, {"x": 2}]')
    assert list(read_json_file(arr)) == [{"x": 1}, {"x": 2}]
    hourly = tmp_path / "2015-01-01-15.json.gz"
    with gzip.open(hourly, "wt") as f:
        f.write('{"id": "1"}\n{"id": "2"}\n')
    assert list(read_payloads(hourly, "github")) == [{"id": "1"}, {"id": "2"}]


def test_directory_readers(tmp_path: Path) -> None:
    msgs = list(read_payloads(FIX / "slack" / "export", "slack"))
    assert [m["channel"] for m in msgs] == ["C0001"] * 3 + ["C0002"] * 2
    with pytest.raises(ValueError):
        read_payloads(tmp_path, "reddit")
