"""The committed JSON Schemas match the pydantic models and accept what the parsers emit."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from valuenet.ingest.parsers.registry import parse_payload
from valuenet.schemas.jsonschema import MODELS, SCHEMA_DIR, render, stale, write_all

FIX = Path(__file__).parent / "payloads"


def test_committed_schemas_are_current() -> None:
    assert stale() == [], "run: python -m valuenet.schemas.jsonschema"


def test_every_model_has_a_schema_file() -> None:
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(MODELS)


def test_stale_detects_a_changed_file(tmp_path: Path) -> None:
    write_all(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / "flow.json").write_text("{}\n")
    assert stale(tmp_path) == ["flow"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(render(name, MODELS[name])))


def test_parsed_interactions_validate_against_the_committed_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "interaction.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    payload = json.loads((FIX / "github" / "issue_comment_created.json").read_text())
    out = parse_payload("github", payload, network="n")
    assert out
    for i in out:
        validator.validate(json.loads(i.model_dump_json()))
    bad = json.loads(out[0].model_dump_json())
    bad["kind"] = "teleport"
    assert not validator.is_valid(bad)
