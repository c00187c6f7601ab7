"""Reddit: listing JSON (a whole ``Listing``, a ``/comments`` response — an array of the submission's
Listing and the comment Listing, replies nested in ``data.replies`` — or one ``{kind, data}``
child) and dump NDJSON (bare ``data``).

Actors are ``reddit:<username>`` (usernames are permanent; ``author_fullname`` goes to
metadata). Event ids are fullnames: ``t1_…`` (comment), ``t3_…`` (submission);
mentions ``{name}#mention:{actor}``. A comment replies to the author of ``parent_id``
(remembered; unknown → no target). A submission with ``crosspost_parent`` is a repost.
Items by ``[deleted]`` authors yield nothing (no attributable actor).
"""

from __future__ import annotations

import re
from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, make, mentions_of, opt_str, req, req_str, unix_ts
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]

_USER = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})\b")
_GONE = frozenset({"[deleted]", "[removed]", ""})


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One listing, ``/comments`` response (an array of two listings), child or dump record → interactions."""
    if isinstance(payload, list):  # GET /r/{sub}/comments/{id}: [submission listing, comment listing]
        out: list[Interaction] = []
        for i, part in enumerate(payload):
            if not isinstance(part, dict):
                raise ctx.error(f"[{i}]", f"expected a Listing object, got {type(part).__name__}")
            out += _listing(ctx, part, f"[{i}].") if part.get("kind") == "Listing" else _child(ctx, part)
        return out
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object or an array of Listings, got {type(payload).__name__}")
    if payload.get("kind") == "Listing":
        return _listing(ctx, payload, "")
    return _child(ctx, payload)


_MAX_DEPTH = 200


def _listing(ctx: Ctx, listing: dict[str, Any], prefix: str, depth: int = 0) -> list[Interaction]:
    """The children of a Listing, parents before replies (nested ``replies`` listings included)."""
    ctx.prefix = prefix
    children = get(ctx, listing, "data.children")
    if not isinstance(children, list):
        raise ctx.error("data.children", "expected a list")
    if depth > _MAX_DEPTH:
        raise ctx.error("data.children", f"replies nested deeper than {_MAX_DEPTH} levels")
    out: list[Interaction] = []
    for i, child in enumerate(children):
        path = f"{prefix}data.children[{i}]."
        ctx.prefix = path
        out += _child(ctx, child)
        replies = child.get("data", {}).get("replies") if isinstance(child, dict) else None
        if isinstance(replies, dict) and replies.get("kind") == "Listing":
            out += _listing(ctx, replies, path + "data.replies.", depth + 1)
    return out


def _child(ctx: Ctx, child: Any) -> list[Interaction]:
    if not isinstance(child, dict):
        raise ctx.error("<payload>" if not ctx.prefix else "", "expected an object")
    if "kind" in child and "data" in child:
        kind, data = child["kind"], child["data"]
        if not isinstance(data, dict):
            raise ctx.error("data", "expected an object")
        ctx.prefix += "data."
    else:
        data = child
        name = data.get("name")
        kind = name[:2] if isinstance(name, str) else ("t1" if "body" in data else "t3")
    if kind == "t1":
        return _comment(ctx, data)
    if kind == "t3":
        return _submission(ctx, data)
    return []  # t2 accounts, t5 subreddits, more, …


def _name(ctx: Ctx, data: dict[str, Any], prefix: str) -> str:
    name = data.get("name")
    if isinstance(name, str) and name:
        return name
    return prefix + req_str(ctx, data, "id")


def _author(ctx: Ctx, data: dict[str, Any]) -> str | None:
    author = req(ctx, data, "author")
    if not isinstance(author, str):
        raise ctx.error("author", "expected a string")
    return None if author in _GONE else "reddit:" + author


def _meta(data: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key in ("author_fullname", "subreddit_id", "score"):
        v = data.get(key)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            meta[key] = v
    return meta


def _mentions(text: str | None) -> list[str]:
    if not text or "u/" not in text:
        return []
    return ["reddit:" + m.group(1) for m in _USER.finditer(text)]


def _url(ctx: Ctx, data: dict[str, Any]) -> str | None:
    link = opt_str(ctx, data, "permalink")
    return "https://www.reddit.com" + link if link and link.startswith("/") else link


def _comment(ctx: Ctx, data: dict[str, Any]) -> list[Interaction]:
    name = _name(ctx, data, "t1_")
    ctx.record = name
    ts = unix_ts(ctx, req(ctx, data, "created_utc"), "created_utc")
    parent = req_str(ctx, data, "parent_id")
    actor = _author(ctx, data)
    if actor is None:
        return []
    ctx.remember(name, actor)
    text = opt_str(ctx, data, "body")
    common: dict[str, Any] = {"channel": opt_str(ctx, data, "subreddit"), "thread": opt_str(ctx, data, "link_id")}
    out = [
        make(
            ctx,
            name,
            Kind.reply,
            ts,
            actor,
            ctx.author_of(parent),
            parent_id=parent,
            text=text,
            url=_url(ctx, data),
            metadata=_meta(data),
            **common,
        )
    ]
    out += mentions_of(ctx, out[0], _mentions(text))
    return out


def _submission(ctx: Ctx, data: dict[str, Any]) -> list[Interaction]:
    name = _name(ctx, data, "t3_")
    ctx.record = name
    ts = unix_ts(ctx, req(ctx, data, "created_utc"), "created_utc")
    actor = _author(ctx, data)
    if actor is None:
        return []
    ctx.remember(name, actor)
    title, body = opt_str(ctx, data, "title"), opt_str(ctx, data, "selftext")
    text = "\n\n".join(p for p in (title, body) if p) or None
    common: dict[str, Any] = {"channel": opt_str(ctx, data, "subreddit"), "thread": name, "url": _url(ctx, data)}
    cross = opt_str(ctx, data, "crosspost_parent")
    if cross:
        original = get(ctx, data, "crosspost_parent_list")
        oauthor = (
            original[0].get("author")
            if isinstance(original, list) and original and isinstance(original[0], dict)
            else None
        )
        target = "reddit:" + oauthor if isinstance(oauthor, str) and oauthor not in _GONE else ctx.author_of(cross)
        return [
            make(ctx, name, Kind.repost, ts, actor, target, parent_id=cross, text=text, metadata=_meta(data), **common)
        ]
    out = [make(ctx, name, Kind.post, ts, actor, None, text=text, metadata=_meta(data), **common)]
    out += mentions_of(ctx, out[0], _mentions(text))
    return out
