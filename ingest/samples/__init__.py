"""Bundled sample data: a slice of the git/git history with its collaboration trailers.

``git-history-sample.jsonl.gz`` holds the most recent 3000 commits of git/git that carry a
trailer other than Signed-off-by, plus the commit just before and just after each of them
(5,707 commits), oldest first — the order a stream replays them in — in the bundled JSONL shape. Rebuild it with
``python -m valuenet.ingest.samples /work/shared/datasets/git-history-trailers.jsonl.gz``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["GIT_SAMPLE", "git_sample", "build_git_sample"]

GIT_SAMPLE = Path(__file__).with_name("git-history-sample.jsonl.gz")


def git_sample() -> Iterator[dict[str, Any]]:
    """The bundled commit records, oldest first (by commit time)."""
    with gzip.open(GIT_SAMPLE, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _credited(line: str) -> bool:
    return any(t.get("key", "").lower() != "signed-off-by" for t in json.loads(line).get("trailers") or [])


def _commit_time(line: str) -> datetime:
    return datetime.fromisoformat(json.loads(line)["committed_at"]).astimezone(UTC)


def build_git_sample(source: Path, dest: Path = GIT_SAMPLE, credited: int = 3000) -> int:
    """Write the sample slice of ``source`` (full history JSONL.gz, newest first) to ``dest``; returns its size."""
    lines: list[str] = []
    hits: list[int] = []
    with gzip.open(source, "rt", encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            if _credited(line):
                hits.append(len(lines) - 1)
                if len(hits) == credited:
                    lines.append(next(f, ""))
                    break
    keep = sorted({j for i in hits for j in (i - 1, i, i + 1) if 0 <= j < len(lines) and lines[j]})
    chosen = sorted((lines[j] for j in keep), key=_commit_time)
    with open(dest, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write("".join(chosen).encode("utf-8"))
    return len(keep)
