"""The stage's error boundary and text hygiene: every poison record is dead-lettered, the rest flows."""

from __future__ import annotations

import json

from tests.pipeline_harness import envelope, git_records
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import encode_flows
from valuenet.schemas.flow import FlowBatch
from valuenet.schemas.text import REPLACEMENT, TextError, clean, loads, needs_repair


def test_loads_repairs_surrogates_nul_and_bad_utf8_and_refuses_deep_nesting() -> None:
    doc = loads(b'{"a\\u0000": ["x\\udcffy", "\\ud83d\\ude00", "caf\xe9"]}')
    assert doc == {f"a{REPLACEMENT}": [f"x{REPLACEMENT}y", "\U0001f600", f"caf{REPLACEMENT}"]}
    for deep in (b"[" * 300 + b"]" * 300, b"[" * 5000 + b"]" * 5000):
        try:
            loads(deep)
        except TextError as e:
            assert "nested deeper" in str(e)
        else:
            raise AssertionError("deep nesting accepted")
    assert not needs_repair(envelope("git", "n", {"x": "plain \u00e9"}))
    assert needs_repair(b'{"x": "\\uDC80"}') and needs_repair(b'{"x": "\xff"}')
    assert clean({"k": ["\ud800"]}) == {"k": [REPLACEMENT]}


def test_every_poison_record_is_dead_lettered_naming_field_and_the_batch_goes_on() -> None:
    stage = build_stage()
    good = [envelope("git", "n", r) for r in git_records(6)]
    nested = b'{"source": "git", "network": "n", "payload": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    wrong_shape = json.dumps({"source": "git", "network": "n", "payload": [1, 2, 3]}).encode()
    not_object = b"[1, 2]"
    dirty = good[2].replace(b'"author": "', b'"author": "\\udcff\\u0000')
    packed = b"[" + b",".join([good[3], dirty]) + b"]"  # a lone surrogate inside a packed batch
    result = stage.process([good[0], nested, wrong_shape, good[1], not_object, packed, b"\xff\xfe", good[4]])

    fields = [d.field for d in result.dead]
    assert fields[0] == "<root>" and "nested deeper" in result.dead[0].reason
    assert len(result.dead) == 5, [(d.field, d.reason) for d in result.dead]
    assert all(d.stage == "normalise" and d.reason for d in result.dead)
    assert "[0]." in fields[2] and "[1]." in fields[3]  # the packed array of ints: each item named
    authors = {i.actor_name for i in result.interactions}
    assert any(a and a.startswith(REPLACEMENT * 2) for a in authors)  # repaired, not dropped
    assert {i.event_id.split(":")[-1][:7] for i in result.interactions} >= {
        json.loads(g)["payload"]["commit"][:7] for g in (good[0], good[1], good[2], good[3], good[4])
    }
    FlowBatch.dump_json(result.flows)  # nothing left that the encoder refuses
    json.dumps([d.model_dump(mode="json") for d in result.dead]).encode("utf-8")


def test_an_exception_in_any_step_dead_letters_only_its_record() -> None:
    stage = build_stage()
    real = stage.classify_flow
    records = git_records(4)

    def classify(it, identity):
        if records[1]["commit"][:12] in it.event_id:
            raise KeyError("boom")
        return real(it, identity)

    stage.classify_flow = classify
    result = stage.process([envelope("git", "n", r) for r in records])
    assert {d.field for d in result.dead} == {"interaction"} and "boom" in result.dead[0].reason
    assert records[0]["commit"][:12] in " ".join(f.event_id for f in result.flows)
    assert records[3]["commit"][:12] in " ".join(f.event_id for f in result.flows)


def test_an_unencodable_flow_is_dead_lettered_and_its_chunk_still_sent() -> None:
    stage = build_stage()
    flows = stage.process([envelope("git", "n", r) for r in git_records(5)]).flows
    bad = flows[1].model_copy(update={"giver": "x\udcff"})
    records, dead = encode_flows([flows[0], bad, *flows[2:]], per_record=400)
    assert [d.field for d in dead] == ["flow"] and "\udcff" not in dead[0].record
    sent = [f for _, value in records for f in FlowBatch.validate_json(value)]
    assert [f.event_id for f in sent] == [f.event_id for f in flows if f.event_id != bad.event_id]


def test_future_and_ancient_events_are_dead_lettered_and_counted() -> None:
    stage = build_stage()
    records = git_records(4)
    future = {**records[1], "committed_at": "2100-01-01T00:00:00+00:00", "authored_at": "2100-01-01T00:00:00+00:00"}
    ancient = {**records[2], "committed_at": "1900-01-01T00:00:00+00:00", "authored_at": "1900-01-01T00:00:00+00:00"}
    near = {**records[3], "committed_at": "2026-11-01T00:04:00+00:00", "authored_at": "2026-11-01T00:04:00+00:00"}
    result = stage.process([envelope("git", "n", r) for r in (records[0], future, ancient, near)])
    assert {d.field for d in result.dead} == {"timestamp"}
    assert any("future event" in d.reason and "2100-01-01" in d.reason for d in result.dead)
    assert any("before 1970" in d.reason for d in result.dead)
    assert stage.future_events["n"] >= 1 and stage.ancient_events["n"] >= 1
    assert max(f.timestamp for f in result.flows).isoformat().startswith("2026-11-01T00:04")  # within tolerance
