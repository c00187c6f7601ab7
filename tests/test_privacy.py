"""Privacy: keyed HMAC pseudonyms, applied to flows and interactions; names only in directory rows."""

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from valuenet.config import Settings
from valuenet.processors.identity import ActorIdentity
from valuenet.processors.privacy import PrivacyError, Pseudonymiser, directory_row, from_settings
from valuenet.schemas import Flow, FlowType, Interaction, Kind, Segment, Source

KEY = "0123456789abcdef-test-key"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_pseudonym_is_keyed_hmac_sha256():
    p = Pseudonymiser(KEY)
    expected = "p:" + hmac.new(KEY.encode(), b"slack:U123", hashlib.sha256).hexdigest()[:32]
    assert p.pseudonym("slack:U123") == expected
    assert p.pseudonym("slack:U123") == expected  # stable
    assert Pseudonymiser(KEY + "x").pseudonym("slack:U123") != expected
    assert p.pseudonym(expected) == expected  # idempotent
    assert KEY not in repr(p)


def test_flow_and_interaction_are_pseudonymised_and_names_dropped():
    p = Pseudonymiser(KEY)
    it = Interaction(
        event_id="e1",
        network="n",
        source=Source.slack,
        kind=Kind.reply,
        timestamp=T0,
        actor="slack:U1",
        target="slack:U2",
        actor_name="Alice Example",
        text="hi",
    )
    out = p.interaction(it)
    assert out.actor == p.pseudonym("slack:U1") and out.target == p.pseudonym("slack:U2")
    assert out.actor_name is None and out.text == "hi"
    flow = Flow(
        event_id="e1",
        network="n",
        source=Source.slack,
        kind=Kind.reply,
        timestamp=T0,
        giver="person:alice",
        receiver=None,
        flow_type=FlowType.knowledge,
        confidence=0.9,
    )
    pf = p.flow(flow)
    assert pf.giver == p.pseudonym("person:alice") and pf.receiver is None


def test_settings_switch_and_missing_key():
    assert from_settings(Settings(pseudonymise=False)) is None
    with pytest.raises(PrivacyError, match="VALUENET_PSEUDONYM_KEY"):
        from_settings(Settings(pseudonymise=True))
    p = from_settings(Settings(pseudonymise=True, pseudonym_key=KEY))
    assert p is not None and p.pseudonym("a").startswith("p:")
    with pytest.raises(PrivacyError, match="at least 16 bytes"):
        Pseudonymiser("short")


def test_directory_row_keeps_the_name_under_the_pseudonym():
    p = Pseudonymiser(KEY)
    ident = ActorIdentity("person:alice", Segment.workforce, "platform", "Acme", "Alice Example", "alice", "directory")
    row = directory_row("acme", ident, p, updated_at=T0)
    assert row["actor"] == p.pseudonym("person:alice")
    assert row["display_name"] == "Alice Example" and row["segment"] == "workforce"
    assert row["updated_at_ms"] == int(T0.timestamp() * 1000)
