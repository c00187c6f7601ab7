"""Local git repositories: commit records through ``git log`` (and the repository's ``.mailmap``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from valuenet.ingest.platforms.git.parse import read_repository

__all__ = ["read_git_repository"]


def read_git_repository(directory: str | Path, *, max_count: int | None = None) -> Iterator[dict[str, Any]]:
    """Commit records of a local git repository (the newest ``max_count``), oldest first, as a stream replays them."""
    yield from reversed(list(read_repository(directory, max_count=max_count)))
