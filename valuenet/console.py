"""Rich consoles for the commands: terminal width on a terminal, no wrapping in logs and pipes."""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["make_console", "LOG_WIDTH"]

# Wide enough for every table the CLI prints; text is never wrapped mid-sentence off a terminal.
LOG_WIDTH = 200


def make_console(stderr: bool = False) -> Console:
    """A Console for ``stdout`` (or ``stderr``): wraps to the terminal on a TTY, else soft-wraps at LOG_WIDTH."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else LOG_WIDTH
    return Console(stderr=stderr, width=width, soft_wrap=True)  # tables fit ``width``; text never wraps
