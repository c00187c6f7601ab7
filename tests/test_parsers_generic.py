"""Generic JSONL/CSV parser with YAML and TOML mapping files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parsers.registry import parse_payload
from valuenet.ingest.platforms.generic.parse import Mapping
from valuenet.ingest.readers import read_payloads
from valuenet.schemas import Interaction, Kind

FIX = Path(__file__).parent / "payloads" / "generic"


def run(path: Path, mapping: Path | None) -> list[Interaction]:
    headers = {"x-valuenet-mapping": str(mapping)} if mapping else None
    out = [i for p in read_payloads(path, "generic") for i in parse_payload("generic", p, network="n", headers=headers)]
    for i in out:
        assert Interaction.model_validate(i.model_dump()) == i
    return out


def test_csv_with_yaml_mapping() -> None:
    out = run(FIX / "forum.csv", FIX / "forum.yaml")
    assert [(i.event_id, i.kind, i.actor, i.target, i.channel) for i in out] == [
        ("p1", Kind.post, "forum:alice", None, "help"),
        ("p2", Kind.reply, "forum:bob", "forum:alice", "help"),
        ("p3", Kind.reaction, "forum:carol", "forum:bob", "help"),
    ]
    assert [i.timestamp for i in out] == [
        datetime(2024, 6, 10, 8, 0, tzinfo=UTC),
        datetime(2024, 6, 10, 8, 10, tzinfo=UTC),
        datetime(2024, 6, 10, 6, 45, tzinfo=UTC),
    ]
    assert out[1].metadata == {"score": "10"} and out[1].text == "Use the export button"


def test_jsonl_with_toml_mapping_and_nested_paths() -> None:
    out = run(FIX / "forum.jsonl", FIX / "forum.toml")
    assert [(i.kind, i.actor, i.target, i.metadata) for i in out] == [
        (Kind.reply, "forum:dave", "forum:erin", {"meta.score": 4}),
        (Kind.post, "forum:erin", None, {"meta.score": 1}),
    ]
    assert out[0].timestamp == datetime(2024, 6, 10, 8, 10, tzinfo=UTC)  # ms detected


def test_identity_mapping_without_a_file() -> None:
    rec = {"event_id": "e1", "timestamp": "2024-01-01T00:00:00Z", "actor": "a", "target": "b", "kind": "help"}
    (i,) = parse_payload("generic", rec, network="n")
    assert (i.actor, i.target, i.kind) == ("generic:a", "generic:b", Kind.help)


def test_unknown_kind_and_missing_actor_name_the_column() -> None:
    with pytest.raises(ParseError) as e:
        parse_payload(
            "generic",
            {"post_id": "x", "posted": "2024-01-01T00:00:00Z", "user": "u", "action": "dance"},
            network="n",
            headers={"x-valuenet-mapping": str(FIX / "forum.yaml")},
        )
    assert (e.value.field, e.value.record) == ("action", "x")
    with pytest.raises(ParseError) as e:
        parse_payload(
            "generic",
            {"post_id": "x", "posted": "2024-01-01T00:00:00Z"},
            network="n",
            headers={"x-valuenet-mapping": str(FIX / "forum.yaml")},
        )
    assert e.value.field == "user"


def test_bad_mapping_files_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields: {actr: user}\n")
    with pytest.raises(ParseError) as e:
        parse_payload("generic", {"a": 1}, network="n", headers={"x-valuenet-mapping": str(bad)})
    assert e.value.field == "<mapping>" and "actr" in e.value.reason
    with pytest.raises(ValueError, match="timestamp_format"):
        Mapping.from_dict({"timestamp_format": "julian"})
