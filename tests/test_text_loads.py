"""schemas.text.loads skips the repair walk only when it would change nothing: same values, same errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuenet.schemas.text import MAX_DEPTH, REPLACEMENT, TextError, clean, loads

FIX = Path(__file__).parent / "payloads"


def _reference(raw: str | bytes) -> object:
    """What loads gave before the shortcut: clean() over json.loads, TextError for bad JSON or deep nesting."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return clean(json.loads(text))
    except RecursionError:
        raise TextError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except TextError:
        raise
    except ValueError as e:
        raise TextError(f"malformed JSON: {e}") from e


def _same(raw: str | bytes) -> None:
    try:
        want = _reference(raw)
    except TextError as e:
        with pytest.raises(TextError) as got:
            loads(raw)
        assert str(got.value) == str(e)
        return
    got = loads(raw)
    assert repr(got) == repr(want) and json.dumps(got) == json.dumps(want)  # same values (NaN too), same key order


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": "x\\u0000y", "b\\udcff": ["\\ud800"]}',
        '{"a": "plain", "n": [1, 2.5, null, true]}',
        '{"a": "\\\\u0000 is text, not an escape"}',
        '"\\udfff"',
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "[" * (MAX_DEPTH + 2) + "1" + "]" * (MAX_DEPTH + 2),
        "[" * 5000 + "]" * 5000,
        '{"a": "[[[[", "b": ' + "[" * 199 + "]" * 199 + "}",
        "{broken",
        b'{"a": "\xff\xfe not utf-8"}',
        b'{"a": "caf\xc3\xa9"}',
        '{"a": "\x00 raw nul"}',
        '{"a": "\udcff lone"}',
    ],
)
def test_loads_equals_clean_of_json_loads(raw: str | bytes) -> None:
    _same(raw)


def test_fixture_payloads_and_synth_lines() -> None:
    files = [p for p in FIX.rglob("*.json*") if p.suffix in (".json", ".jsonl")]
    assert len(files) > 20
    for p in files:
        for raw in [p.read_text(encoding="utf-8")] + p.read_text(encoding="utf-8").splitlines()[:20]:
            _same(raw)


def test_repairs_still_happen() -> None:
    assert loads('{"a": "x\\u0000"}') == {"a": f"x{REPLACEMENT}"}
    assert loads('{"a": "\udcff"}') == {"a": REPLACEMENT}


json_text = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=12,
).map(lambda v: json.dumps(v, ensure_ascii=False))


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(json_text, json_text.map(lambda t: t.replace("a", "\\u0000")), st.text(max_size=20)))
def test_random_documents(raw: str) -> None:
    _same(raw)
