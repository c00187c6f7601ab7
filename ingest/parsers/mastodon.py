"""Mastodon: Status and Notification entities, WebSocket streaming frames and SSE ``event:/data:`` text.

Actors are ``mastodon:<account id>`` (``acct`` goes to ``actor_name``, ``followers_count`` to
``actor_followers``). Event ids: ``status:{id}`` (a boost is the boosting status's id),
``status:{id}#quote``, ``status:{id}#mention:{actor}``, ``status:{id}#edit@{edited_at}``,
``status:{id}#delete``, ``notification:{id}``. Streaming frames
``{"event", "payload": "<JSON string>"}`` are decoded twice. A ``follow`` notification
targets the authenticated account, named by the ``x-mastodon-account-id`` header when the
stream connector sets it. Deletes of never-seen statuses yield nothing (no actor).
"""

from __future__ import annotations

import json
from typing import Any

from valuenet.ingest.parsers._common import Ctx, get, id_str, iso_ts, make, mention_events, opt_id, opt_str, req
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse", "ACCEPTS_TEXT"]

ACCEPTS_TEXT = True  # SSE text frames arrive as raw strings


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One entity, streaming frame or SSE block → interactions."""
    if isinstance(payload, str):
        payload = _sse(ctx, payload)
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    if "event" in payload and "payload" in payload:
        return _frame(ctx, payload, headers)
    if "type" in payload and "account" in payload and "content" not in payload:
        return _notification(ctx, payload, headers)
    return _status(ctx, payload)


def _sse(ctx: Ctx, text: str) -> dict[str, Any]:
    event, data = None, []
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if event is None:
        raise ctx.error("<payload>", "not JSON and not an SSE block (no 'event:' line)")
    return {"event": event, "payload": "\n".join(data)}


def _frame(ctx: Ctx, frame: dict[str, Any], headers: dict[str, str]) -> list[Interaction]:
    event = frame.get("event")
    if not isinstance(event, str):
        raise ctx.error("event", f"expected a string, got {type(event).__name__}")
    raw = frame.get("payload")
    if event == "delete":
        sid = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
        if not sid:
            raise ctx.error("payload", "expected the deleted status id")
        actor = ctx.author_of(f"status:{sid}")
        if actor is None:
            return []
        return [make(ctx, f"status:{sid}#delete", Kind.delete, ctx.received_at, actor, None, parent_id=f"status:{sid}")]
    if event not in ("update", "notification", "status.update"):
        return []  # filters_changed, announcement, conversation, …
    if isinstance(raw, str):
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise ctx.error("payload", f"not a JSON string: {e}") from None
    else:
        body = raw
    if not isinstance(body, dict):
        raise ctx.error("payload", "expected a JSON object")
    ctx.prefix = "payload."
    if event == "notification":
        return _notification(ctx, body, headers)
    if event == "status.update":
        sid = id_str(ctx, body, "id")
        actor = _account(ctx, body, "account")
        ts = iso_ts(ctx, body.get("edited_at") or body.get("created_at"), "edited_at")
        return [
            make(
                ctx,
                f"status:{sid}#edit@{ts.isoformat()}",
                Kind.edit,
                ts,
                actor,
                None,
                parent_id=f"status:{sid}",
                text=opt_str(ctx, body, "content"),
            )
        ]
    return _status(ctx, body)


def _account(ctx: Ctx, obj: Any, path: str) -> str:
    return "mastodon:" + id_str(ctx, obj, path + ".id")


def _status(ctx: Ctx, st: dict[str, Any]) -> list[Interaction]:
    sid = id_str(ctx, st, "id")
    ctx.record = ctx.record or sid
    actor = "mastodon:" + id_str(ctx, st, "account.id")
    ts = iso_ts(ctx, st.get("created_at"), "created_at")
    base = f"status:{sid}"
    followers = get(ctx, st, "account.followers_count")
    who: dict[str, Any] = {
        "actor_name": opt_str(ctx, st, "account.acct"),
        "actor_followers": followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
    }
    reblog = st.get("reblog")
    if isinstance(reblog, dict):
        rid = id_str(ctx, st, "reblog.id")
        target = "mastodon:" + id_str(ctx, st, "reblog.account.id")
        ctx.remember(f"status:{rid}", target)
        return [
            make(
                ctx,
                base,
                Kind.repost,
                ts,
                actor,
                target,
                parent_id=f"status:{rid}",
                thread=f"status:{rid}",
                url=opt_str(ctx, st, "reblog.url"),
                **who,
            )
        ]
    ctx.remember(base, actor)
    reply_to = opt_id(ctx, st, "in_reply_to_id")
    parent = f"status:{reply_to}" if reply_to else None
    root = ctx.author_of(f"thread:{parent}") if parent and ctx.parents is not None else None
    thread = root or parent or base
    if ctx.parents is not None:
        ctx.parents.remember(f"mastodon:thread:{base}", thread)
    common: dict[str, Any] = {
        "thread": thread,
        "url": opt_str(ctx, st, "url"),
        "language": opt_str(ctx, st, "language"),
    }
    text = opt_str(ctx, st, "content")
    if reply_to:
        acc = opt_id(ctx, st, "in_reply_to_account_id")
        target = "mastodon:" + acc if acc else ctx.author_of(parent)
        out = [make(ctx, base, Kind.reply, ts, actor, target, parent_id=parent, text=text, **who, **common)]
    else:
        out = [make(ctx, base, Kind.post, ts, actor, None, text=text, **who, **common)]
    quoted = get(ctx, st, "quote.quoted_status")
    if isinstance(quoted, dict):
        qid = id_str(ctx, st, "quote.quoted_status.id")
        qauthor = "mastodon:" + id_str(ctx, st, "quote.quoted_status.account.id")
        out.append(make(ctx, base + "#quote", Kind.quote, ts, actor, qauthor, parent_id=f"status:{qid}", **common))
    mentions = st.get("mentions")
    if mentions is not None:
        if not isinstance(mentions, list):
            raise ctx.error("mentions", "expected a list")
        targets = [
            "mastodon:" + id_str(ctx, m, "id") if isinstance(m, dict) else _bad(ctx, f"mentions[{i}]")
            for i, m in enumerate(mentions)
        ]
        out += mention_events(ctx, base, ts, actor, targets, parent_id=base, **common)
    return out


def _bad(ctx: Ctx, path: str) -> str:
    raise ctx.error(path, "expected an object")


def _notification(ctx: Ctx, n: dict[str, Any], headers: dict[str, str]) -> list[Interaction]:
    nid = id_str(ctx, n, "id")
    ctx.record = ctx.record or f"notification:{nid}"
    ntype = n.get("type")
    if not isinstance(ntype, str):
        raise ctx.error("type", f"expected a string, got {type(ntype).__name__}")
    if ntype in ("mention", "status", "update"):
        st = req(ctx, n, "status")
        if not isinstance(st, dict):
            raise ctx.error("status", "expected an object")
        ctx.prefix += "status."
        return _status(ctx, st)
    actor = _account(ctx, n, "account")
    ts = iso_ts(ctx, n.get("created_at"), "created_at")
    followers = get(ctx, n, "account.followers_count")
    who: dict[str, Any] = {
        "actor_name": opt_str(ctx, n, "account.acct"),
        "actor_followers": followers if isinstance(followers, int) else None,
    }
    if ntype == "follow":
        me = headers.get("x-mastodon-account-id")
        return [make(ctx, f"notification:{nid}", Kind.follow, ts, actor, "mastodon:" + me if me else None, **who)]
    kind = {"favourite": Kind.reaction, "reblog": Kind.repost, "quote": Kind.quote}.get(ntype)  # type: ignore[arg-type]
    if kind is None:
        return []  # poll, follow_request, admin.*, severed_relationships, …
    sid = id_str(ctx, n, "status.id")
    target = _account(ctx, n, "status.account")
    if target == actor and ntype == "quote":  # the attached status is the quoting one
        quoted = opt_id(ctx, n, "status.quote.quoted_status.account.id")
        target = "mastodon:" + quoted if quoted else None
    return [
        make(
            ctx,
            f"notification:{nid}",
            kind,
            ts,
            actor,
            target,
            parent_id=f"status:{sid}",
            url=opt_str(ctx, n, "status.url"),
            metadata={"notification": ntype},
            **who,
        )
    ]
