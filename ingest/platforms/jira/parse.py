"""Jira and Confluence webhooks (source ``jira`` or ``confluence``).

Jira: actors ``jira:<accountId>`` (Cloud; Jira Server/Data Center has no accountId: its
``name``, ``key`` or the ``username`` of the user's ``self`` URL, matching Server's
``[~username]`` mentions; ``emailAddress`` goes to ``metadata["email"]`` for the directory);
timestamps are ISO 8601 (``+0300`` offsets) or Server's ``2018-1-11 13:08:04,225``; ``jira:issue_created`` → post ``issue:{key}``;
``comment_created`` → reply ``comment:{id}`` to the issue's reporter (else creator), plus a
mention per ``[~accountid:…]`` in wiki text or ADF ``mention`` node (``attrs.id``);
``comment_updated`` → edit; ``comment_deleted`` → delete.
Confluence: actors ``confluence:<accountId>``; ``page_created`` → post ``page:{id}``;
``comment_created`` → reply ``comment:{id}`` to the parent comment's author (remembered)
else the page creator. Time is the body's ``timestamp`` (ms) when an item time is absent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from valuenet.ingest.platforms._common import (
    Ctx,
    get,
    id_str,
    iso_ts,
    make,
    mentions_of,
    opt_id,
    opt_str,
    req,
    unix_ts,
)
from valuenet.schemas.interaction import Interaction, Kind, Source

__all__ = ["parse"]

_WIKI_MENTION = re.compile(r"\[~(?:accountid:)?([A-Za-z0-9:_.@-]+)\]")  # Cloud [~accountid:…], Server [~username]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One Jira or Confluence webhook body → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    if ctx.source is Source.confluence:
        return _confluence(ctx, payload)
    event = payload.get("webhookEvent")
    if not isinstance(event, str):
        raise ctx.error("webhookEvent", "missing or not a string")
    if event == "jira:issue_created":
        return _issue(ctx, payload)
    if event in ("comment_created", "comment_updated", "comment_deleted"):
        return _comment(ctx, payload, event)
    return []


def _fallback_ts(ctx: Ctx, body: dict[str, Any]) -> Any:
    t = body.get("timestamp")
    if t is None:
        return ctx.received_at
    if isinstance(t, str) and not t.isdigit():
        return _server_ts(ctx, t, "timestamp")
    return unix_ts(ctx, t, "timestamp", scale=1000.0)


def _server_ts(ctx: Ctx, value: str, path: str) -> datetime:
    """Jira Server's ``2018-1-11 13:08:04,225`` (server-local time, taken as UTC) or any ISO 8601 form."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
    except ValueError:
        return iso_ts(ctx, value, path)


def _ts(ctx: Ctx, value: Any, path: str) -> datetime:
    """An item time: ISO 8601 (``+0300`` offsets too) or Jira Server's comma form."""
    if isinstance(value, str) and "," in value:
        return _server_ts(ctx, value, path)
    return iso_ts(ctx, value, path)


def _acct(ctx: Ctx, obj: Any, path: str) -> str | None:
    """``<source>:<accountId>`` (Cloud), else Jira Server's ``name`` / ``key`` / ``self?username=``."""
    user = get(ctx, obj, path.rpartition(".")[0]) if path.endswith(".accountId") else None
    v = opt_id(ctx, obj, path)
    if v:
        return f"{ctx.src}:{v}"
    if not isinstance(user, dict):
        return None
    for key in ("name", "key"):
        name = user.get(key)
        if isinstance(name, str) and name:
            return f"{ctx.src}:{name}"
    url = user.get("self")
    if isinstance(url, str) and "username=" in url:
        name = parse_qs(urlsplit(url).query).get("username", [""])[0]
        if name:
            return f"{ctx.src}:{name}"
    return None


def _who(ctx: Ctx, obj: Any, path: str) -> dict[str, Any]:
    """Display name and e-mail (for the identity directory) of the user object at ``path``."""
    user = get(ctx, obj, path)
    if not isinstance(user, dict):
        return {}
    out: dict[str, Any] = {}
    name, email = user.get("displayName"), user.get("emailAddress")
    if isinstance(name, str) and name:
        out["actor_name"] = name
    if isinstance(email, str) and "@" in email:
        out["actor_domain"] = email.rpartition("@")[2].lower()
        out["metadata"] = {"email": email}
    return out


def _adf_text_and_mentions(node: Any) -> tuple[str, list[str]]:
    texts: list[str] = []
    ids: list[str] = []
    stack = [node]
    budget = 20_000
    while stack and budget:
        budget -= 1
        n = stack.pop()
        if isinstance(n, dict):
            if (
                n.get("type") == "mention"
                and isinstance(n.get("attrs"), dict)
                and isinstance(n["attrs"].get("id"), str)
            ):
                ids.append(n["attrs"]["id"])
            elif n.get("type") == "text" and isinstance(n.get("text"), str):
                texts.append(n["text"])
            content = n.get("content")
            if isinstance(content, list):
                stack.extend(reversed(content))
    return " ".join(texts), ids


def _body(body: Any) -> tuple[str | None, list[str]]:
    if isinstance(body, str):
        return body, _WIKI_MENTION.findall(body)
    if isinstance(body, dict):
        return _adf_text_and_mentions(body)
    return None, []


def _issue(ctx: Ctx, body: dict[str, Any]) -> list[Interaction]:
    key = req(ctx, body, "issue.key")
    ctx.record = str(key)
    actor = (
        _acct(ctx, body, "issue.fields.creator.accountId")
        or _acct(ctx, body, "issue.fields.reporter.accountId")
        or _acct(ctx, body, "user.accountId")
    )
    if actor is None:
        raise ctx.error("issue.fields.creator.accountId", "missing")
    created = get(ctx, body, "issue.fields.created")
    ts = _ts(ctx, created, "issue.fields.created") if created is not None else _fallback_ts(ctx, body)
    base = f"issue:{key}"
    ctx.remember(base, actor)
    text, ids = _body(get(ctx, body, "issue.fields.description"))
    summary = opt_str(ctx, body, "issue.fields.summary")
    common: dict[str, Any] = {"channel": opt_str(ctx, body, "issue.fields.project.key"), "thread": base}
    who = _who(ctx, body, "issue.fields.creator") or _who(ctx, body, "user")
    out = [
        make(
            ctx,
            base,
            Kind.post,
            ts,
            actor,
            None,
            text="\n\n".join(p for p in (summary, text) if p) or None,
            **who,
            **common,
        )
    ]
    out += mentions_of(ctx, out[0], [f"{ctx.src}:{i}" for i in ids])
    return out


def _comment(ctx: Ctx, body: dict[str, Any], event: str) -> list[Interaction]:
    cid = id_str(ctx, body, "comment.id")
    ctx.record = f"comment:{cid}"
    actor = _acct(ctx, body, "comment.author.accountId")
    if actor is None:
        raise ctx.error("comment.author.accountId", "missing")
    key = opt_id(ctx, body, "issue.key")
    base = f"comment:{cid}"
    common: dict[str, Any] = {
        "channel": opt_str(ctx, body, "issue.fields.project.key"),
        "thread": f"issue:{key}" if key else None,
    }
    if event == "comment_deleted":
        return [
            make(ctx, base + "#delete", Kind.delete, _fallback_ts(ctx, body), actor, None, parent_id=base, **common)
        ]
    if event == "comment_updated":
        ts = _ts(ctx, get(ctx, body, "comment.updated"), "comment.updated")
        return [make(ctx, f"{base}#edit@{ts.isoformat()}", Kind.edit, ts, actor, None, parent_id=base, **common)]
    created = get(ctx, body, "comment.created")
    ts = _ts(ctx, created, "comment.created") if created is not None else _fallback_ts(ctx, body)
    target = (
        _acct(ctx, body, "issue.fields.reporter.accountId")
        or _acct(ctx, body, "issue.fields.creator.accountId")
        or (ctx.author_of(f"issue:{key}") if key else None)
    )
    text, ids = _body(get(ctx, body, "comment.body"))
    out = [
        make(
            ctx,
            base,
            Kind.reply,
            ts,
            actor,
            target,
            parent_id=f"issue:{key}" if key else None,
            text=text,
            **_who(ctx, body, "comment.author"),
            **common,
        )
    ]
    out += mentions_of(ctx, out[0], [f"{ctx.src}:{i}" for i in ids])
    return out


def _confluence(ctx: Ctx, body: dict[str, Any]) -> list[Interaction]:
    actor = _acct(ctx, body, "userAccountId")
    if actor is None:
        raise ctx.error("userAccountId", "missing")
    ts = unix_ts(ctx, req(ctx, body, "timestamp"), "timestamp", scale=1000.0)
    event = body.get("event") or body.get("webhookEvent")
    page_id = opt_id(ctx, body, "page.id") or opt_id(ctx, body, "comment.container.id")
    page = f"page:{page_id}" if page_id else None
    space = opt_str(ctx, body, "page.spaceKey") or opt_str(ctx, body, "comment.spaceKey")
    if "comment" in body and event != "page_created":
        cid = id_str(ctx, body, "comment.id")
        base = f"comment:{cid}"
        ctx.record = base
        ctx.remember(base, actor)
        parent_cid = opt_id(ctx, body, "comment.parent.id")
        parent: str | None
        if parent_cid:
            parent = f"comment:{parent_cid}"
            target = _acct(ctx, body, "comment.parent.creatorAccountId") or ctx.author_of(parent)
        else:
            parent = page
            target = (
                _acct(ctx, body, "page.creatorAccountId")
                or _acct(ctx, body, "comment.container.creatorAccountId")
                or ctx.author_of(page)
            )
        return [make(ctx, base, Kind.reply, ts, actor, target, channel=space, thread=page, parent_id=parent)]
    if page is None:
        raise ctx.error("page.id", "missing")
    ctx.record = page
    creator = _acct(ctx, body, "page.creatorAccountId") or actor
    ctx.remember(page, creator)
    if event in ("page_updated",):
        return [make(ctx, f"{page}#edit@{ts.isoformat()}", Kind.edit, ts, actor, None, channel=space, parent_id=page)]
    return [
        make(ctx, page, Kind.post, ts, creator, None, channel=space, thread=page, text=opt_str(ctx, body, "page.title"))
    ]
