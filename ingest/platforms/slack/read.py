"""Slack export directories: every message of ``<channel>/YYYY-MM-DD.json``, with ``channel`` set to the
channel's id from ``channels.json`` (the folder name when absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["read_slack_export"]


def read_slack_export(directory: str | Path) -> Iterator[dict[str, Any]]:
    """Messages of a Slack export directory, oldest day first, each with its ``channel``."""
    root = Path(directory)
    ids: dict[str, str] = {}
    channels_file = root / "channels.json"
    if channels_file.is_file():
        try:
            for ch in json.loads(channels_file.read_text(encoding="utf-8")):
                if isinstance(ch, dict) and isinstance(ch.get("name"), str) and ch.get("id"):
                    ids[ch["name"]] = str(ch["id"])
        except ValueError:
            pass
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        channel = ids.get(folder.name, folder.name)
        for day in sorted(folder.glob("*.json")):
            try:
                messages = json.loads(day.read_text(encoding="utf-8", errors="replace"))
            except ValueError:
                yield {"channel": channel, "export_file": f"{folder.name}/{day.name}", "ts": None}
                continue
            if not isinstance(messages, list):
                messages = [messages]
            for msg in messages:
                if isinstance(msg, dict):
                    yield {**msg, "channel": channel}
                else:
                    yield msg
