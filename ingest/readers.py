"""File readers: a path on disk → the raw payloads of one source, one per platform event.

A line or file that is not valid JSON is yielded as its raw text, so the parser rejects it
with a ParseError (and the replay sends it to the DLQ) instead of the reader crashing.

- NDJSON / JSONL (optionally ``.gz``): one payload per line (GH Archive, Reddit dumps,
  Jetstream captures, git JSONL, generic JSONL).
- a ``.json`` file: an array yields its items; a Reddit ``Listing`` (or an array of them)
  yields its children; an X API v2 response is yielded whole; any other object is one payload.
- a Slack export directory: every message, with its channel (:mod:`valuenet.ingest.platforms.slack.read`).
- a git repository directory: commit records via ``git log`` (:mod:`valuenet.ingest.platforms.git.read`).
- ``.csv``: one dict per row (for the generic parser).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from valuenet.ingest.platforms.git.read import read_git_repository
from valuenet.ingest.platforms.slack.read import read_slack_export
from valuenet.schemas.text import loads

__all__ = [
    "read_payloads",
    "read_ndjson",
    "read_json_file",
    "read_reddit_listing",
    "read_csv",
]


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace", newline="")


def read_ndjson(path: str | Path) -> Iterator[Any]:
    """One payload per non-blank line; undecodable lines are yielded as their raw text."""
    with _open_text(Path(path)) as f:
        for line in f:
            if not line.strip():
                continue
            try:
                yield loads(line)
            except ValueError:
                yield line.rstrip("\n")


def read_json_file(path: str | Path) -> Iterator[Any]:
    """The payloads of one JSON document (array items, Listing children, or the object), or of NDJSON lines."""
    with _open_text(Path(path)) as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError:  # GH Archive's hourly ``.json.gz`` files are NDJSON
        for line in text.splitlines():
            if line.strip():
                try:
                    yield from _unwrap(json.loads(line))
                except ValueError:
                    yield line
        return
    yield from _unwrap(doc)


def _unwrap(doc: Any) -> Iterator[Any]:
    if isinstance(doc, list):
        for item in doc:
            if isinstance(item, dict) and item.get("kind") == "Listing":
                yield from _listing_children(item)
            else:
                yield item
    elif isinstance(doc, dict) and doc.get("kind") == "Listing":
        yield from _listing_children(doc)
    else:
        yield doc


def _listing_children(listing: dict[str, Any]) -> Iterator[Any]:
    data = listing.get("data")
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        yield listing  # the parser names the missing field
        return
    for child in children:
        yield child
        replies = (
            child.get("data", {}).get("replies")
            if isinstance(child, dict) and isinstance(child.get("data"), dict)
            else None
        )
        if isinstance(replies, dict) and replies.get("kind") == "Listing":
            yield from _listing_children(replies)


def read_reddit_listing(path: str | Path) -> Iterator[Any]:
    """Children (``{kind, data}``) of a Reddit listing file, nested ``replies`` listings included."""
    yield from read_json_file(path)


def read_csv(path: str | Path) -> Iterator[dict[str, str]]:
    """One dict per CSV row, keyed by the header row."""
    with _open_text(Path(path)) as f:
        yield from csv.DictReader(f)


def read_payloads(path: str | Path, source: str) -> Iterator[Any]:
    """The raw payloads in ``path`` for ``source``, choosing the reader from the path's shape."""
    p = Path(path)
    src = getattr(source, "value", source)
    if p.is_dir():
        if src == "slack":
            return read_slack_export(p)
        if src == "git" or (p / ".git").exists():
            return read_git_repository(p)
        raise ValueError(f"{p} is a directory: only Slack exports and git repositories are read as directories")
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return read_csv(p)
    if name.endswith((".json", ".json.gz")) and not name.endswith((".jsonl", ".ndjson")):
        return read_json_file(p)
    return read_ndjson(p)
