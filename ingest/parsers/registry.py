"""Dispatch one raw envelope to its platform parser; every failure becomes a ParseError."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.platforms import PLATFORMS
from valuenet.ingest.platforms._common import Ctx
from valuenet.schemas.envelope import RawEnvelope, utcnow
from valuenet.schemas.interaction import Interaction, Source

__all__ = ["parse", "parse_payload", "parse_routed", "parser_for", "SUPPORTED"]

ParserFn = Callable[[Ctx, Any, dict[str, str]], list[Interaction]]
_TEXT_OK: set[Source] = set()

_MODULES: dict[Source, str] = {source: p.name for p in PLATFORMS for source in p.sources}
SUPPORTED: frozenset[Source] = frozenset(_MODULES)
_cache: dict[Source, ParserFn] = {}


def parser_for(source: Source) -> ParserFn:
    """The parse function of ``source``'s module (imported on first use)."""
    fn = _cache.get(source)
    if fn is None:
        name = _MODULES.get(source)
        if name is None:
            raise ParseError(str(getattr(source, "value", source)), "source", "no parser for this source")
        module = importlib.import_module(f"valuenet.ingest.platforms.{name}.parse")
        fn = module.parse
        if getattr(module, "ACCEPTS_TEXT", False):
            _TEXT_OK.add(source)
        _cache[source] = fn
    return fn


def parse(envelope: RawEnvelope, parents: ParentIndex | None = None) -> list[Interaction]:
    """Parse one raw envelope into canonical Interactions; raises only ParseError."""
    return parse_routed(envelope, parents)[0]


def parse_routed(envelope: RawEnvelope, parents: ParentIndex | None) -> tuple[list[Interaction], bool]:
    """:func:`parse`, and whether the parent index decided a routing field (thread, parent or id of the
    first interaction, or whether there is one): when False, the interactions route the envelope
    exactly as a parse without a parent index would (``valuenet.ingest.routing``)."""
    out, ctx = _run(
        envelope.source, envelope.payload, envelope.network, envelope.received_at, envelope.headers, parents
    )
    return out, ctx.routed


def parse_payload(
    source: Source | str,
    payload: Any,
    *,
    network: str,
    received_at: Any = None,
    headers: dict[str, str] | None = None,
    parents: ParentIndex | None = None,
) -> list[Interaction]:
    """Parse one payload of ``source`` without building an envelope (replay and benchmark path)."""
    return _run(source, payload, network, received_at, headers, parents)[0]


def _run(
    source: Source | str,
    payload: Any,
    network: str,
    received_at: Any,
    headers: dict[str, str] | None,
    parents: ParentIndex | None,
) -> tuple[list[Interaction], Ctx]:
    """Parse one payload: its interactions and the parse's context; raises only ParseError."""
    if type(source) is Source:
        src = source
    else:
        try:
            src = Source(source)
        except ValueError:
            raise ParseError(str(source), "source", "unknown source") from None
    fn = _cache.get(src) or parser_for(src)
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError) as e:
            if src not in _TEXT_OK:
                raise ParseError(src.value, "<payload>", f"not JSON: {e}"[:300]) from None
            payload = payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")
    ctx = Ctx(src, network, received_at or utcnow(), parents)
    hdrs = {k.lower(): v for k, v in headers.items()} if headers else {}
    try:
        return fn(ctx, payload, hdrs), ctx
    except ParseError:
        raise
    except RecursionError:
        raise ctx.error("<payload>", "nested too deeply") from None
    except Exception as e:
        raise ctx.error("<payload>", f"{type(e).__name__}: {e}"[:300]) from e
