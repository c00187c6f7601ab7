"""valuenet.flows records leave default fields out; both of the graph agent's decoders give back the same flows."""

from __future__ import annotations

import json

from tests.pipeline_harness import envelope, git_records
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import encode_flows
from valuenet.schemas.flow import FlowPayload, decode_flow_record


def test_encoded_records_omit_defaults_and_decode_to_the_same_flows() -> None:
    stage = build_stage()
    flows = stage.process([envelope("git", "wire", r) for r in git_records(60)], [2] * 60).flows
    assert flows and all(f.lane == 2 and f.seq is None for f in flows)
    records, dead = encode_flows(flows, per_record=25)
    assert dead == [] and len(records) == -(-len(flows) // 25)
    fast: list = []
    slow: list = []
    for network, value in records:
        assert network == "wire"
        for item in json.loads(value):
            assert "schema_version" not in item and "seq" not in item and "receiver_team" not in item
            assert item["lane"] == 2 and "confidence" in item and "flow_type" in item
        decoded = decode_flow_record(value)
        assert decoded is not None and decoded[1] == 0
        fast += decoded[0]
        payload = FlowPayload.validate_json(value)
        assert isinstance(payload, list)
        slow += payload
    expected = [f.model_dump() for f in flows]
    assert [f.model_dump() for f in fast] == expected
    assert [f.model_dump() for f in slow] == expected
