"""The git/git maintainer's broker rank per year on the FULL history (not read at run time by the product).

Usage::

    .venv/bin/python benchmarks/git_maintainer_rank.py [/work/shared/datasets/git-history-trailers.jsonl.gz]

Reads every commit record (newest first in the file, sorted oldest first here), runs
``valuenet.commands.eval_git.maintainer_ranks`` on them (the real stage, one window per calendar
year) and prints the same table as ``valuenet eval network --git-history`` prints for the bundled
sample. ``docs/silos-and-evaluation.md`` has its output.
"""

from __future__ import annotations

import gzip
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from valuenet.commands.eval_git import git_history_table, maintainer_ranks

FULL = Path("/work/shared/datasets/git-history-trailers.jsonl.gz")


def main(path: Path = FULL) -> None:
    """Print the maintainer's yearly ranks over the full history at ``path``."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    records.sort(key=lambda r: datetime.fromisoformat(r["committed_at"]).astimezone(UTC))
    Console(width=200).print(git_history_table(maintainer_ranks(records), "git/git full history"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FULL)
