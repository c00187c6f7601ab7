"""The analytics agent's fast decoding of flows records gives exactly pydantic's flows and rows, and hands
everything unusual to pydantic (which validates it or names the bad field)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.pipeline_harness import envelope, git_records
from valuenet.analytics.storage.rows import models_to_rows, prepare_columns
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import encode_flows
from valuenet.schemas import RawEnvelope
from valuenet.schemas.flow import FlowBatch, decode_flow_batch


@pytest.fixture(scope="module")
def records() -> list[bytes]:
    """Flows records as the normalise agent writes them, from synth payloads and git commits, lanes set."""
    envs = list(SynthNetwork(seed=5, actors=120).envelopes(3000))
    envs += [RawEnvelope.model_validate_json(envelope("git", "git", p)) for p in git_records(500)]
    stage = build_stage(Settings(directory_path=None, pseudonymise=False))
    result = stage.process([e.model_dump_json().encode() for e in envs], [i % 4 for i in range(len(envs))])
    for i, f in enumerate(result.flows[::7]):
        f.seq = i << 20
    out, dead = encode_flows(result.flows, 400)
    assert not dead and len(out) > 5
    return [value for _, value in out]


def test_fast_and_validated_decoding_give_identical_flows_and_rows(records) -> None:
    for value in records:
        fast, slow = decode_flow_batch(value), FlowBatch.validate_json(value)
        assert fast == slow
        assert FlowBatch.dump_json(fast) == FlowBatch.dump_json(slow) == value
        assert prepare_columns("flows", models_to_rows("flows", fast)) == prepare_columns(
            "flows", models_to_rows("flows", slow)
        )
    assert any(f.receiver is None for v in records for f in decode_flow_batch(v))
    assert {f.lane for v in records for f in decode_flow_batch(v)} == {0, 1, 2, 3}


def mutated(value: bytes, **changes: object) -> bytes:
    items = json.loads(value)
    items[0].update(changes)
    return json.dumps(items).encode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"flow_type": "gossip"}, "flow_type"),
        ({"confidence": 1.5}, "confidence"),
        ({"giver": None}, "giver"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_anything_unusual_goes_to_pydantic_which_names_the_field(records, changes, field) -> None:
    with pytest.raises(ValidationError) as err:
        decode_flow_batch(mutated(records[0], **changes))
    assert field in {str(p) for e in err.value.errors() for p in e["loc"]}


def test_valid_but_unusual_shapes_are_validated_like_pydantic(records) -> None:
    value = mutated(records[0], confidence=1, timestamp="2025-03-03T13:00:05+01:00")  # int, an offset
    assert decode_flow_batch(value) == FlowBatch.validate_json(value)
    with pytest.raises(ValidationError):
        decode_flow_batch(b"[1,")
