"""The records every stage speaks: validation at the boundary names the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from valuenet.schemas import Flow, Interaction, RawEnvelope
from valuenet.schemas.flow import FlowBatch

T = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _field(exc: pytest.ExceptionInfo) -> str:
    return ".".join(str(p) for p in exc.value.errors()[0]["loc"])


def test_interaction_rejects_naive_time_unknown_kind_and_extra_fields() -> None:
    ok = Interaction(
        event_id="e1", network="n", source="slack", kind="reply", timestamp=T, actor="slack:U1", target="slack:U2"
    )
    assert ok.kind.value == "reply" and ok.target == "slack:U2"
    with pytest.raises(ValidationError) as e:
        Interaction(
            event_id="e1", network="n", source="slack", kind="reply", timestamp=datetime(2026, 11, 1), actor="a"
        )
    assert _field(e) == "timestamp"
    with pytest.raises(ValidationError) as e:
        Interaction(event_id="e1", network="n", source="slack", kind="gossip", timestamp=T, actor="a")
    assert _field(e) == "kind"
    with pytest.raises(ValidationError) as e:
        Interaction(event_id="e1", network="n", source="slack", kind="post", timestamp=T, actor="a", mood="happy")
    assert _field(e) == "mood"


def test_envelope_names_a_missing_network_and_an_unknown_source() -> None:
    with pytest.raises(ValidationError) as e:
        RawEnvelope.model_validate_json(b'{"source": "git", "payload": {}}')
    assert _field(e) == "network"
    with pytest.raises(ValidationError) as e:
        RawEnvelope.model_validate_json(b'{"source": "myspace", "network": "n", "payload": {}}')
    assert _field(e) == "source"


def test_flow_batch_round_trips_and_bounds_confidence() -> None:
    flows = [
        Flow(
            event_id=f"e{i}",
            network="n",
            source="git",
            kind="review",
            timestamp=T,
            giver="git:A",
            receiver="git:B",
            flow_type="knowledge",
            confidence=0.9,
        )
        for i in range(3)
    ]
    assert FlowBatch.validate_json(FlowBatch.dump_json(flows)) == flows
    with pytest.raises(ValidationError) as e:
        Flow(
            event_id="e",
            network="n",
            source="git",
            kind="review",
            timestamp=T,
            giver="a",
            flow_type="idea",
            confidence=1.5,
        )
    assert _field(e) == "confidence"
