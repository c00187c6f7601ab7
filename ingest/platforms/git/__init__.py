"""git history: the bundled JSONL sample or a local repository read with git log."""
