"""Pure parsers: one raw payload → a list of Interactions.

``parse(envelope, parents)`` dispatches on ``envelope.source``. A payload that
cannot be parsed raises :class:`ParseError` naming the field.
"""

from __future__ import annotations

from ingest.errors import ParseError
from ingest.parents import ParentIndex

__all__ = ["ParseError", "ParentIndex", "parse"]


def parse(envelope, parents: ParentIndex | None = None):  # noqa: ANN001 - filled by the connectors work
    """Parse one raw envelope into canonical Interactions (placeholder until the connectors land)."""
    from ingest.parsers.registry import parse as _parse

    return _parse(envelope, parents)
