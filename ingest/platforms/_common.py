"""Shared helpers of the parsers: field access naming the path, timestamps, fast Interaction construction.

Conventions every parser follows:

- ``actor`` / ``target`` ids are ``"<source>:<account key>"``: the key is the handle that the
  platform's mentions use where mentions are by name (GitHub login, Discourse and Reddit
  username, git author name: ``github:octocat``, ``git:Ada Lovelace``) and the platform's
  stable account id elsewhere (``slack:U024BE7LH``, ``mastodon:1001``, ``bluesky:did:plc:…``,
  ``x:2244994945``, ``teams:<AAD id>``, ``jira:<accountId>``, ``zendesk:<user id>``);
  display names go to ``actor_name``.
- a mention inside a post or reply is its own ``mention`` interaction (target = the mentioned
  actor) carrying the item's text and ``metadata["in"]`` (the item's kind): it is classified as
  the item, so the mentioned person receives the item's flow (:func:`mention_events`).
- event ids are the platform's id of the item (``commit hash``, tweet id, ``at://`` uri, …);
  interactions derived from one item append a suffix: ``{base}#reply``,
  ``{base}#mention:{uid}``, ``{base}#quote``, ``{base}#{trailer index}``.
- timestamps are timezone-aware UTC.
- any malformed field raises :class:`ParseError` with its dotted path (``event.ts``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.schemas.interaction import Interaction, Kind, Source
from valuenet.schemas.trusted import builder

__all__ = [
    "UTC",
    "Ctx",
    "get",
    "req",
    "req_str",
    "opt_str",
    "id_str",
    "opt_id",
    "as_id",
    "iso_ts",
    "unix_ts",
    "make",
    "mentions_at",
    "mention_events",
    "mentions_of",
    "hostname",
    "build",
]

UTC = UTC
_SPLIT: dict[str, tuple[str, ...]] = {}
_build = builder(Interaction)
build = _build  # an Interaction from a complete values dict (a copy of ``Ctx.template`` with its fields set)
_TEMPLATES: dict[tuple[Source, str], dict[str, Any]] = {}  # (source, network) → an Interaction's values, all unset


def _template(source: Source, network: str) -> dict[str, Any]:
    """The values every Interaction of ``source`` in ``network`` starts from (field order of the model)."""
    t = _TEMPLATES.get((source, network))
    if t is None:
        if len(_TEMPLATES) >= 4096:
            _TEMPLATES.clear()
        t = _TEMPLATES[(source, network)] = dict.fromkeys(Interaction.model_fields)
        t.update(schema_version=1, network=network, source=source)
    return t


_AT_MENTION = re.compile(r"(?<![\w@/.`])@([A-Za-z0-9](?:[A-Za-z0-9_.-]{0,58}[A-Za-z0-9_])?)(?![\w-]*[/@]\w)")


class Ctx:
    """What one parse call knows besides the payload: source, network, receive time, parent index."""

    __slots__ = ("source", "src", "network", "received_at", "parents", "record", "prefix", "template", "routed")

    def __init__(
        self,
        source: Source,
        network: str,
        received_at: datetime,
        parents: ParentIndex | None,
        record: str | None = None,
    ) -> None:
        self.source = source
        self.src = source.value
        self.network = network
        tz = received_at.tzinfo
        if tz is not UTC:
            received_at = (received_at if tz else received_at.replace(tzinfo=UTC)).astimezone(UTC)
        self.received_at = received_at
        self.parents = parents
        self.record = record
        self.prefix = ""  # path of the object being parsed inside the payload, e.g. "event."
        self.template = _template(source, network)
        self.routed = False  # a parent-index lookup decided a routing field (see route_lookup)

    def error(self, field: str, reason: str) -> ParseError:
        """A ParseError for ``field`` (relative to ``prefix``) of the current record."""
        if self.prefix and not field.startswith("<"):
            field = self.prefix + field
        return ParseError(self.src, field, reason, self.record)

    def uid(self, raw: Any) -> str:
        """A platform account id as ``<source>:<id>``."""
        return f"{self.src}:{raw}"

    def remember(self, item_id: str | None, author: str | None) -> None:
        """Record the author of an item for later reply lookups."""
        if self.parents is not None and item_id and author:
            self.parents.remember(f"{self.src}:{item_id}", author)

    def author_of(self, item_id: str | None) -> str | None:
        """The remembered author of an item, or None."""
        if self.parents is None or not item_id:
            return None
        return self.parents.author_of(f"{self.src}:{item_id}")

    def route_lookup(self, item_id: str) -> str | None:
        """:meth:`author_of` for a lookup that decides what routes the payload (its first interaction's
        thread, parent or id, or whether there is one): a hit marks the parse ``routed``, so a
        connector that parsed with a parent index knows the key needs a parse without one."""
        found = self.author_of(item_id)
        if found is not None:
            self.routed = True
        return found


def _parts(path: str) -> tuple[str, ...]:
    parts = _SPLIT.get(path)
    if parts is None:
        if len(_SPLIT) >= 4096:  # paths are the parsers' literals; bounded all the same
            _SPLIT.clear()
        parts = _SPLIT[path] = tuple(path.split("."))
    return parts


def get(ctx: Ctx, obj: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``obj`` or None when any step is absent; ParseError on a non-object step."""
    parts = _SPLIT.get(path) or _parts(path)
    cur = obj
    for part in parts:
        if type(cur) is dict:
            cur = cur.get(part)
        elif cur is None:
            return None
        else:
            return _get_checked(ctx, obj, parts)
    return cur


def _get_checked(ctx: Ctx, obj: Any, parts: tuple[str, ...]) -> Any:
    """:func:`get` for paths through something other than plain dicts: dict subclasses, or the error."""
    cur = obj
    for n, part in enumerate(parts):
        if cur is None:
            return None
        if not isinstance(cur, dict):
            raise ctx.error(".".join(parts[:n]) or "<payload>", f"expected an object, got {type(cur).__name__}")
        cur = cur.get(part)
    return cur


def req(ctx: Ctx, obj: Any, path: str) -> Any:
    """The value at ``path``; ParseError naming the path when absent or null."""
    v = get(ctx, obj, path)
    if v is None:
        raise ctx.error(path, "missing")
    return v


def req_str(ctx: Ctx, obj: Any, path: str) -> str:
    """A non-empty string at ``path``."""
    v = get(ctx, obj, path)
    if type(v) is str and v:
        return v
    if v is None:
        raise ctx.error(path, "missing")
    if not isinstance(v, str):
        raise ctx.error(path, f"expected a string, got {type(v).__name__}")
    if not v:
        raise ctx.error(path, "empty string")
    return v


def opt_str(ctx: Ctx, obj: Any, path: str) -> str | None:
    """A string at ``path`` or None; ParseError if present but not a string."""
    v = get(ctx, obj, path)
    if v is None or type(v) is str:
        return v
    if not isinstance(v, str):
        raise ctx.error(path, f"expected a string, got {type(v).__name__}")
    return v


def id_str(ctx: Ctx, obj: Any, path: str) -> str:
    """A required id (string or integer) at ``path``, as a string."""
    v = req(ctx, obj, path)
    return _as_id(ctx, v, path)


def opt_id(ctx: Ctx, obj: Any, path: str) -> str | None:
    """An optional id (string or integer) at ``path``, as a string."""
    v = get(ctx, obj, path)
    if v is None:
        return None
    return _as_id(ctx, v, path)


def as_id(ctx: Ctx, v: Any, path: str) -> str:
    """A present id value (string or integer) as a string; ParseError naming ``path`` otherwise."""
    return _as_id(ctx, v, path)


def _as_id(ctx: Ctx, v: Any, path: str) -> str:
    if isinstance(v, bool):
        raise ctx.error(path, "expected an id, got bool")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str) and v and len(v) <= 200:
        return v
    if isinstance(v, str):
        raise ctx.error(path, "empty or over-long id")
    raise ctx.error(path, f"expected an id, got {type(v).__name__}")


def iso_ts(ctx: Ctx, value: Any, path: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or offset; naive means UTC) as aware UTC."""
    if not isinstance(value, str):
        if value is None:
            raise ctx.error(path, "missing")
        raise ctx.error(path, f"expected an ISO 8601 string, got {type(value).__name__}")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ctx.error(path, f"not an ISO 8601 timestamp: {value[:40]!r}") from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.tzinfo is UTC:
        return dt
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ctx.error(path, f"timestamp out of range: {value[:40]!r}") from None


def unix_ts(ctx: Ctx, value: Any, path: str, scale: float = 1.0) -> datetime:
    """A unix timestamp (number or numeric string, in seconds × ``scale``) as aware UTC."""
    if isinstance(value, bool) or value is None:
        raise ctx.error(path, "missing" if value is None else "expected a unix timestamp, got bool")
    try:
        if scale == 1.0 and isinstance(value, str) and "." in value:  # exact "seconds.micro" (Slack ts)
            sec, _, frac = value.partition(".")
            if sec.isdigit() and frac.isdigit():
                return datetime.fromtimestamp(int(sec), UTC).replace(microsecond=int(frac[:6].ljust(6, "0")))
        seconds = float(value) / scale
        if seconds != seconds:
            raise ValueError("NaN")
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ctx.error(path, f"not a unix timestamp: {str(value)[:40]!r}") from None


def hostname(url: str) -> str | None:
    """``urlsplit(url).hostname``, computed once per ``http(s)://host`` prefix (profile and status URLs
    of one instance share it)."""
    if url.startswith("https://"):
        end = url.find("/", 8)
    elif url.startswith("http://"):
        end = url.find("/", 8)  # the netloc starts at 7; a '/' there means an empty one, kept in the prefix
    else:
        end = -1
    return _hostname(url if end < 0 else url[:end])


@lru_cache(maxsize=4096)
def _hostname(prefix: str) -> str | None:
    return urlsplit(prefix).hostname


def mentions_at(text: str | None) -> list[str]:
    """Distinct ``@login`` handles in ``text``, in order of appearance (e-mail addresses excluded)."""
    if not text or "@" not in text:
        return []
    seen: dict[str, None] = {}
    for m in _AT_MENTION.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def make(
    ctx: Ctx,
    event_id: str,
    kind: Kind,
    timestamp: datetime,
    actor: str,
    target: str | None = None,
    *,
    channel: str | None = None,
    thread: str | None = None,
    parent_id: str | None = None,
    text: str | None = None,
    url: str | None = None,
    language: str | None = None,
    actor_name: str | None = None,
    actor_domain: str | None = None,
    actor_followers: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Interaction:
    """An Interaction built without pydantic validation; the checks the model would make are done here."""
    if not event_id or len(event_id) > 512:
        raise ctx.error("<event id>", "empty or over 512 characters")
    if not actor or len(actor) > 256:
        raise ctx.error("<actor>", "empty or over 256 characters")
    if timestamp.tzinfo is None:  # pragma: no cover - helpers always return aware datetimes
        raise ctx.error("<timestamp>", "naive timestamp")
    d = ctx.template.copy()
    d["event_id"] = event_id
    d["kind"] = kind
    d["timestamp"] = timestamp
    d["actor"] = actor
    if target is not None:
        d["target"] = target
    if channel is not None:
        d["channel"] = channel
    if thread is not None:
        d["thread"] = thread
    if parent_id is not None:
        d["parent_id"] = parent_id
    if text is not None:
        d["text"] = text
    if url is not None:
        d["url"] = url
    if language is not None:
        d["language"] = language
    if actor_name is not None:
        d["actor_name"] = actor_name
    if actor_domain is not None:
        d["actor_domain"] = actor_domain
    if actor_followers is not None and isinstance(actor_followers, int) and actor_followers >= 0:
        d["actor_followers"] = actor_followers
    d["metadata"] = metadata if metadata is not None else {}
    return _build(d)


def mention_events(
    ctx: Ctx,
    base_id: str,
    timestamp: datetime,
    actor: str,
    targets: list[str],
    *,
    of: Kind = Kind.post,
    text: str | None = None,
    skip: str | None = None,
    metadata: dict[str, Any] | None = None,
    **common: Any,
) -> list[Interaction]:
    """One ``mention`` interaction per distinct target, id ``{base}#mention:{target}``.

    Each carries the text of the item it sits in and ``metadata["in"]`` = that item's kind
    (``of``), so the classifier gives the mentioned person the item's flow. Self-mentions and
    ``skip`` (the target of the reply the mention sits in: a reply to A that mentions A counts
    once) are left out.
    """
    out: list[Interaction] = []
    seen: set[str] = set()
    meta = {**metadata, "in": of._value_} if metadata else {"in": of._value_}
    for t in targets:
        if t == actor or t == skip or t in seen:
            continue
        seen.add(t)
        out.append(
            make(ctx, f"{base_id}#mention:{t}", Kind.mention, timestamp, actor, t, text=text, metadata=meta, **common)
        )
    return out


def mentions_of(ctx: Ctx, item: Interaction, targets: list[str]) -> list[Interaction]:
    """:func:`mention_events` for the mentions inside ``item`` (a post, reply, review, …): its text,
    kind, metadata, channel, thread and author facts; the reply's own target is not mentioned twice."""
    if not targets:
        return []
    meta = item.metadata
    if meta and ("to_bot" in meta or "target_kind" in meta):  # a reply to a bot may still mention people
        meta = {k: v for k, v in meta.items() if k != "to_bot" and k != "target_kind"}
    return mention_events(
        ctx,
        item.event_id,
        item.timestamp,
        item.actor,
        targets,
        of=item.kind,
        text=item.text,
        skip=item.target,
        metadata=meta,
        channel=item.channel,
        thread=item.thread,
        parent_id=item.event_id,
        url=item.url,
        language=item.language,
        actor_name=item.actor_name,
        actor_domain=item.actor_domain,
        actor_followers=item.actor_followers,
    )
