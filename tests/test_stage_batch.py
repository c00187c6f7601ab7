"""The stage's batch path gives exactly what the per-envelope reference path gives.

``ProcessorStage.process`` decodes every record with one typed call (msgspec), parses the
batch, then time guard + dedupe + identity per interaction, one ``classify_many`` and flows
built without re-validation. ``ProcessorStage.process_each`` is the reference: pydantic
decoding, one ``to_flow`` per interaction. Two fresh stages get the same calls (so dedupe,
parent indexes and the directory memory carry over between calls the same way) and every
interaction, flow, directory row, dead letter (field, reason, record), duplicate count and
future/ancient counter must be equal.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipeline_harness import envelope, git_records
from valuenet.config import Settings
from valuenet.ingest.producer import encode_batch, encode_envelope
from valuenet.ingest.routing import envelope_key, partition_for
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import ProcessorStage, StageResult
from valuenet.schemas import RawEnvelope
from valuenet.schemas.envelope import RawBatch, fast_envelopes

LANES = 4
Call = tuple[list[bytes], list[int]]
DIRECTORY_COLUMNS = ("person", "name", "accounts", "emails", "team", "organisation", "segment")


def _pack(values: list[tuple[bytes, int]], per_record: int) -> Call:
    """Encoded envelopes packed per lane, ``per_record`` to a record (as the connectors' producer does)."""
    pending: dict[int, list[bytes]] = {}
    records: list[bytes] = []
    lanes: list[int] = []
    for value, lane in values:
        pending.setdefault(lane, []).append(value)
        if len(pending[lane]) >= per_record:
            records.append(encode_batch(pending.pop(lane)))
            lanes.append(lane)
    for lane, rest in pending.items():
        records.append(encode_batch(rest))
        lanes.append(lane)
    return records, lanes


def _git_calls() -> list[Call]:
    """The bundled git sample in packed records, with single envelopes and a replay (duplicates)."""
    commits = git_records(240)
    values = [(envelope("git", "gitnet", c), i % LANES) for i, c in enumerate(commits)]
    first = _pack(values[:150] + values[140:150], 40)  # 10 commits twice in one call
    singles = ([v for v, _ in values[150:160]], [lane for _, lane in values[150:160]])
    # a replay of the newest commits (older ones left the deduper's 8-day event-time retention)
    return [first, singles, _pack(values[160:], 25), _pack(values[225:], 4)]


def _synth_calls(n: int) -> list[Call]:
    net = SynthNetwork(seed=5, actors=120)
    values = []
    for env in net.envelopes(n):
        values.append((encode_envelope(env), partition_for(envelope_key(env), LANES)))
    half = len(values) // 2
    return [_pack(values[:half], 60), _pack(values[half:], 60), _pack(values[half - 40 : half], 60)]


def _synth_directory(path: Path) -> Path:
    """Every other synth person in a CSV directory (the others stay to the rules), some without a segment."""
    rows = SynthNetwork(seed=5, actors=120).directory_rows()[::2]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=DIRECTORY_COLUMNS)
        w.writeheader()
        for i, row in enumerate(rows):
            out = {k: row[k] for k in DIRECTORY_COLUMNS}
            if i % 3 == 0:
                out["segment"] = ""
            w.writerow(out)
    return path


def _poison_calls() -> list[Call]:
    """Malformed, duplicate, future and ancient records, alone and inside packed batches."""
    commits = git_records(12)
    good = [envelope("git", "bad", c) for c in commits]
    future = {**commits[6], "committed_at": "2100-01-01T00:00:00+00:00", "authored_at": "2100-01-01T00:00:00+00:00"}
    ancient = {**commits[7], "committed_at": "1900-01-01T00:00:00+00:00", "authored_at": "1900-01-01T00:00:00+00:00"}
    int_time = {**commits[8], "committed_at": 17}
    item = json.loads(good[9])
    items: list[Any] = [
        {**item, "extra": 1},  # unknown envelope field
        {**item, "schema_version": 2},
        {**item, "network": ""},
        {**item, "headers": {"x-id": 7}},
        {**item, "received_at": "yesterday"},
        {**item, "source": "myspace"},
        "not an object",
    ]
    bad_items = encode_batch([good[10], *(json.dumps(x).encode() for x in items), good[11]])
    records = [
        good[0],
        b'{"source": "git", "network": "bad", "payload": ' + b"[" * 300 + b"]" * 300 + b"}",
        b"[" + good[1] + b', {"source": "git", "network": "bad", "payload": ' + b"[" * 220 + b"]" * 220 + b"}]",
        json.dumps({"source": "git", "network": "bad", "payload": [1, 2, 3]}).encode(),
        b"[1, 2]",
        encode_batch([good[2], good[3].replace(b'"author": "', b'"author": "\\udcff\\u0000')]),
        b"\xff\xfe",
        encode_batch([good[4], good[4], good[5]]),  # a duplicate inside one record
        encode_batch([envelope("git", "bad", x) for x in (future, ancient, int_time)]),
        bad_items,
        good[3].replace(b'"author": "', b'"author": "NUL\\u0000'),
        b'{"source": "git", "network": "bad", "payload": {"x": NaN}}',
        b'{"source": "git", "network": "bad", "received_at": "2026-11-01T00:00:00Z", "payload": [1e400]}',
        b"  [ ]  ",
        b"",
        good[0],  # a replay of the first record: duplicates
    ]
    return [(records, [i % LANES for i in range(len(records))])]


def _dump(result: StageResult) -> dict[str, Any]:
    return {
        "interactions": [i.model_dump() for i in result.interactions],
        "flows": [f.model_dump() for f in result.flows],
        "directory": [{k: v for k, v in row.items() if k != "updated_at"} for row in result.directory],
        "dead": [d.model_dump(exclude={"at"}) for d in result.dead],
        "duplicates": result.duplicates,
    }


def _compare(batch: ProcessorStage, reference: ProcessorStage, calls: list[Call]) -> list[dict[str, Any]]:
    dumps = []
    for records, lanes in calls:
        got = _dump(batch.process(records, lanes))
        want = _dump(reference.process_each(records, lanes))
        for part in want:
            assert got[part] == want[part], part
        dumps.append(got)
    assert batch.future_events == reference.future_events and batch.ancient_events == reference.ancient_events
    return dumps


def _total(dumps: list[dict[str, Any]], part: str) -> int:
    return sum(d[part] if part == "duplicates" else len(d[part]) for d in dumps)


def test_git_sample_batch_path_equals_the_reference() -> None:
    calls = _git_calls()
    assert all(fast_envelopes(r) is not None for r in calls[0][0])  # the typed decoder took these records
    dumps = _compare(build_stage(Settings()), build_stage(Settings()), calls)
    assert _total(dumps, "flows") > 300 and _total(dumps, "directory") > 50
    assert dumps[0]["duplicates"] >= 10 and dumps[3]["duplicates"] >= 15 and not dumps[3]["flows"]
    assert {f["lane"] for d in dumps for f in d["flows"]} == set(range(LANES))


@pytest.mark.parametrize("pseudonymise", [False, True])
def test_synth_network_batch_path_equals_the_reference(tmp_path: Path, pseudonymise: bool) -> None:
    settings = Settings(
        directory_path=_synth_directory(tmp_path / "directory.csv"),
        pseudonymise=pseudonymise,
        pseudonym_key="a test key of 32 bytes, not real" if pseudonymise else None,
    )
    dumps = _compare(build_stage(settings), build_stage(settings), _synth_calls(1200))
    flows = [f for d in dumps for f in d["flows"]]
    assert len(flows) > 1000 and _total(dumps, "duplicates") >= 40
    assert len({f["flow_type"] for f in flows}) == 4 and len({f["giver_segment"] for f in flows}) >= 3
    assert {f["source"] for f in flows} >= {"slack", "github", "discourse", "bluesky"}
    assert any(f["giver"].startswith("person:") for f in flows) != pseudonymise
    names = [row["display_name"] for d in dumps for row in d["directory"]]
    assert len(names) > 50 and any(names)


def test_malformed_duplicate_future_records_batch_path_equals_the_reference() -> None:
    calls = _poison_calls()
    batch, reference = build_stage(Settings()), build_stage(Settings())
    dumps = _compare(batch, reference, calls)
    dead = dumps[0]["dead"]
    fields = [d["field"] for d in dead]
    assert "timestamp" in fields and "committed_at" in fields and "[1].extra" in fields and "[7].<root>" in fields
    assert sum("nested deeper" in d["reason"] or "recursion" in d["reason"] for d in dead) == 2
    assert batch.future_events["bad"] == 2 and batch.ancient_events["bad"] == 2  # a commit and its #apply
    assert dumps[0]["duplicates"] >= 3 and len(dumps[0]["flows"]) > 10
    assert not any("unexpected error" in d["reason"] for d in dead)
    assert fast_envelopes(calls[0][0][9]) is None and fast_envelopes(calls[0][0][12]) is None  # pydantic decided


def test_a_stage_with_its_own_classify_flow_takes_the_reference_path() -> None:
    stage = build_stage(Settings())
    real = stage.classify_flow
    calls: list[str] = []

    def classify(it, identity):  # type: ignore[no-untyped-def]
        calls.append(it.event_id)
        return real(it, identity)

    stage.classify_flow = classify
    result = stage.process([envelope("git", "n", r) for r in git_records(3)])
    assert calls == [f.event_id for f in result.flows] and len(calls) >= 3


def test_cached_bot_and_prior_decisions_equal_the_uncached_ones() -> None:
    from valuenet.processors.classify import _prior
    from valuenet.processors.classify.priors import is_bot, is_bot_cached, prior_for
    from valuenet.schemas.interaction import Kind

    metas: list[dict[str, Any]] = [
        {},
        {"email": "a@b.c"},
        {"bot": True},
        {"bot": False, "is_bot": 0},
        {"bot_id": "B1"},
        {"to_bot": True},
        {"subtype": "bot_message"},
        {"subtype": "thread_broadcast"},
        {"user_type": "Bot"},
        {"user_type": "User"},
        {"reaction": ":-1:"},
        {"reaction": "+1"},
        {"reaction": 3},
        {"state": "APPROVED"},
        {"state": "commented"},
        {"trailer": "Helped-by"},
        {"trailer": ["x"]},
    ]
    actors = [("github:dependabot[bot]", None), ("git:Renovate Bot", "x"), ("slack:U1", "Helper [bot]"), ("x:1", "A")]
    for _ in range(2):  # the second round answers from the caches
        for meta in metas:
            for actor, name in actors:
                assert is_bot_cached(actor, name, meta) == is_bot(actor, name, meta), (actor, name, meta)
            for kind in Kind:
                want = prior_for(kind, meta)
                got = _prior(kind, meta)
                assert (tuple(got) if want else got.reason) == (want or "rule:no text"), (kind, meta)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.text(max_size=12),
    st.sampled_from([float("nan"), float("inf"), 1e-320, -0.0]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_VALID_TIMES = ["2026-11-01T00:00:00Z", "2026-11-01T00:00:00.123456+00:00", "2026-11-01T01:02:03.1234567-05:30"]
_times = st.sampled_from(
    _VALID_TIMES * 4
    + [
        "2026-11-01 01:02:03Z",
        "2026-11-01t01:02:03z",
        "2026-11-01T01:02:03",
        "2026-11-01",
        "1700000000",
        "2026-11-01T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "yesterday",
        "",
    ]
)
_names = st.text(min_size=1, max_size=3)
_envelope = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["git"] * 6 + ["slack", "github", "bluesky", "GIT", "myspace", ""]),
        "network": st.one_of(_names, _names, _names, st.sampled_from(["", "n" * 128, "é" * 128, "é" * 129])),
        "received_at": st.one_of(_times, _times, _times, st.integers(), st.none()),
        "payload": _json,
    },
    optional={
        "schema_version": st.sampled_from([1, 1, 1, 1.0, "1", 2, True]),
        "headers": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2) | st.just({"x-id": 7}),
    },
)
_odd = st.fixed_dictionaries({"source": st.just("git"), "network": _names, "payload": _json, "extra": st.integers()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_envelope | _envelope | _envelope | _odd, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_the_typed_decoder_accepts_only_what_pydantic_accepts_with_the_same_values(
    items: list[dict[str, Any]], packed: bool, ascii_only: bool
) -> None:
    if packed:
        value = json.dumps(items, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    else:
        value = json.dumps(items[0], ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    fast = fast_envelopes(value)
    try:
        want = RawBatch.validate_json(value) if packed else [RawEnvelope.model_validate_json(value)]
    except ValueError:  # pydantic refuses (ValidationError): the typed decoder must refuse too
        assert fast is None
        return
    if fast is not None:
        assert [e.model_dump() for e in fast] == [e.model_dump() for e in want]
