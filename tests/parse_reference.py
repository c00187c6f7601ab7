"""Reference outcomes of the parsers, pinned at commit f49d54b (before the issue-14 parser speed-up).

``tests/payloads/parse_reference.json.gz`` holds the inputs (a synth network's envelopes, every
parser fixture and real SDK payload) and, per input, a digest of what parsing it gave then:
the interactions' full ``__dict__`` (values, their types, key order), their fields-set, and the
routing key — or the ParseError's source, field, reason and record. Inputs: the bundled git
sample (package data, not stored), 1,500 synth envelopes, the seed payloads of each source, and
every single-field mutation of each fuzz-suite seed (delete, or set to null / 7 / "" / true / [] / {} / "x" /
-1.5) so the error paths are pinned too. The first outcomes of each group are stored in full,
so a failing test shows the difference.

Regenerate only against the start commit's code (the point is to compare with it)::

    git worktree add /tmp/s2-base f49d54b
    PYTHONPATH=/tmp/s2-base .venv/bin/python tests/parse_reference.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse, parse_payload
from valuenet.ingest.routing import envelope_key
from valuenet.ingest.samples import git_sample
from valuenet.schemas import Interaction, RawEnvelope, Source

HERE = Path(__file__).parent
FIXTURE = HERE / "payloads" / "parse_reference.json.gz"
RECEIVED = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
NETWORK = "ref"
FULL = 25  # outcomes stored in full per group (for readable diffs)
MUTATIONS: tuple[tuple[str, Any], ...] = (
    ("delete", None),
    ("set", None),
    ("set", 7),
    ("set", ""),
    ("set", True),
    ("set", []),
    ("set", {}),
    ("set", "x"),
    ("set", -1.5),
)
GITHUB_EVENTS = ["issues", "issue_comment", "pull_request_review", "pull_request_review_comment", "discussion"]


def describe(result: list[Interaction] | ParseError, key: str | None = None) -> str:
    """A canonical text of one parse outcome: each interaction's __dict__ repr (types and order) + fields set."""
    if isinstance(result, ParseError):
        return repr(("error", result.source, result.field, result.reason, result.record, key))
    parts = []
    for i in result:
        assert type(i) is Interaction
        parts.append(
            repr(i.__dict__)
            + repr(sorted(i.__pydantic_fields_set__))
            + repr((i.__pydantic_extra__, i.__pydantic_private__))
        )
    return repr(("ok", parts, key))


def digest(text: str) -> str:
    """A short digest of an outcome's canonical text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def full(result: list[Interaction] | ParseError) -> Any:
    """An outcome as plain JSON (the stored readable form)."""
    if isinstance(result, ParseError):
        return {"error": [result.source, result.field, result.reason, result.record]}
    return [i.model_dump(mode="json") for i in result]


def _local(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with a generic mapping file (stored as the absolute path of its checkout) found in this one."""
    mapping = headers.get("x-valuenet-mapping")
    if not mapping:
        return headers
    return {**headers, "x-valuenet-mapping": str(HERE / "payloads" / "generic" / Path(mapping).name)}


def _run(
    source: str, payload: Any, headers: dict[str, str], parents: ParentIndex | None
) -> list[Interaction] | ParseError:
    headers = _local(headers)
    try:
        return parse_payload(source, payload, network=NETWORK, received_at=RECEIVED, headers=headers, parents=parents)
    except ParseError as e:
        return e


def _mutate(payload: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    """``payload`` with the node at ``path`` deleted or replaced (copies only the containers on the path)."""
    if not path:
        return value
    root = payload.copy()
    parent = root
    for step in path[:-1]:
        child = parent[step]
        child = child.copy()
        parent[step] = child
        parent = child
    last = path[-1]
    if op == "delete":
        if isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    else:
        parent[last] = value.copy() if isinstance(value, (list, dict)) else value
    return root


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def outcomes(inputs: dict[str, Any]) -> Iterator[tuple[str, int, list[Interaction] | ParseError, str | None]]:
    """(group, index, outcome, routing key) of every reference input, in a fixed order."""
    parents = ParentIndex()
    for n, commit in enumerate(git_sample()):
        res = _run("git", commit, {}, parents)
        env = RawEnvelope(source=Source.git, network=NETWORK, received_at=RECEIVED, payload=commit)
        yield "git", n, res, envelope_key(env)
    parents = ParentIndex()
    for n, raw in enumerate(inputs["synth"]):
        env = RawEnvelope.model_validate(raw)
        try:
            res: list[Interaction] | ParseError = parse(env, parents)
        except ParseError as e:
            res = e
        yield "synth", n, res, envelope_key(env)
    n = 0
    for source, seeds in inputs["seeds"].items():
        parents = ParentIndex()
        for payload, headers, _ in seeds:
            yield "seeds", n, _run(source, payload, headers, parents), None
            n += 1
    n = 0
    for source, seeds in inputs["seeds"].items():
        parents = ParentIndex(capacity=64)
        for payload, headers, mutate in seeds:
            if not mutate:
                continue
            for path in _paths(payload):
                for op, value in MUTATIONS if path else MUTATIONS[1:]:
                    yield "mutations", n, _run(source, _mutate(payload, path, op, value), headers, parents), None
                    n += 1


def collect_inputs() -> dict[str, Any]:
    """The stored inputs: synth envelopes and the seed payloads per source (generation time only)."""
    import sys

    sys.path.insert(0, str(HERE))
    from test_parsers_fuzz import SEEDS

    from valuenet.ingest.synth import SynthNetwork

    synth = [e.model_dump(mode="json") for e in SynthNetwork(seed=7, actors=300).envelopes(1500)]
    seeds: dict[str, list[list[Any]]] = {s: [[p, h, True] for p, h in v] for s, v in SEEDS.items()}
    for p, _ in SEEDS["github"]:
        seeds["github"] += [[p, {"x-github-event": e}, False] for e in GITHUB_EVENTS]
    manifest = json.loads((HERE / "payloads" / "MANIFEST.json").read_text())["cases"]
    for case in manifest:
        payload = json.loads((HERE / "payloads" / case["file"]).read_text())
        seeds.setdefault(case["source"], []).append([payload, case.get("headers") or {}, False])
    return {"synth": synth, "seeds": seeds}


def load() -> dict[str, Any]:
    """The stored fixture: inputs, digests and full outcomes per group."""
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        return json.load(f)


def main() -> None:
    """Compute and write the fixture with the code on sys.path (meant: the start commit's)."""
    import valuenet.ingest.parsers as parsers_pkg

    inputs = collect_inputs()
    digests: dict[str, list[str]] = {}
    shown: dict[str, list[Any]] = {}
    for group, n, res, key in outcomes(inputs):
        digests.setdefault(group, []).append(digest(describe(res, key)))
        if n < FULL:
            shown.setdefault(group, []).append({"outcome": full(res), "key": key})
    import subprocess

    where = Path(parsers_pkg.__file__).parent
    commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    doc = {"commit": commit.strip(), "inputs": inputs, "digests": digests, "full": shown}
    with gzip.open(FIXTURE, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(doc, f, separators=(",", ":"))
    print({g: len(d) for g, d in digests.items()}, FIXTURE.stat().st_size, "bytes, from", parsers_pkg.__file__)


if __name__ == "__main__":
    main()
