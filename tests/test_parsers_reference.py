"""The parsers give exactly what they gave before the issue-14 speed-up (commit f49d54b).

Every input of ``tests/payloads/parse_reference.json.gz`` — the bundled git sample (5,708
commits), 1,500 synth envelopes, every parser fixture and real SDK payload, and ~32k single-field
mutations of the fuzz seeds — is parsed again in the same order with the same parent index and
compared with the stored outcome: the same interactions (every field's value, type and order,
metadata included), the same routing key, or the same ParseError (source, field, reason, record).
One change is intended (issue 25): a GitHub event of unknown type, which gave no interactions, is
now a ParseError naming the type.
See ``tests/parse_reference.py`` for how the fixture was made.
"""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest

from tests.parse_reference import FULL, describe, digest, full, load, outcomes
from valuenet.ingest.errors import ParseError
from valuenet.schemas import Interaction

#: Metadata keys issue 20 added on purpose (actor kinds: ``docs/actor-kinds.md``): the platform fields
#: saying an account is an organisation, a bot or a platform account. Outcomes are compared without
#: them; ``tests/test_actor_kinds.py`` checks what they say.
KIND_KEYS = frozenset({"actor_kind", "target_kind"})


def _before_kinds(res: list[Interaction] | ParseError) -> list[Interaction] | ParseError:
    """``res`` without the issue-20 kind metadata (the rest must be what f49d54b gave)."""
    if isinstance(res, ParseError) or not any(KIND_KEYS & i.metadata.keys() for i in res):
        return res
    out = []
    for i in res:
        if KIND_KEYS & i.metadata.keys():
            i = copy.copy(i)
            i.__dict__["metadata"] = {k: v for k, v in i.metadata.items() if k not in KIND_KEYS}
        out.append(i)
    return out


@pytest.fixture(scope="module")
def reference() -> dict:
    return load()


def test_fixture_was_made_at_the_start_commit(reference: dict) -> None:
    assert reference["commit"].startswith("f49d54b")
    assert {g: len(d) for g, d in reference["digests"].items()} == {
        "git": 5708,
        "synth": 1500,
        "seeds": 121,
        "mutations": 32484,
    }


def _unknown_github_event(res: object, key: str | None, stored: str) -> bool:
    """Issue 25's one intended change: a GitHub event of no recognisable type, which gave no interactions, is now
    a ParseError naming its type (dead-lettered, not dropped)."""
    return (
        isinstance(res, ParseError)
        and res.source == "github"
        and res.reason.startswith("unknown GitHub event type")
        and digest(describe([], key)) == stored
    )


def test_every_outcome_is_identical(reference: dict) -> None:
    wrong: dict[str, list[int]] = defaultdict(list)
    first_diff = None
    counts: dict[str, int] = defaultdict(int)
    for group, n, res, key in outcomes(reference["inputs"]):
        counts[group] += 1
        res = _before_kinds(res)
        stored = reference["digests"][group][n]
        if digest(describe(res, key)) != stored and not _unknown_github_event(res, key, stored):
            wrong[group].append(n)
            if first_diff is None and n < FULL:
                first_diff = (group, n, reference["full"][group][n], {"outcome": full(res), "key": key})
    assert dict(counts) == {g: len(d) for g, d in reference["digests"].items()}
    assert not wrong, (
        f"outcomes differ from f49d54b: { {g: (len(v), v[:10]) for g, v in wrong.items()} }; "
        f"first stored/now pair: {first_diff}"
    )


def test_the_reference_is_not_vacuous(reference: dict) -> None:
    """The stored outcomes hold interactions and errors of every kind the tests rely on."""
    git = reference["full"]["git"]
    assert all(isinstance(o["outcome"], list) and o["outcome"] for o in git)
    assert {i["kind"] for o in git for i in o["outcome"]} >= {"commit", "apply", "review"}
    assert any("error" in o["outcome"] for o in reference["full"]["mutations"])
    assert len(set(reference["digests"]["mutations"])) > 1000  # the mutations give many distinct outcomes
    assert all(o["key"].startswith("synth\x1f") for o in reference["full"]["synth"] if o["outcome"])
