"""Pure parsers: one raw payload → a list of Interactions.

``parse(envelope, parents)`` dispatches on ``envelope.source``; ``parse_payload(source,
payload, network=…)`` does the same without an envelope. A payload that cannot be parsed
raises :class:`ParseError` naming the source, the field path and the record — never any
other exception. Conventions (actor and event ids) are in :mod:`valuenet.ingest.platforms._common`.
"""

from __future__ import annotations

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers.registry import SUPPORTED, parse, parse_payload

__all__ = ["ParseError", "ParentIndex", "SUPPORTED", "parse", "parse_payload"]
